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
PACKAGE_DIRS = {"harness": ROOT / "harness", "harness.templates": ROOT / "templates", "experiments": ROOT / "experiments"}
LAYERS = {"base": 0, "toolkit": 1, "run": 2, "faces": 3}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if "answers" in parts:
                continue
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
            "harness.templates", "experiments.vae.models"} <= set(MODULES)
    assert "harness.run.execute" in GRAPH["harness.run.runner"]


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


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter():
    """Each module on its own, in a new process: no module works only because another was imported first."""
    from concurrent.futures import ThreadPoolExecutor

    def import_alone(name: str) -> str | None:
        r = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, cwd=ROOT,
                           timeout=300)
        return None if r.returncode == 0 else f"{name}: {(r.stderr.strip().splitlines() or ['?'])[-1]}"

    names = [m for m in MODULES if m != "harness.__main__"]  # __main__ runs the CLI when imported
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        failed = [f for f in pool.map(import_alone, names) if f]
    assert not failed, failed
