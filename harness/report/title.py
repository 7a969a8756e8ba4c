"""The title page of a submission: university, course, semester, team, professor, assistant, date.

Everything comes from the run's settings ([course] and [team] of the --config file, over the
defaults in profiles.toml); a missing team is said, never invented.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from harness.words import words

W = words(__file__)

MONTHS = W("months")
COURSE_KEYS = ("university", "course", "assignment", "semester", "professor", "assistant")


@dataclass
class TitlePage:
    university: str
    course: str
    assignment: str
    semester: str
    professor: str
    assistant: str
    members: list[str]
    date: str  # in words, in the report's language

    @property
    def team_configured(self) -> bool:
        return bool(self.members)


def date_in_words(when: dt.date, lang: str) -> str:
    """28 de noviembre de 2026 / 28 November 2026."""
    month = MONTHS[lang][when.month - 1]
    return f"{when.day} de {month} de {when.year}" if lang == "es" else f"{when.day} {month} {when.year}"


def team_members(config: dict[str, Any]) -> list[str]:
    """The configured members, blanks dropped."""
    team = config.get("team") or {}
    return [str(m).strip() for m in team.get("members") or [] if str(m).strip()]


def title_page(manifest: dict[str, Any], lang: str) -> TitlePage:
    config = manifest.get("config") or {}
    # Runs made before [course] existed kept the course and the assignment under [team].
    course = {**{k: v for k, v in (config.get("team") or {}).items() if k in COURSE_KEYS},
              **(config.get("course") or {})}
    stamp = manifest.get("updated") or manifest.get("created")
    try:
        when = dt.datetime.fromisoformat(stamp).date() if stamp else dt.date.today()
    except ValueError:
        when = dt.date.today()
    return TitlePage(*(str(course.get(k) or "").strip() for k in COURSE_KEYS), members=team_members(config),
                     date=date_in_words(when, lang))
