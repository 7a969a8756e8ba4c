"""Talking points for a slide: 2–4 complete statements taken from an item's written answer.

A point must stand on its own when read aloud: a lead-in that ends in ':' never ends a
point (it announces a list or a table the slide does not show), a short announcing
sentence ("The reason lies in the two terms.") travels with the sentence that explains it,
and a list is shown whole or not at all (half a sweep would hide a result).
"""
from __future__ import annotations

import re

from harness.report import content

_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[¿¡(\"'*A-ZÁÉÍÓÚÑ0-9])")
_SKIPPED = ("#", "|", "$$", ">", "<")
MAX_POINTS = 4
# A sentence this short that is not the last of its paragraph announces the next one.
_ANNOUNCE_CHARS = 60
# Enough to say the argument; the slide shrinks its text to fit, never cuts it.
BUDGET_CHARS = 560


def _blocks(md: str) -> list[list[str]]:
    blocks, cur, fenced = [], [], False
    for line in md.splitlines():
        if line.strip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        if not line.strip():
            if cur:
                blocks.append(cur)
            cur = []
        else:
            cur.append(line)
    if cur:
        blocks.append(cur)
    return blocks


def _bullets(block: list[str]) -> list[str]:
    items: list[str] = []
    for line in block:
        if _BULLET.match(line):
            items.append(_BULLET.sub("", line).strip())
        elif items:
            items[-1] += " " + line.strip()
    return items


def _sentences(text: str) -> list[str]:
    """A paragraph's sentences, each announcing one joined to the sentence it announces."""
    raw = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    out: list[str] = []
    carry = ""
    for i, sentence in enumerate(raw):
        sentence = f"{carry} {sentence}".strip() if carry else sentence
        last = i == len(raw) - 1
        if not last and (sentence.endswith(":") or len(sentence) < _ANNOUNCE_CHARS):
            carry = sentence
            continue
        carry = ""
        out.append(sentence)
    return out


def _units(md: str) -> list[list[str]]:
    """The answer as units to take whole: one sentence, or one complete list."""
    units: list[list[str]] = []
    for block in _blocks(md):
        if block[0].lstrip().startswith(_SKIPPED):
            if units and units[-1][-1].endswith(":"):
                units.pop()  # it announced the table just skipped
            continue
        if _BULLET.match(block[0]):
            # Each item of a list is a statement of its own; one ending in ';' (a list read as one
            # sentence) ends in a full stop on the slide.
            units.append([re.sub(r"[;,]$", ".", item) for item in _bullets(block)])
        else:
            units += [[s] for s in _sentences(" ".join(line.strip() for line in block))]
    return [u for u in units if not (len(u) == 1 and u[0].endswith(":"))]


def talking_points(md: str | None, most: int = MAX_POINTS, budget: int = BUDGET_CHARS) -> list[str]:
    """Up to `most` complete points in reading order, about `budget` characters in all (Markdown source)."""
    points: list[str] = []
    for unit in _units(md or ""):
        size = sum(map(len, points + unit))
        if len(points) + len(unit) > most or (len(points) >= 2 and size > budget):
            if len(points) >= 2:
                break
            if len(unit) > 1:
                continue  # a list too long to show whole: skip it rather than cut it
            if points:
                break
        points += unit
    return points


# The presenter's notes: what the answer says beyond the slide, as much as a glance can take in.
NOTES_MOST = 8


def speaker_notes(md: str | None, shown: list[str], most: int = NOTES_MOST) -> list[str]:
    """The answer's statements the slide does not show, in reading order (whole lists, whole
    sentences), for the presenter view: what to say next to the points the audience reads."""
    notes: list[str] = []
    for unit in _units(md or ""):
        for statement in unit:
            if statement not in shown and len(notes) < most:
                notes.append(statement)
    return notes


def render_point(point: str) -> str:
    """One point as safe inline HTML (raw HTML in answers stays text)."""
    return content.markdown().renderInline(point)
