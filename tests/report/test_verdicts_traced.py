"""Every comparing sentence a reader meets traces to one worded verdict, and one pair never gets two
(issue 32, part 1).

A verdict is decided once (harness.verdicts, or the record an item saved, such as eval.compare's
family verdict) and worded by harness.report.compare_words, which notes each sentence it words
(`ledger`). Here the shared smoke run's report, notebook text (the brief answers) and slides'
talking points are collected in both languages; every sentence with a verdict's shape (the
wordings' own fixed phrases, and "is better than") must be one the ledger noted, and within a
language every pair compared on one measure has one winner, or none, everywhere.
"""
from __future__ import annotations

import html
import re
from collections import defaultdict

import pytest

from harness.registry import discover
from harness.report.compare_words import WORDS, Said, ledger
from harness.words import names

pytestmark = pytest.mark.slow

EXTRA_PHRASES = {"es": ("es mejor que", "es peor que"), "en": ("is better than", "is worse than")}
TEMPLATES = ("better", "unclear", "unmeasured", "no_digits", "degenerate")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[¿¡A-ZÁÉÍÓÚÑ])")


def phrases(lang: str) -> tuple[str, ...]:
    """The fixed words of each verdict wording (its longest piece between blanks) and the bare comparatives."""
    pieces = [max(re.split(r"\{\w+\}", WORDS[lang][key]), key=len).strip(" .,:;±") for key in TEMPLATES]
    return tuple(p for p in pieces if len(p) >= 12) + EXTRA_PHRASES[lang]


def plain(text: str) -> str:
    """Page text as a sentence reads: markup, emphasis and code marks out, spaces collapsed."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"[*`]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(plain(text)) if s.strip()]


def untraced(texts: list[str], said: list[Said], lang: str) -> list[str]:
    """Sentences with a verdict's shape that no worded verdict produced."""
    # A page says a stored short name as its reader does (harness.words.names: laplace → Laplace).
    known = {s for entry in said for s in sentences(names(entry.text, lang))}
    shape = phrases(lang)
    return [s for text in texts for s in sentences(text) if any(p in s for p in shape) and s not in known]


def opposite(said: list[Said]) -> dict[tuple, set]:
    """Pairs on one measure worded with more than one outcome (a winner, the other, or none)."""
    outcomes = defaultdict(set)
    for entry in said:
        outcomes[(frozenset((entry.a, entry.b)), entry.metric)].add(entry.winner)
    return {pair: won for pair, won in outcomes.items() if len(won) > 1}


def test_the_tracer_catches_a_sentence_no_verdict_worded_and_two_outcomes_for_one_pair():
    from harness.report.compare_words import sentence
    from harness.verdicts import verdict

    with ledger() as said:
        worded = sentence(verdict(10.0, 0.1, 14.0, 0.1), "el VAE", "la GAN", "FID-MNIST", "es")
    assert said == [Said("el VAE", "la GAN", "FID-MNIST", "el VAE", worded)]
    page = f"<p>{worded} Además, <b>la GAN es mejor que el VAE</b> en nitidez.</p>"
    assert untraced([page], said, "es") == ["Además, la GAN es mejor que el VAE en nitidez."]
    flipped = said + [Said("la GAN", "el VAE", "FID-MNIST", "la GAN", "La GAN es mejor que el VAE.")]
    assert opposite(flipped) and not opposite(said)


@pytest.fixture(scope="module")
def run(tmp_path_factory, smoke_all):
    from tests.conftest import smoke_copy

    store, _ = smoke_copy(tmp_path_factory, smoke_all, discover().ordered_ids())
    return store


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_comparing_sentence_of_report_notebook_and_slides_traces_to_one_verdict(run, tmp_path, lang):
    from harness.panel.points import talking_points
    from harness.report import content
    from harness.report.render import write_report
    from harness.report.submission import best_gan, build_submission_notebook, run_settings

    registry = discover()
    with ledger() as said:
        page = write_report(run, registry, lang, ["html"], out=tmp_path / lang)["html"].read_text(encoding="utf-8")
        page = re.sub(r"<(code|pre|style|script)\b.*?</\1>", " ", page, flags=re.S)
        view = content.build(run, registry, lang)
        # The notebook's cells as it is built (no model trained here: its code cells are left out).
        settings = run_settings(view.manifest.get("config", {}), best_gan(view))
        cells = build_submission_notebook(view, registry, settings, set()).cells
        notebook = [c.source for c in cells if c.cell_type == "markdown"]
        slides = [" ".join(talking_points(it.answer_md)) for it in view.items if it.answer_md]
    assert said, "the smoke run's pages word no verdict at all: the ledger sees nothing"
    missing = untraced([page] + notebook + slides, said, lang)
    assert not missing, "\n".join(missing)
    assert not opposite(said), opposite(said)
