"""The package's shape: every module imports on its own, imports point one way, nothing is cyclic.

Layers, from the faces down (a module may import its own layer and the ones below it):
    faces:    harness.cli, harness.__main__, harness.report.*, harness.panel.*
    run:      harness.run.*
    toolkit:  harness.train.*
    base:     harness (package), harness.registry, .context, .errors, .config, .data, harness.templates
`harness` never imports `experiments`; `experiments` may import harness's base and toolkit only.
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = {"harness": ROOT / "harness", "harness.templates": ROOT / "templates", "experiments": ROOT / "experiments",
                "benchmarks": ROOT / "benchmarks"}
LAYERS = {"base": 0, "toolkit": 1, "run": 2, "faces": 3}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            # A file outside a package is no module: templates/submission/notebook.py holds the cells
            # of the submission notebook, which run with the settings the notebook's first cell sets.
            if any(not (d / "__init__.py").exists() for d in [path.parent, *path.parent.parents] if folder in [d, *d.parents]):
                continue
            found[".".join([package, *parts])] = path
    return found


MODULES = modules()


def layer(module: str) -> int | None:
    if not module.startswith("harness"):
        return None
    if module.startswith(("harness.report", "harness.panel")) or module in ("harness.cli", "harness.__main__"):
        return LAYERS["faces"]
    if module.startswith("harness.run"):
        return LAYERS["run"]
    if module.startswith("harness.train"):
        return LAYERS["toolkit"]
    return LAYERS["base"]


def imports_of(module: str) -> set[str]:
    """The project modules a module imports, at its top or inside functions (static: what it could import)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # `from harness.run import plan` names the module harness.run.plan
                name = name.rpartition(".")[0]
            if name and name != module:
                out.add(name)
    return out


GRAPH = {m: imports_of(m) for m in MODULES}


def test_the_graph_sees_the_packages():
    assert {"harness.run.runner", "harness.train.steps", "harness.report.render", "harness.panel.app",
            "harness.templates", "experiments.vae.models", "harness.report.answers", "benchmarks.workers"} <= set(MODULES)
    assert "harness.run.execute" in GRAPH["harness.run.runner"]
    # an import inside a function is an edge too (experiments/vae/g_generation.py imports interpolate in one)
    assert "experiments.gan.figures" in GRAPH["experiments.vae.g_generation"]


def test_harness_never_imports_experiments():
    offenders = {m: sorted(i for i in deps if i.startswith("experiments"))
                 for m, deps in GRAPH.items() if m.startswith("harness")}
    assert not {m: d for m, d in offenders.items() if d}


def test_imports_point_down_the_layers():
    upward = [f"{m} -> {d}" for m, deps in GRAPH.items() for d in deps
              if layer(m) is not None and layer(d) is not None and layer(d) > layer(m)
              ]
    assert not upward, upward


def test_experiments_import_only_what_an_item_author_may():
    allowed = (LAYERS["base"], LAYERS["toolkit"])
    wrong = [f"{m} -> {d}" for m, deps in GRAPH.items() if m.startswith("experiments")
             for d in deps if d.startswith("harness") and layer(d) not in allowed]
    assert not wrong, wrong


def test_no_import_cycle():
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(GRAPH[module]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_the_graph_test_can_see_a_cycle(monkeypatch):
    """The cycle check is not vacuous: a planted back edge is found."""
    monkeypatch.setitem(GRAPH, "harness.errors", GRAPH["harness.errors"] | {"harness.run.runner"})
    with pytest.raises(pytest.fail.Exception, match="import cycle"):
        test_no_import_cycle()


def test_no_harness_module_is_long():
    long = {m: n for m, p in MODULES.items() if m.startswith("harness")
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not long, long


# Run in one fresh interpreter: before each import, every project module is dropped from
# sys.modules, so each one is imported with none of the project loaded, while Keras and TensorFlow,
# which no project module depends on being imported first, stay loaded (seconds each otherwise).
IMPORT_ALONE = """
import importlib, json, sys, traceback
failed = []
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("harness", "experiments", "benchmarks")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(json.dumps(failed))
"""


@pytest.mark.slow
def test_every_module_imports_alone():
    """Each module with no other project module imported first: no module works only because another was."""
    import json

    names = [m for m in MODULES if m not in ("harness.__main__", "benchmarks.__main__")]  # they run when imported
    r = subprocess.run([sys.executable, "-c", IMPORT_ALONE, json.dumps(names)], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    failed = json.loads(r.stdout.strip().splitlines()[-1])
    assert not failed, failed


def test_the_import_alone_check_sees_a_module_that_needs_another_first(tmp_path):
    """A module that uses a name only a previously imported module put there fails the check."""
    import json

    pkg = tmp_path / "harness"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "first.py").write_text("import builtins\nbuiltins.PLANTED = 1\n")
    (pkg / "second.py").write_text("import harness\nharness.first.PLANTED\n")  # works only after first
    r = subprocess.run([sys.executable, "-c", IMPORT_ALONE, json.dumps(["harness.first", "harness.second"])],
                       capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                       timeout=60)
    failed = json.loads(r.stdout.strip().splitlines()[-1])
    assert [f.split(":")[0] for f in failed] == ["harness.second"]
