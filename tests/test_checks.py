"""A rubric check has three states: passed, failed, or not graded at this profile (with its reason).
Nothing not graded is counted as a pass, anywhere it is shown."""
from __future__ import annotations

import types

from harness.config import load_config
from harness.context import FAILED, NOT_GRADED, PASSED, Context, check_state, tally
from harness.result import Result

REASON = {"es": "necesita ≥ 10 épocas: este perfil entrena 2", "en": "needs ≥ 10 epochs: this profile trains 2"}


def context(tmp_path) -> Context:
    return Context("x", load_config("smoke"), (), 0, tmp_path, None, {})


def test_three_states_are_recorded(tmp_path):
    ctx = context(tmp_path)
    assert ctx.check("a", True, "ok") is True
    assert ctx.check("b", False, "bad") is False
    # A reason makes it not graded whatever the value: a pass it cannot earn, a failure it cannot take.
    assert ctx.check("c", True, "epochs", not_graded=REASON) is False
    ctx.check("d", False, "epochs", not_graded=REASON)
    states = [check_state(c) for c in ctx.result.checks]
    assert states == [PASSED, FAILED, NOT_GRADED, NOT_GRADED]
    assert [c["passed"] for c in ctx.result.checks] == [True, False, None, None]
    assert ctx.result.checks[2]["reason"] == REASON
    assert tally(ctx.result.checks) == {PASSED: 1, FAILED: 1, NOT_GRADED: 2}


def test_a_result_written_before_states_reads_as_passed_or_failed():
    assert check_state({"passed": True}) == PASSED and check_state({"passed": False}) == FAILED


def test_cli_line_says_the_grade_fails_even_when_items_are_ok(tmp_path):
    from harness.run.grade import grade_line

    ctx = context(tmp_path)
    ctx.check("a", True)
    ctx.check("b", False)
    ctx.check("c", True, not_graded=REASON)
    store = types.SimpleNamespace(load_result=lambda item_id, verify=False: ctx.result)
    line = grade_line(store, [types.SimpleNamespace(id="x", status="ok")])
    assert line == "checks: 1 passed, 1 failed, 1 not graded at this profile (GRADE FAILS)"
    ctx.result.checks.pop(1)
    assert grade_line(store, [types.SimpleNamespace(id="x", status="ok")]).endswith("(grade ok)")


def test_report_and_panel_views_count_not_graded_apart(tmp_path):
    from harness.report.content import MARKS, ItemView

    checks = [{"state": s, "passed": s == PASSED if s != NOT_GRADED else None} for s in (PASSED, FAILED, NOT_GRADED)]
    view = ItemView.__new__(ItemView)
    view.checks = checks
    assert view.check_score == "1/2 · 1 ○"
    assert [c["state"] for c in view.failed_checks] == [FAILED]
    assert [MARKS[c["state"]] for c in checks] == ["✓", "✗", "○"]


def test_the_grade_line_says_incomplete_for_an_unfinished_item_or_an_impossible_value():
    """'grade ok' only when every item finished and no measure is impossible (a KL with its sign flipped
    gave a test -ELBO of about -1e27 with every check passing)."""
    from types import SimpleNamespace as NS

    from harness.run.grade import grade_line

    passed = {"name": "c", "state": "passed", "passed": True}
    results = {"1.1e": Result("1.1e", checks=[passed], metrics={"test_neg_elbo": {"value": 150.0},
                                                                "fid_gain": {"value": -3.0}})}
    store = NS(load_result=lambda item_id, verify=False: results.get(item_id))
    ok = [NS(id="1.1e", status="ok")]
    assert grade_line(store, ok).endswith("(grade ok)")  # a negative gain is a difference, not a measure
    assert "GRADE INCOMPLETE: 1 item(s) did not finish: 1.1d" in grade_line(store, ok + [NS(id="1.1d", status="failed")])
    results["1.1e"].metrics["test_neg_elbo"]["value"] = -1.1e27
    assert "GRADE INCOMPLETE: impossible values: 1.1e test_neg_elbo = -1.1e+27" in grade_line(store, ok)
    results["1.1e"].metrics["test_neg_elbo"]["value"] = float("nan")
    assert "impossible values" in grade_line(store, ok)
    results["1.1e"].checks.append({"name": "d", "state": "failed", "passed": False})
    assert grade_line(store, ok).endswith("(GRADE FAILS)")
