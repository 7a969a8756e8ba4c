"""A run's manifest.json: the settings, the environment, the dataset and every item's status.

Only the process that schedules the items writes it (workers never do), each time an item ends.
"""
from __future__ import annotations

from typing import Any

from harness.config import IDENTITY, Config, load_config
from harness.registry import Item
from harness.run.execute import ItemOutcome
from harness.run.store import RunStore, now_iso
from harness.run.units import UnitTask
from harness.train.hardware import environment


def open_manifest(store: RunStore, config: Config, dataset: Any | None, command: str | None) -> dict[str, Any]:
    """The run's manifest, created or brought up to date with this invocation's settings and machine."""
    manifest = store.read_manifest()
    config = keep_identity(config, manifest.get("config") or {})
    manifest.setdefault("run_id", store.run_id)
    manifest.setdefault("created", now_iso())
    manifest.setdefault("items", {})
    manifest.update({
        "updated": now_iso(),
        "profile": config.profile,
        "overrides": config.overrides,
        "config": config.values,
        "environment": environment(),
        "dataset": None if dataset is None else {"name": dataset.name, "source": dataset.source,
                                                 "checksums": dataset.checksums, "checksum": dataset.checksum,
                                                 "canonical": getattr(dataset, "canonical", None)},
    })
    if command:
        manifest["command"] = command
    store.write_manifest(manifest)
    return manifest


def keep_identity(config: Config, stored: dict[str, Any]) -> Config:
    """The run's team, course and talk plan survive an invocation that does not set them.

    A section still at the profile's default (no --config gave it) takes the value the run
    recorded; one the invocation sets (a new --config) replaces it.
    """
    defaults = load_config(config.profile).values
    values = dict(config.values)
    for key in IDENTITY:
        if key in stored and values.get(key) == defaults.get(key) and stored[key] != defaults.get(key):
            values[key] = stored[key]
    return Config(config.profile, values, config.overrides)


def record_outcome(store: RunStore, manifest: dict[str, Any], item: Item, outcome: ItemOutcome) -> None:
    """One item's line in the manifest; a cached item shows the timing of the run that computed it."""
    entry = manifest["items"].get(item.id, {})
    entry.update({
        "title": item.title, "section": item.section, "needs": list(item.needs), "fingerprint": outcome.fingerprint,
        "status": outcome.status, "error": outcome.error, "error_words": outcome.words, "updated": now_iso(),
        "cached": outcome.status == "cached", "timing": outcome.timing, "device": outcome.device,
        "started": outcome.started,
    })
    manifest["items"][item.id] = entry
    manifest["updated"] = now_iso()
    store.write_manifest(manifest)


def record_unit(store: RunStore, manifest: dict[str, Any], task: UnitTask, outcome: ItemOutcome) -> None:
    """One unit's line, inside its item's entry (`units`, by key): the report never lists it as an item.
    Its start and end times show which units computed side by side."""
    entry = manifest["items"].setdefault(task.item.id, {"title": task.item.title, "section": task.item.section})
    units = entry.setdefault("units", {})
    units[task.key] = {"params": task.params, "fingerprint": outcome.fingerprint, "status": outcome.status,
                       "error": outcome.error, "error_words": outcome.words, "cached": outcome.status == "cached", "timing": outcome.timing,
                       "device": outcome.device, "started": outcome.started, "updated": now_iso()}
    manifest["updated"] = now_iso()
    store.write_manifest(manifest)
