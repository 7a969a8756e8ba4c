"""An item's units (harness.registry.Units): the independent trainings inside one item, as tasks.

1.1i trains one VAE per latent dimension, 1.2f one GAN per model and seed, 1.2h one GAN per
size of z. Inside one item they would run one after another; as units each is a task of its
own that a free worker takes as soon as the units' inputs are done (often before the item's
other inputs are), with its own cache entry in the run folder's `units/`. The item then runs as
before, reading its units' results, and stays the one thing a list, a manifest entry and the
report show: units are internal.

A unit's fingerprint covers its item's code, the settings sections the unit reads, its params,
its inputs' fingerprints, the data and the backend: one more point in a sweep (a new key) leaves
the other units cached, and the item, whose fingerprint covers all of that, gathers again.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from harness.config import Config
from harness.errors import HarnessError
from harness.registry import Item
from harness.train.hardware import backend_name

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class UnitTask:
    """One unit of one item, as the schedulers see it."""

    item: Item
    key: str
    params: dict[str, Any]

    @property
    def id(self) -> str:
        """Its folder under the run's units/ and its name in progress lines: '1.1i.z4'."""
        return f"{self.item.id}.{self.key}"

    @property
    def needs(self) -> tuple[str, ...]:
        return self.item.units.needs

    @property
    def title(self) -> str:
        shown = ", ".join(f"{name}={value}" for name, value in self.params.items())
        return f"{self.item.title} ({shown})" if shown else self.item.title

    def sections(self, config: Config) -> tuple[str, ...]:
        """The settings sections the unit reads, and `data` if its item reads data (as plan.sections)."""
        extra = ("data",) if self.item.uses_data and "data" in config.values else ()
        return tuple(sorted(set(self.item.units.config) | set(extra)))


def plan_units(item: Item, config: Config) -> list[UnitTask]:
    """The units the item's settings call for, in the order its plan names them. A plan that
    rejects the settings (ConfigError) gives none: the item itself then fails with that message."""
    if item.units is None:
        return []
    settings = {section: config.section(section) for section in item.config if section in config.values}
    try:
        planned = item.units.plan(settings)
    except HarnessError:
        return []
    tasks = []
    for key, params in planned.items():
        if not isinstance(key, str) or not KEY.match(key):
            raise HarnessError(f"item {item.id}: unit key {key!r} is not valid: use letters, digits, '_', '.', '-'")
        try:
            json.dumps(params, sort_keys=True)
        except TypeError as exc:
            raise HarnessError(f"item {item.id}: unit {key}'s params are not JSON values ({exc})") from None
        tasks.append(UnitTask(item, key, dict(params)))
    return tasks


def unit_fingerprint(task: UnitTask, config: Config, input_fps: dict[str, str], data_checksum: Callable[[], str]) -> str:
    payload = {
        "item": task.item.id,
        "unit": task.key,
        "params": task.params,
        "code": task.item.code_digest(),
        "config": config.digest(task.sections(config)),
        "seed": config.values.get("seed"),
        "inputs": {dep: input_fps[dep] for dep in task.needs},
        "data": data_checksum() if task.item.uses_data else None,
        "backend": backend_name(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

