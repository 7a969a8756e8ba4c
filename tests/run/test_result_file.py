"""result.json: one typed record, one reader and writer (harness.run.store), a stated schema."""
import ast
import dataclasses
import json
from pathlib import Path

import pytest

from harness.result import SCHEMA, Result
from harness.run.store import atomic_write_json, result_from_json, result_to_json
from tests.run.test_core import config, make_registry, runner

ROOT = Path(__file__).resolve().parents[2]


def test_a_stored_result_says_its_schema_and_reads_back_as_the_same_record(tmp_path, toy_data):
    r, _ = runner(make_registry([]), config(), tmp_path, toy_data)
    r.run()
    raw = json.loads((r.store.item_dir("1.2b") / "result.json").read_text())
    assert raw["schema"] == SCHEMA
    assert set(raw) == {f.name for f in dataclasses.fields(Result)}  # no key outside the record, none missing
    result = r.store.load_result("1.2b")
    assert isinstance(result, Result) and result.ok and result.needs == ["1.2a", "1.1b"]
    assert result.metric_values() == {"from_both": 0.5 + 6}
    assert result_from_json(result_to_json(result), "1.2b") == result


def test_a_result_from_before_the_schema_reads_with_defaults_and_stays_cached(tmp_path, toy_data):
    """A run folder written by the harness before result.json had a schema: same keys, any may be
    missing. It still reports, and an unchanged item stays cached."""
    calls = []
    r, _ = runner(make_registry(calls), config(), tmp_path, toy_data)
    r.run()
    path = r.store.item_dir("1.1a") / "result.json"
    old = json.loads(path.read_text())
    for key in ("schema", "code", "units", "params", "item", "unit", "traceback", "error_words", "values"):
        old.pop(key, None)
    atomic_write_json(path, old)
    result = r.store.load_result("1.1a")
    assert result is not None and result.values == {} and result.schema == SCHEMA
    calls.clear()
    r.run()
    assert calls == [] and r.status()["1.1a"] == "cached"


@pytest.mark.parametrize("key, value, said", [
    ("status", 1, "has a 'status' that is a int, not a str"),
    ("metrics", [], "has a 'metrics' that is a list, not a dict"),
    ("seed", True, "has a 'seed' that is a bool, not a int"),
    ("schema", SCHEMA + 1, f"was written by a newer harness (schema {SCHEMA + 1}; this one reads up to {SCHEMA})"),
    ("id", "1.2a", "is not the result of 1.1a"),
])
def test_a_result_of_the_wrong_shape_is_not_trusted_and_said_why_in_one_line(tmp_path, toy_data, key, value, said):
    calls = []
    r, events = runner(make_registry(calls), config(), tmp_path, toy_data)
    r.run()
    path = r.store.item_dir("1.1a") / "result.json"
    bad = json.loads(path.read_text())
    bad[key] = value
    atomic_write_json(path, bad)
    assert r.store.load_result("1.1a") is None
    assert r.store.unreadable_result("1.1a") == f"items/1.1a/result.json {said}"
    calls.clear()
    events.clear()
    r.run(["1.1a"])
    assert calls == ["1.1a"] and r.store.load_result("1.1a").ok  # computed again, stored in the current schema
    logs = [kw["message"]["en"] for kind, kw in events if kind == "log"]
    assert any(said in m and "recomputing" in m for m in logs), logs


def _names_result_json(path: Path) -> bool:
    """The module has a string constant 'result.json' in its code (docstrings and comments aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return any(isinstance(node, ast.Constant) and isinstance(node.value, str) and "result.json" in node.value
               and id(node) not in docstrings and not node.value.startswith((" ", "\n")) and len(node.value) < 40
               for node in ast.walk(tree))


def test_only_the_store_opens_result_json():
    """Every other module gets a Result from the store: the file's schema is read in one place."""
    readers = sorted(p.relative_to(ROOT).as_posix() for pkg in ("harness", "experiments")
                     for p in (ROOT / pkg).rglob("*.py") if _names_result_json(p))
    assert readers == ["harness/run/store.py"]


def test_a_damaged_result_is_listed_as_damaged_reported_so_and_recomputed(tmp_path, toy_data, monkeypatch, capsys):
    """A file the result recorded that changed, a result.json cut short, or an item folder that links
    out of the run: `list` says "damaged" (never "cached"), the report shows nothing of it but how to
    repair it, the pre-talk check names it, and `run` computes it again."""
    import os
    import shutil

    from harness.panel.pretalk import GROUPS
    from harness.report.content import build

    calls = []
    reg = make_registry(calls)
    r, _ = runner(reg, config(), tmp_path, toy_data)
    r.run()
    assert set(r.status().values()) == {"cached"}
    (r.store.item_dir("1.1a") / "arrays" / "codes.npy").write_bytes(b"not the array the run saved")
    path = r.store.item_dir("1.2a") / "result.json"
    path.write_text(path.read_text()[:40])
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(r.store.item_dir("1.1b"), elsewhere)
    shutil.rmtree(r.store.item_dir("1.1b"))
    os.symlink(elsewhere, r.store.item_dir("1.1b"))
    assert r.status() == {"1.1a": "damaged", "1.1b": "damaged", "1.2a": "damaged", "1.2b": "cached"}
    assert "links out of the run folder" in r.store.unreadable_result("1.1b")
    assert any("damaged" in states for _, states in GROUPS)

    view = build(r.store, reg, "es")
    for item_id in ("1.1a", "1.1b", "1.2a"):
        it = view.item(item_id)
        assert it.status == "damaged" and not it.ran and it.error.startswith("Su resultado guardado está dañado")
        assert not it.figures and not it.metrics and item_id not in view.results
    from harness import cli
    from harness.run import catalogue

    monkeypatch.setattr(catalogue, "items", lambda: reg)
    capsys.readouterr()
    assert cli.main(["--root", str(tmp_path), "report", "--run", "r", "--format", "html", "--lang", "es",
                     "--out", str(tmp_path / "out")]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "shown as damaged" in line]
    assert [n.split()[2] for n in notes] == ["1.1a", "1.1b", "1.2a"] and all("harness run" in n for n in notes)
    assert (tmp_path / "out" / "report.html").read_text().count("Su resultado guardado está dañado") == 3
    calls.clear()
    r.run()
    assert sorted(calls) == ["1.1a", "1.1b", "1.2a"]  # the same computations again: 1.2b, built on them, stays cached
    assert set(r.status().values()) == {"cached"} and not r.store.item_dir("1.1b").is_symlink()
