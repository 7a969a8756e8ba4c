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
from dataclasses import dataclass
from typing import Any

from harness.locale import num

K = 2.0   # coverage factor of the expanded uncertainty

WORDS = {
    "es": {
        "samples": " (sólo el error de muestreo de las imágenes: cada modelo se entrenó una vez)",
        "better": "{a} es mejor que {b} en {metric}: {gap}{unit} de diferencia, más que la incertidumbre combinada ±{u}{unit}.",
        "unclear": "Entre {a} y {b} no hay diferencia clara en {metric} con este presupuesto: {gap}{unit} de diferencia, "
                   "dentro de la incertidumbre combinada ±{u}{unit}.",
        "unmeasured": "Entre {a} y {b} no hay diferencia clara en {metric} con este presupuesto: {gap}{unit} de diferencia, "
                      "sin incertidumbre medida para juzgarla.",
    },
    "en": {
        "samples": " (the error of sampling the images only: each model was trained once)",
        "better": "{a} is better than {b} on {metric}: {gap}{unit} apart, more than the combined uncertainty ±{u}{unit}.",
        "unclear": "There is no clear difference between {a} and {b} on {metric} at this budget: {gap}{unit} apart, "
                   "within the combined uncertainty ±{u}{unit}.",
        "unmeasured": "There is no clear difference between {a} and {b} on {metric} at this budget: {gap}{unit} apart, "
                      "with no measured uncertainty to judge it by.",
    },
}


@dataclass(frozen=True)
class Verdict:
    """The decision about a − b; `winner` is "a", "b" or None (no clear difference)."""

    gap: float            # |a − b|
    uncertainty: float    # U, the expanded combined uncertainty (NaN when a side has none)
    winner: str | None

    @property
    def clear(self) -> bool:
        return self.winner is not None


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def verdict(a: float, u_a: float | None, b: float, u_b: float | None, lower_is_better: bool = True) -> Verdict:
    """Decide a against b. A side without a finite, non-negative uncertainty makes the difference
    unjudgeable, so it is never called a win."""
    if not (_finite(a) and _finite(b)):
        raise ValueError(f"compare needs two finite values; got {a!r} and {b!r}")
    gap = abs(float(a) - float(b))
    if not (_finite(u_a) and _finite(u_b)) or u_a < 0 or u_b < 0:
        return Verdict(gap, float("nan"), None)
    u = K * math.hypot(float(u_a), float(u_b))
    if gap <= u:
        return Verdict(gap, u, None)
    a_lower = a < b
    return Verdict(gap, u, "a" if a_lower == lower_is_better else "b")


def shown_digits(uncertainty: float, digits: int) -> int:
    """Enough decimals that a small uncertainty does not print as ±0.0 (at most 4)."""
    if not math.isfinite(uncertainty) or uncertainty <= 0:
        return digits
    return min(4, max(digits, -math.floor(math.log10(uncertainty))))


def sentence(v: Verdict, name_a: str, name_b: str, metric: str, lang: str, unit: str = "", digits: int = 1,
             basis: str | None = None) -> str:
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
    return text[0].upper() + text[1:]


def share_se(p: float, n: int) -> float:
    """Standard error of a share p measured over n independent cases (precision, recall).

    Plus-two estimate (Agresti and Caffo 2000): the share as if two more cases, one of each
    kind, had been seen, so a share of exactly 0 or 1 still carries an error instead of ±0."""
    if not (_finite(p) and isinstance(n, int) and n > 0):
        raise ValueError(f"a share's standard error needs a share and a positive count; got {p!r} and {n!r}")
    q = (p * n + 1.0) / (n + 2.0)
    return math.sqrt(q * (1.0 - q) / n)


class Comparison:
    """What the Jinja global returns: prints as its sentence, and exposes the decision."""

    def __init__(self, v: Verdict, text: str) -> None:
        self.gap, self.uncertainty, self.winner, self.clear = v.gap, v.uncertainty, v.winner, v.clear
        self.text = text

    def __str__(self) -> str:
        return self.text


def compare_global(lang: str):
    """The `compare` function answers see, its sentences in `lang`."""
    def compare(name_a: str, a: float, u_a: float | None, name_b: str, b: float, u_b: float | None, metric: str,
                unit: str = "", lower_is_better: bool = True, digits: int = 1, basis: str | None = None) -> Comparison:
        if basis is not None and basis not in WORDS[lang]:
            raise ValueError(f"compare: unknown basis {basis!r}; use 'samples' or leave it out")
        v = verdict(a, u_a, b, u_b, lower_is_better)
        return Comparison(v, sentence(v, name_a, name_b, metric, lang, unit, digits, basis))
    return compare
