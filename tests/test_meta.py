"""The suite's own rules: an assertion must be able to fail, and speed is measured in benchmarks/.

Grepped in every test file (this one aside): `assert True`, membership in (True, False) (every
bool passes), a duration compared with `>= 0` (a clock never runs backwards), and a duration
bounded by a number of seconds (a timed assertion: noisy hosts fail it, and it measures nothing
a benchmark would not measure better)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
RULES = {
    "an assertion that is always true": re.compile(r"\bassert\s+True\b"),
    "membership in (True, False)": re.compile(r"assert .*\bin\s*\(\s*(?:True\s*,\s*False|False\s*,\s*True)\s*\)"),
    "a duration compared with >= 0": re.compile(r"\b\w*(?:_s|seconds|elapsed|wall)\b\s*>=\s*0(?:\.0)?\b(?!\.\d)"),
    "a timed assertion (speed belongs in benchmarks/)": re.compile(
        r"assert .*(?:wall_s|elapsed|seconds|_ms)\w*['\"]?\]?\)?\s*<=?\s*\d"),
}


def offences(text: str) -> list[str]:
    return [f"{line_no}: {why}: {line.strip()}" for line_no, line in enumerate(text.splitlines(), 1)
            for why, pattern in RULES.items() if pattern.search(line)]


def test_no_test_asserts_what_cannot_fail_or_times_itself():
    found = {}
    for path in sorted(TESTS.rglob("*.py")):
        if path != Path(__file__).resolve():
            if hits := offences(path.read_text(encoding="utf-8")):
                found[str(path.relative_to(TESTS))] = hits
    assert not found, found


@pytest.mark.parametrize("line", [
    "    assert True",
    "    assert metrics['x'] in (True, False)",
    "    assert history.seconds >= 0",
    "    assert outcome.timing['wall_s'] < 60",
    "    assert took_seconds <= 2.5",
])
def test_each_rule_finds_what_it_names(line):
    assert offences(line)


@pytest.mark.parametrize("line", [
    "    assert history.seconds > 0",
    "    assert isinstance(metrics['x'], bool)",
    "    for dark in (False, True):",
    "    assert probes >= 0.5",
    "    assert img['top'] >= 0 and img['bottom'] <= height",
])
def test_the_rules_leave_ordinary_assertions_alone(line):
    assert not offences(line)
