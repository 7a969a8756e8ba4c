"""The code of submission.ipynb: which recorded model code each item shows, the setup cell,
and the display helpers the notebook and its builder share.

The model code comes from the run's recorded listings (result.json "code"): the entries
of model and training modules, each shown once, at the first item that uses it. The
cells only define functions and classes; the names those definitions evaluate when they
are defined (a decorator's argument, a base class, a default) are set in the setup cell: a
plain constant is copied there, anything else imported from its module, so every cell runs
without training anything.
"""
from __future__ import annotations

import ast
import builtins
import re
import textwrap
from typing import Any

from harness.report.content import ItemView, RunView, is_model_module

# The last component of a module whose functions and classes are model code.
# Names the model code takes from libraries, as a reader would import them.
LIBRARY_IMPORTS = {
    "keras": "import keras", "np": "import numpy as np", "layers": "from keras import layers",
    "ops": "from keras import ops", "math": "import math", "time": "import time",
    "dataclass": "from dataclasses import dataclass", "field": "from dataclasses import field",
    "Any": "from typing import Any", "Callable": "from typing import Callable",
}
_CTX = re.compile(r"^\s*def \w+\(\s*ctx\b", re.M)

# Evaluated by the builder (to embed the outputs) and by the notebook (to show them again):
# one source, so a re-executed notebook shows byte for byte what was stored.
CORE = '''def figure_bundle(run, item_id, file):
    """One of the run's figures as Jupyter shows it: the PNG file, at most 560 px wide."""
    png = base64.b64encode((run / "items" / item_id / file).read_bytes()).decode("ascii")
    return {"image/png": png, "text/plain": f"<items/{item_id}/{file}>"}, {"image/png": {"width": 560}}


def cell_text(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table_bundle(run, item_id, name, lang):
    """One of an item's tables (result.json) as HTML and as plain text."""
    result = json.loads((run / "items" / item_id / "result.json").read_text(encoding="utf-8"))
    table = result["tables"][name]
    pick = lambda t: t.get(lang) or t.get("en", "") if isinstance(t, dict) else str(t)
    head = [pick(c) for c in table["columns"]]
    rows = [[cell_text(v) for v in row] for row in table["rows"]]
    esc = html.escape
    markup = (f"<table><caption>{esc(pick(table.get('caption', '')))}</caption><thead><tr>"
              + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"
              + "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows)
              + "</tbody></table>")
    plain = "\\n".join(" | ".join(r) for r in [head, *rows])
    return {"text/html": markup, "text/plain": plain}, {}
'''

RUNTIME = '''RUN = Path.cwd()  # Jupyter runs a notebook in its own folder: the run folder
READY = (RUN / "manifest.json").is_file() and (RUN / "items").is_dir()
if not READY:
    print({missing!r})


def show(item_id, *figures, tables=()):
    """Shows figures and tables the run saved under items/<item_id>/ (nothing is trained)."""
    if not READY:
        return
    for file in figures:
        if (RUN / "items" / item_id / file).is_file():
            data, metadata = figure_bundle(RUN, item_id, file)
            display(data, metadata=metadata, raw=True)
        else:
            print({absent!r}.format(f"items/{{item_id}}/{{file}}"))
    for name in tables:
        data, metadata = table_bundle(RUN, item_id, name, LANG)
        display(data, metadata=metadata, raw=True)
'''


def helpers(run) -> dict[str, Any]:
    """CORE's functions, for the builder."""
    import base64
    import html
    import json

    namespace: dict[str, Any] = {"base64": base64, "html": html, "json": json}
    exec(compile(CORE, "<notebook helpers>", "exec"), namespace)
    return namespace


def is_model_code(entry: dict[str, str]) -> bool:
    """Model or training module code that takes no harness context (`ctx`)."""
    return is_model_module(entry["module"]) and not _CTX.search(entry["source"])


def model_code(view: RunView) -> dict[str, list[dict[str, str]]]:
    """Item id -> the model code its cell shows: each function or class once, at its first item."""
    out: dict[str, list[dict[str, str]]] = {}
    for it in view.items:
        # view.model_code lists each definition once, its first user first.
        fresh = [e for e in view.model_code if e["users"][0] == it.id and is_model_code(e)]
        out[it.id] = definition_order(fresh)
    return out


def definition_names(source: str) -> tuple[set[str], set[str]]:
    """(names a definition binds, names evaluated when it is defined)."""
    tree = ast.parse(textwrap.dedent(source))
    bound: set[str] = set()
    used: set[str] = set()

    def loads(*nodes: ast.AST | None) -> None:
        for node in nodes:
            if node is not None:
                used.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))

    def definition(node: ast.stmt, top: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if top:
                bound.add(node.name)
            loads(*node.decorator_list, *node.args.defaults, *node.args.kw_defaults)
        elif isinstance(node, ast.ClassDef):
            if top:
                bound.add(node.name)
            loads(*node.decorator_list, *node.bases, *(k.value for k in node.keywords))
            local = set()
            for stmt in node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    definition(stmt, False)
                elif isinstance(stmt, ast.AnnAssign):  # the annotation is a string (from __future__)
                    before = set(used)
                    loads(stmt.value)
                    used.difference_update((used - before) & local)
                    if isinstance(stmt.target, ast.Name):
                        local.add(stmt.target.id)
                elif not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Constant):
                    before = set(used)
                    loads(stmt)
                    targets = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                    used.difference_update((used - before) & local)
                    local.update(targets)
        else:
            loads(node)

    for node in tree.body:
        definition(node, True)
    return bound, used


def definition_order(entries: list[dict[str, str]]) -> list[dict[str, str]]:
    """The entries in recorded order, except that a base class or decorator comes before its user."""
    by_name = {e["name"]: e for e in entries}
    done: list[dict[str, str]] = []

    def emit(entry: dict[str, str], path: tuple[str, ...] = ()) -> None:
        if entry in done or entry["name"] in path:
            return
        for name in sorted(definition_names(entry["source"])[1] & set(by_name)):
            emit(by_name[name], path + (entry["name"],))
        done.append(entry)

    for entry in entries:
        emit(entry)
    return done


def setup_imports(code: dict[str, list[dict[str, str]]]) -> list[str]:
    """Imports for the names the model cells evaluate when they define their functions and classes."""
    lines = ["import keras", "import numpy as np", "from keras import layers, ops"]
    defined: set[str] = {"keras", "np", "layers", "ops"}
    project: dict[str, list[str]] = {}
    for entries in code.values():
        for entry in entries:
            bound, used = definition_names(entry["source"])
            for name in sorted(used - defined - set(dir(builtins))):
                if name in LIBRARY_IMPORTS:
                    lines.append(LIBRARY_IMPORTS[name])
                else:
                    project.setdefault(entry["module"], []).append(name)
                defined.add(name)
            defined |= bound
    for module, names in project.items():
        constants = module_constants(module, names)
        lines += [constants[name] for name in names if name in constants]
        rest = [name for name in names if name not in constants]
        if rest:
            lines.append(f"from {module} import {', '.join(rest)}")
    return lines


def module_constants(module: str, names: list[str]) -> dict[str, str]:
    """`NAME = literal` lines of a module, for the names asked that it assigns a plain literal.

    The notebook then carries its own constants (IMG_SHAPE, the serialisation package) instead
    of importing them from the project: a grader can run the model cells with Keras alone.
    """
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return {}
    source = open(spec.origin, encoding="utf-8").read()
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if name not in names:
            continue
        try:
            ast.literal_eval(node.value)
        except ValueError:
            continue
        found[name] = f"{name} = {ast.get_source_segment(source, node.value)}"
    return found


def code_cell_source(it: ItemView, entries: list[dict[str, str]], figures: list[str]) -> str:
    parts = []
    module = None
    for entry in entries:
        if entry["module"] != module:
            module = entry["module"]
            parts.append(f"# {module.replace('.', '/')}.py")
        parts.append(textwrap.dedent(entry["source"]).strip("\n") + "\n\n")
    call = ", ".join([repr(it.id), *map(repr, figures)])
    parts.append(f"show({call})")
    return "\n".join(parts)
