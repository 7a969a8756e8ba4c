"""An item's code digest covers every project module its execution can import (harness.code_graph).

Proved on a copy of the source tree: a harmless byte appended to any module of an item's closure
changes that item's fingerprint (the run would call it stale); a byte appended to any other module
leaves it as it was (cached)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.code_graph import NOT_RESULTS, PACKAGES, CodeGraph, project_graph
from harness.config import load_config
from harness.run import plan
from harness.run.catalogue import items as catalogue_items

ROOT = Path(__file__).resolve().parent.parent
# The items that train with the harness's step (eval.classifier uses Keras's fit): their digests must
# cover the training step and the fused optimizer.
TRAINED = ("1.1d", "1.1e", "1.1h", "1.1i", "1.1j", "1.2d", "1.2f", "1.2g", "1.2h")


@pytest.fixture(scope="module")
def registry():
    return catalogue_items()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def _modules(root: Path) -> list[str]:
    names = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_training_step_is_in_every_trained_items_digest(registry):
    for item_id in TRAINED:
        closure = registry.get(item_id).code_modules()
        for module in ("harness.train.steps", "harness.train.fused", "harness.train.evaluation"):
            assert module in closure, f"{item_id}'s digest leaves out {module}"


def test_an_import_inside_a_function_is_followed():
    # experiments/vae/g_generation.py imports experiments.gan.figures inside interpolate_digits only.
    source = (ROOT / "experiments/vae/g_generation.py").read_text(encoding="utf-8")
    assert "    from experiments.gan.figures import interpolate" in source
    assert "experiments.gan.figures" in project_graph().closure(["experiments.vae.g_generation"])


def test_relative_imports_and_packages(tmp_path):
    (tmp_path / "harness" / "sub").mkdir(parents=True)
    (tmp_path / "harness" / "__init__.py").write_text("")
    (tmp_path / "harness" / "sub" / "__init__.py").write_text("from . import b\n")
    (tmp_path / "harness" / "sub" / "a.py").write_text("def f():\n    from .c import g\n    from ..top import h\n")
    (tmp_path / "harness" / "sub" / "b.py").write_text("")
    (tmp_path / "harness" / "sub" / "c.py").write_text("import harness.progress\n")
    (tmp_path / "harness" / "top.py").write_text("")
    (tmp_path / "harness" / "progress.py").write_text("import harness.other\n")
    (tmp_path / "harness" / "other.py").write_text("")
    graph = CodeGraph(tmp_path)
    # harness.progress is in NOT_RESULTS: left out, and what it imports is not followed.
    assert graph.closure(["harness.sub.a"]) == ["harness", "harness.sub", "harness.sub.a", "harness.sub.b",
                                                "harness.sub.c", "harness.top"]


def test_every_module_of_the_closure_and_no_other_changes_the_fingerprint(registry, tree):
    config = load_config("smoke")
    ids = registry.ordered_ids()
    modules = _modules(tree)
    graph = CodeGraph(tree)

    def fps():
        return plan.fingerprints(registry, config, ids, lambda: "data", graph)

    before = fps()
    closures = {i: set(registry.get(i).code_modules(graph)) for i in ids}
    for closure in closures.values():
        assert not any(m == n or m.startswith(n + ".") for m in closure for n in NOT_RESULTS)
    for module in modules:
        path = graph.file(module)
        original = path.read_bytes()
        path.write_bytes(original + b"\n# a harmless byte\n")
        try:
            after = fps()
        finally:
            path.write_bytes(original)
        for item_id in ids:
            # An item is also stale when an input's code changed (its fingerprint covers its inputs').
            reaches = module in closures[item_id] or any(
                module in closures[dep] for dep in registry.closure([item_id]))
            if reaches:
                assert after[item_id] != before[item_id], f"editing {module} leaves {item_id} cached"
            else:
                assert after[item_id] == before[item_id], f"editing {module} makes {item_id} stale"
    assert fps() == before
