"""The run's last line: the checks of the items that ran, in their three states, and the grade they give.

`grade ok` only when no graded check failed, every item finished and no measure is impossible;
`GRADE FAILS` on a failed check; `GRADE INCOMPLETE`, naming why, otherwise.
"""
from __future__ import annotations

import math
from typing import Any

from harness.context import FAILED, NOT_GRADED, PASSED, tally
from harness.result import Result


def grade_line(store: Any, outcomes: list) -> str:
    """The checks of the items that ran, in their three states: items can be ok while the grade fails."""
    results = {o.id: store.load_result(o.id, verify=False) for o in outcomes if o.status in ("ok", "cached")}
    counts = tally([c for r in results.values() if r for c in r.checks])
    unfinished = [o.id for o in outcomes if o.status not in ("ok", "cached")]
    impossible = [f"{item_id} {name} = {value}" for item_id, r in results.items() if r
                  for name, value in impossible_metrics(r)]
    if counts[FAILED]:
        verdict = "GRADE FAILS"
    elif unfinished or impossible:
        why = ([f"{len(unfinished)} item(s) did not finish: {' '.join(unfinished)}"] if unfinished else []) + \
              ([f"impossible values: {'; '.join(impossible[:3])}"] if impossible else [])
        verdict = "GRADE INCOMPLETE: " + "; ".join(why)
    else:
        verdict = "grade ok"
    return (f"checks: {counts[PASSED]} passed, {counts[FAILED]} failed, {counts[NOT_GRADED]} not graded "
            f"at this profile ({verdict})")


# Measures that cannot be negative: a negative one is a bug in training or in the measure, whatever the checks say.
NON_NEGATIVE = ("neg_elbo", "kl", "fid", "nll", "reconstruction")


def impossible_metrics(result: Result) -> list[tuple[str, float]]:
    """(name, value) of a result's metrics that are not finite, or negative where they cannot be."""
    out = []
    for name, metric in result.metrics.items():
        value = metric.get("value") if isinstance(metric, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        words = name.split("_")
        if not math.isfinite(value) or (value < 0 and any(w in words or name.endswith(w) for w in NON_NEGATIVE)
                                        and not name.endswith(("_gap", "_gain", "_delta", "_diff", "_change"))):
            out.append((name, value))
    return out
