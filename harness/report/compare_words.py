"""How a comparison between two measured models is worded, in Spanish and English.

Every number we compare carries a standard uncertainty: FID-MNIST its bootstrap
standard error over the generated samples (harness.train.uncertainty), the IWAE
bound its standard error over the test images. Two models differ *clearly* only
when the gap between them exceeds the combined (expanded) uncertainty

    U = K · sqrt(u_a² + u_b²),   K = 2,

the usual coverage factor for about 95 % under a normal error. The two errors are
combined as if independent; where both sides share their test images (the IWAE
bound) the paired error would be smaller, so the rule errs towards "no clear difference". Otherwise the
sentence says there is no clear difference at this budget, whatever the sign
of the gap: a smaller number inside the noise is not a win.

Answers call it through the Jinja global `compare` (harness.report.answers):

    {% set c = compare("GAN", m.gan_fid, m.gan_fid_se, "VAE", m.vae_fid, m.vae_fid_se, "FID-MNIST") %}
    {{ c }}{% if c.winner == "a" %} ... {% endif %}

and the conclusions through `verdict` and `sentence` directly.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from harness.locale import num
from harness.verdicts import Verdict, finite, verdict  # noqa: F401 (answers and conclusions use them from here)
from harness.words import words

W = words(__file__)


WORDS = W("words")


@dataclass(frozen=True)
class Said:
    """One verdict as a page words it: the pair, the measure, who wins (None: no clear winner or
    nothing ranked) and the sentence."""
    a: str
    b: str
    metric: str
    winner: str | None
    text: str


_LEDGER: ContextVar[list[Said] | None] = ContextVar("verdicts_said", default=None)


@contextmanager
def ledger() -> Iterator[list[Said]]:
    """Every verdict worded while inside, in order: what tests/report/test_verdicts_traced.py traces
    each comparing sentence of a report, notebook or slide to."""
    token = _LEDGER.set([])
    try:
        yield _LEDGER.get()
    finally:
        _LEDGER.reset(token)


def _said(a: str, b: str, metric: str, winner: str | None, text: str) -> str:
    book = _LEDGER.get()
    if book is not None:
        book.append(Said(a, b, metric, winner, text))
    return text


def shown_digits(uncertainty: float, digits: int) -> int:
    """Enough decimals that a small uncertainty does not print as ±0.0 (at most 4)."""
    if not math.isfinite(uncertainty) or uncertainty <= 0:
        return digits
    return min(4, max(digits, -math.floor(math.log10(uncertainty))))


def sentence(v: Verdict, name_a: str, name_b: str, metric: str, lang: str, unit: str = "", digits: int = 1,
             basis: str | None = None, said: bool = True) -> str:
    """The sentence for a verdict: the better model first when there is one. basis="samples" says
    the uncertainty covers only the sampling of images, not another training."""

    words = WORDS[lang]
    unit_text = f" {unit}" if unit else ""
    first, second = (name_b, name_a) if v.winner == "b" else (name_a, name_b)
    key = "better" if v.clear else "unclear" if math.isfinite(v.uncertainty) else "unmeasured"
    d = shown_digits(v.uncertainty, digits)
    text = words[key].format(a=first, b=second, metric=metric, gap=num(v.gap, d, lang),
                             u=num(v.uncertainty, d, lang), unit=unit_text)
    if basis:
        text = text[:-1] + words[basis] + "."
    text = text[0].upper() + text[1:]
    return _said(name_a, name_b, metric, first if v.clear else None, text) if said else text


def share_se(p: float, n: int) -> float:
    """Standard error of a share p measured over n independent cases (precision, recall).

    Plus-two estimate (Agresti and Caffo 2000): the share as if two more cases, one of each
    kind, had been seen, so a share of exactly 0 or 1 still carries an error instead of ±0."""
    if not (finite(p) and isinstance(n, int) and n > 0):
        raise ValueError(f"a share's standard error needs a share and a positive count; got {p!r} and {n!r}")
    q = (p * n + 1.0) / (n + 2.0)
    return math.sqrt(q * (1.0 - q) / n)


class Comparison:
    """What the Jinja global returns: prints as its sentence, and exposes the decision."""

    def __init__(self, v: Verdict, text: str, degenerate: bool = False) -> None:
        self.gap, self.uncertainty, self.winner, self.clear = v.gap, v.uncertainty, v.winner, v.clear
        self.text = text
        self.degenerate = degenerate  # a side draws no digits: nothing is ranked

    def __str__(self) -> str:
        return self.text


def compare_global(lang: str):
    """The `compare` function answers see, its sentences in `lang`."""
    def compare(name_a: str, a: float, u_a: float | None, name_b: str, b: float, u_b: float | None, metric: str,
                unit: str = "", lower_is_better: bool = True, digits: int = 1, basis: str | None = None,
                why_a: str | None = None, why_b: str | None = None) -> Comparison:
        """`why_a` / `why_b`: why that side draws no digits (harness.verdicts.degenerate, as its item
        recorded it); then nothing is ranked, whatever the numbers."""
        if basis is not None and basis != "samples":
            raise ValueError(f"compare: unknown basis {basis!r}; use 'samples' or leave it out")
        if why_a or why_b:
            return Comparison(Verdict(abs(a - b) if finite(a) and finite(b) else float("nan"), float("nan"), None),
                              no_digits_sentence(name_a, why_a, name_b, why_b, metric, lang), degenerate=True)
        v = verdict(a, u_a, b, u_b, lower_is_better)
        return Comparison(v, sentence(v, name_a, name_b, metric, lang, unit, digits, basis))
    return compare


def no_digits_reason(reason: str, lang: str) -> str:
    """harness.verdicts.degenerate's reason ("one_class" or "noise") as a phrase of `lang`."""
    if reason not in ("one_class", "noise"):
        raise ValueError(f"unknown reason {reason!r} a model draws no digits; use 'one_class' or 'noise'")
    return WORDS[lang][reason]


def no_digits_sentence(name_a: str, why_a: str | None, name_b: str, why_b: str | None, metric: str, lang: str) -> str:
    """The sentence of a comparison with a side that draws no digits: it ranks nothing and says why."""
    w = WORDS[lang]
    for why in (why_a, why_b):
        if why and why not in ("one_class", "noise"):
            raise ValueError(f"compare: unknown reason {why!r} a model draws no digits; use 'one_class' or 'noise'")
    which = w["neither"] if why_a and why_b else w["one_draws_none"].format(name=name_a if why_a else name_b)
    reasons = "; ".join(dict.fromkeys(w[why] for why in (why_a, why_b) if why))
    text = w["no_digits"].format(a=name_a, b=name_b, metric=metric, which=which, why=reasons)
    return _said(name_a, name_b, metric, None, text[0].upper() + text[1:])


def family_sentence(record: dict, lang: str, digits: int = 2) -> str:
    """The VAE-versus-GAN verdict eval.compare recorded (experiments/evaluation/compare.py), in words:
    every page that states it words this record, none decides again."""
    w = WORDS[lang]
    if record.get("reason") == "degenerate":
        which = "gan" if record.get("gan") is None else "vae"
        reasons = sorted({why for model, why in (record.get("degenerate") or {}).items()})
        return _said("VAE", "GAN", "FID-MNIST", None,
                     w["degenerate"].format(which=w[f"which_{which}"], why="; ".join(w[r] for r in reasons if r in w)))
    v = Verdict(record["gap"], record["uncertainty"] if record.get("uncertainty") is not None else float("nan"),
                {"vae": "a", "gan": "b"}.get(record.get("winner")))
    vae = w["vae"].format(model=record["vae"])
    if record.get("kind") == "seeds":  # the GAN side was judged over its seeds (experiments/evaluation/compare.py)
        gan = w["gan_seeds"].format(model=record["gan"], seeds=record["seeds"])
        text = sentence(v, vae, gan, "FID-MNIST", lang, digits=digits, said=False)
        text = text[:-1] + w["seeds"].format(seeds=record["seeds"]) + "." + (w["indicative_seeds"] if v.clear else "")
    else:
        gan = w["gan"].format(model=record["gan"])
        text = sentence(v, vae, gan, "FID-MNIST", lang, digits=digits, basis="samples", said=False)
        text += w["indicative"] if v.clear else ""
    winner = {"a": vae, "b": gan}.get(v.winner) if v.clear else None
    return _said(vae, gan, "FID-MNIST", winner, text)

