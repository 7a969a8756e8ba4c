"""Which project modules an item's execution can import, read from the source files alone.

An item's code digest must change whenever any code it runs changes. What it runs is
every project module its module imports, at module level or inside a function, and what
those import in turn: the training step of a VAE lives three imports away from the item
(item → experiments/vae/models.py → harness/train/steps.py). The graph is built from the
files' syntax (`ast`), not from what happens to be imported in this process, so an import
inside a function that has not run yet is seen too, and nothing needs importing Keras.

Conservative: `from a import b` counts `a`, and `a.b` when that is a module; importing a
module runs its packages' `__init__` files, so those count too. Only the modules of
NOT_RESULTS are left out, each for a reason written beside it.
"""
from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

from harness.words import Words

PACKAGES = ("harness", "experiments")
# Stored in every result: 2 = digests over the import closure. Results without it were fingerprinted by
# digests over an item's module and the modules its globals named (one level), which missed the training step.
CODE_SCHEME = 2

# Modules that cannot change what an item computes or stores. Reviewed by hand: a module
# belongs here only if no value an item returns, saves or reads passes through it.
# Their own imports are not followed (what they import for themselves is theirs).
NOT_RESULTS = {
    "harness.__main__": "the command line's entry point",
    "harness.cli": "parses the command line and prints; it calls the runner",
    "harness.panel": "the talk's panel reads finished results; it computes none",
    "harness.report": "the report and the submission read finished results; they compute none",
    "harness.progress": "prints progress lines and ETAs; an item's values never pass through it",
    "harness.errors": "exception classes and their messages",
    "harness.registry": "records what @item declares (ids, inputs, sections); the declared values are in "
                        "the fingerprint themselves, and the digest code must not make every item stale "
                        "when it changes",
    "harness.code_graph": "this module: how digests are computed, not what an item computes",
    "harness.run.runner": "decides cached / run / broken and orders the work; the item computes its result",
    "harness.run.schedule": "orders the work",
    "harness.run.workers": "the process pool that runs an item; the item computes its result",
    "harness.run.catalogue": "the saved list of items a command reads to answer fast",
    "harness.run.words": "the wording of a run's messages",
    "harness.figure_screen": "checks a saved figure for a page; it changes no value",
}


def _excluded(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in NOT_RESULTS)


class CodeGraph:
    """The import graph of the project packages found under `root` (the folder holding harness/, experiments/)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        # Parsed once per file version: a long-lived process (the panel) sees an edit's new imports.
        self._imports: dict[str, tuple[tuple[int, int], frozenset[str]]] = {}

    def file(self, name: str) -> Path | None:
        """The source file of module `name`, or None if it is no module of the project."""
        if name.split(".")[0] not in PACKAGES:
            return None
        base = self.root.joinpath(*name.split("."))
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def imports(self, name: str) -> frozenset[str]:
        """The project modules that module `name` names in any import statement, and their packages."""
        path = self.file(name)
        if path is None:
            return frozenset()
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        if name not in self._imports or self._imports[name][0] != key:
            found: set[str] = set()
            is_package = path.name == "__init__.py"
            for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    base = self._absolute(name, is_package, node.module, node.level)
                    if base:
                        found.add(base)
                        found.update(f"{base}.{alias.name}" for alias in node.names
                                     if self.file(f"{base}.{alias.name}") is not None)
            with_packages = set()
            for mod in found:
                parts = mod.split(".")
                with_packages.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            self._imports[name] = (key, frozenset(m for m in with_packages if self.file(m) is not None))
        return self._imports[name][1]

    @staticmethod
    def _absolute(name: str, is_package: bool, module: str | None, level: int) -> str | None:
        if level == 0:
            return module
        parts = name.split(".") if is_package else name.split(".")[:-1]
        parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
        return ".".join(parts + ([module] if module else [])) or None

    def closure(self, names: tuple[str, ...] | list[str]) -> list[str]:
        """`names`, their packages, and every project module they can import, transitively, sorted;
        the modules of NOT_RESULTS are left out and not followed."""
        seen: set[str] = set()
        todo = []
        for name in names:
            parts = name.split(".")
            todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        while todo:
            mod = todo.pop()
            if mod in seen or _excluded(mod) or self.file(mod) is None:
                continue
            seen.add(mod)
            todo.extend(self.imports(mod))
        return sorted(seen)

    def digest(self, names: tuple[str, ...] | list[str]) -> str:
        """One sha256 over the closure's module names and file bytes (the same recipe digests always used,
        so an item whose closure is what it covered before keeps its digest)."""
        digest = hashlib.sha256()
        for mod in self.closure(names):
            digest.update(mod.encode())
            digest.update(self.file(mod).read_bytes())
            # Its words (harness.words): a caption or check a result stores changed as if in the code;
            # only the module's own table counts, so editing 1.1a's words leaves 1.1e cached.
            digest.update(Words(self.file(mod)).digest_bytes())
        return digest.hexdigest()


@lru_cache(maxsize=None)
def project_graph() -> CodeGraph:
    """The graph of this checkout (the folder that holds the harness package)."""
    return CodeGraph(Path(__file__).resolve().parent.parent)
