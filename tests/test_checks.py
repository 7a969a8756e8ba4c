"""A rubric check has three states: passed, failed, or not graded at this profile (with its reason).
Nothing not graded is counted as a pass, anywhere it is shown."""
from __future__ import annotations

import types

from harness.config import load_config
from harness.context import FAILED, NOT_GRADED, PASSED, Context, check_state, tally

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
    states = [check_state(c) for c in ctx.result["checks"]]
    assert states == [PASSED, FAILED, NOT_GRADED, NOT_GRADED]
    assert [c["passed"] for c in ctx.result["checks"]] == [True, False, None, None]
    assert ctx.result["checks"][2]["reason"] == REASON
    assert tally(ctx.result["checks"]) == {PASSED: 1, FAILED: 1, NOT_GRADED: 2}


def test_a_result_written_before_states_reads_as_passed_or_failed():
    assert check_state({"passed": True}) == PASSED and check_state({"passed": False}) == FAILED


def test_cli_line_says_the_grade_fails_even_when_items_are_ok(tmp_path):
    from harness.cli import grade_line

    ctx = context(tmp_path)
    ctx.check("a", True)
    ctx.check("b", False)
    ctx.check("c", True, not_graded=REASON)
    store = types.SimpleNamespace(load_result=lambda item_id, verify=False: ctx.result)
    line = grade_line(store, [types.SimpleNamespace(id="x", status="ok")])
    assert line == "checks: 1 passed, 1 failed, 1 not graded at this profile (GRADE FAILS)"
    ctx.result["checks"].pop(1)
    assert grade_line(store, [types.SimpleNamespace(id="x", status="ok")]).endswith("(grade ok)")


def test_report_and_panel_views_count_not_graded_apart(tmp_path):
    from harness.report.content import MARKS, ItemView

    checks = [{"state": s, "passed": s == PASSED if s != NOT_GRADED else None} for s in (PASSED, FAILED, NOT_GRADED)]
    view = ItemView.__new__(ItemView)
    view.checks = checks
    assert view.check_score == "1/2 · 1 ○"
    assert [c["state"] for c in view.failed_checks] == [FAILED]
    assert [MARKS[c["state"]] for c in checks] == ["✓", "✗", "○"]
