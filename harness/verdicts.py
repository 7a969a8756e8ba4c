"""A comparison decided once, as data: which of two measured values is better, if any, and by how much.

The rule (worded by harness.report.compare_words): two models differ clearly only when the gap
exceeds the expanded combined uncertainty U = K · sqrt(u_a² + u_b²), K = 2. An item that compares
records the Verdict it decided; every page words that record and never decides again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

K = 2.0   # coverage factor of the expanded uncertainty


@dataclass(frozen=True)
class Verdict:
    """The decision about a − b; `winner` is "a", "b" or None (no clear difference)."""

    gap: float            # |a − b|
    uncertainty: float    # U, the expanded combined uncertainty (NaN when a side has none)
    winner: str | None

    @property
    def clear(self) -> bool:
        return self.winner is not None


def finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def verdict(a: float, u_a: float | None, b: float, u_b: float | None, lower_is_better: bool = True) -> Verdict:
    """Decide a against b. A side without a finite, non-negative uncertainty makes the difference
    unjudgeable, so it is never called a win."""
    if not (finite(a) and finite(b)):
        raise ValueError(f"compare needs two finite values; got {a!r} and {b!r}")
    gap = abs(float(a) - float(b))
    if not (finite(u_a) and finite(u_b)) or u_a < 0 or u_b < 0:
        return Verdict(gap, float("nan"), None)
    u = K * math.hypot(float(u_a), float(u_b))
    if gap <= u:
        return Verdict(gap, u, None)
    a_lower = a < b
    return Verdict(gap, u, "a" if a_lower == lower_is_better else "b")


ONE_CLASS_SHARE = 0.9  # a generator with this share of its samples in one class draws one thing, not digits


def degenerate(scores: dict[str, Any], noise_fid: float | None) -> str | None:
    """Why a generator draws no digits at this budget, or None. "one_class": ≥ 90 % of its samples fall
    in one class; "noise": its FID-MNIST is not clearly below that of uniform noise (the evaluator's
    ceiling), i.e. fid + 2·se ≥ noise_fid. A degenerate model is ranked against nothing: every
    comparison it is in says so instead of naming a winner. `scores` is the evaluator's scores of its
    samples or its model row (class_hist, fid, fid_se)."""
    hist = scores.get("class_hist") or []
    if hist and sum(hist) and max(hist) / sum(hist) >= ONE_CLASS_SHARE:
        return "one_class"
    fid, se = scores.get("fid"), scores.get("fid_se") or 0.0
    if finite(noise_fid) and finite(fid) and fid + K * se >= noise_fid:
        return "noise"
    return None
