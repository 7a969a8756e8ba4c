"""What a run will do before it does it: each item's settings sections, seed and fingerprint.

An item's fingerprint covers its code, the settings sections it reads, its inputs'
fingerprints, the data checksum and the Keras backend. Same fingerprint, same
result: the stored one is reused and the run says "cached".
"""
from __future__ import annotations

import hashlib
import json
from typing import Callable

from harness.code_graph import CodeGraph
from harness.config import Config
from harness.registry import Item, Registry
from harness.train.hardware import backend_name
from harness.train.seeds import item_seed  # noqa: F401 (the runner's name for it)


def sections(item: Item, config: Config) -> tuple[str, ...]:
    """The settings sections an item's fingerprint covers: the ones it declares, and `data` if it reads data."""
    extra = ("data",) if item.uses_data and "data" in config.values else ()
    return tuple(sorted(set(item.config) | set(extra)))


def fingerprints(registry: Registry, config: Config, ids: list[str],
                 data_checksum: Callable[[], str], graph: CodeGraph | None = None) -> dict[str, str]:
    """The fingerprint of each item in `ids` (and of what they need); `data_checksum` is asked only
    if an item reads the data, since loading it is slow. `graph`: the source tree the code digests
    read (this checkout's unless given)."""
    fps: dict[str, str] = {}

    def visit(item_id: str) -> str:
        if item_id not in fps:
            item = registry.get(item_id)
            payload = {
                "id": item.id,
                "code": item.code_digest(graph),
                "config": config.digest(sections(item, config)),
                "seed": config.values.get("seed"),
                "inputs": {dep: visit(dep) for dep in item.needs},
                "data": data_checksum() if item.uses_data else None,
                "backend": backend_name(),
            }
            fps[item_id] = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        return fps[item_id]

    for item_id in ids:
        visit(item_id)
    return fps
