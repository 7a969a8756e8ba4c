"""The item catalogue: what `discover()` learns about the items, kept so a command can answer without it.

Discovering the items imports every experiment module, and with them Keras and TensorFlow:
seconds before `harness run 9.9z` may say that 9.9z is no item, or `harness list` print a
table. Each discovery saves the items' ids, titles, inputs, settings sections and code
digests, keyed by a hash of every source file of the project; while no source file
changes, a command reads that instead. A stale or absent catalogue is never trusted: the
command discovers (slowly) and saves a fresh one.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import harness
from harness.registry import Item, Registry

PACKAGES = ("harness", "experiments")
VERSION = 3  # of the file's layout (2: each item's source file; 3: its module and extra code)


@dataclass(frozen=True)
class ListedItem(Item):
    """An item as the catalogue knows it: everything but its function, and its code's digest."""

    digest: str = ""
    file: str = ""
    module_name: str = ""

    def code_digest(self, graph=None) -> str:
        """As discovered, unless asked for another source tree's."""
        return self.digest if graph is None else super().code_digest(graph)

    @property
    def source_file(self) -> str:
        return self.file


def catalogue_path() -> Path:
    """One file per checkout (two checkouts side by side would otherwise keep replacing each other's)."""
    cache = os.environ.get("HARNESS_DATA_DIR", Path.home() / ".cache" / "inf395-harness")
    checkout = hashlib.sha256(str(Path(harness.__file__).resolve().parent).encode()).hexdigest()[:12]
    return Path(cache) / f"catalogue-{checkout}.json"


def source_key() -> str:
    """One hash over every .py file of the project (paths and bytes): any edit gives a new key."""
    digest = hashlib.sha256(f"v{VERSION}".encode())
    for root in _package_roots():
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _package_roots() -> list[Path]:
    import importlib.util

    roots = [Path(harness.__file__).parent]
    spec = importlib.util.find_spec("experiments")  # finds the folder without running its code
    if spec is not None and spec.submodule_search_locations:
        roots.append(Path(list(spec.submodule_search_locations)[0]))
    return roots


def save(registry: Registry) -> None:
    """Keep what `registry` (just discovered) knows; a failure to write only costs the next command time."""
    items = [{"id": it.id, "title": it.title, "section": it.section, "needs": list(it.needs),
              "config": list(it.config), "uses_data": it.uses_data, "order": it.order,
              "shows": list(it.shows), "digest": it.code_digest(), "file": it.source_file,
              "module": it.module_name, "extra_code": list(it.extra_code)}
             for it in registry.items.values()]
    path = catalogue_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"key": source_key(), "items": items}), encoding="utf-8")
        os.replace(tmp, path)


def load() -> Registry | None:
    """The items as of the last discovery, if no source file changed since; else None."""
    try:
        saved = json.loads(catalogue_path().read_text(encoding="utf-8"))
        if saved.get("key") != source_key():
            return None
        registry = Registry()
        for entry in saved["items"]:
            registry.items[entry["id"]] = ListedItem(
                id=entry["id"], title=entry["title"], section=entry["section"], fn=None,
                needs=tuple(entry["needs"]), config=tuple(entry["config"]), uses_data=entry["uses_data"],
                order=entry["order"], shows=tuple(entry["shows"]), digest=entry["digest"], file=entry["file"],
                module_name=entry["module"], extra_code=tuple(entry["extra_code"]))
        return registry
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # absent or damaged: discover instead
        return None


def items(quiet_backend: bool = True) -> Registry:
    """The catalogue if it is current; else discover the items (imports Keras) and save it."""
    listed = load()
    if listed is not None:
        return listed
    return discover(quiet_backend)


def discover(quiet_backend: bool = True) -> Registry:
    """The real registry (item functions included), saving the catalogue on the way."""
    from harness.registry import IMPORT_ERRORS, discover as import_items
    from harness.train.hardware import import_backend_quietly

    if quiet_backend:
        import_backend_quietly()
    registry = import_items()
    if not IMPORT_ERRORS:  # a module that failed to import would be missing from it
        save(registry)
    return registry
