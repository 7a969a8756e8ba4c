"""What one item (or unit) computed: the typed record behind an item folder's result.json.

The item fills the produced part (metrics, tables, figures, checks, models, arrays, values, log)
through its Context; the runner fills the rest (status, fingerprint, timing, where it ran). Only
harness.run.store turns it into JSON and back (`result_to_json` / `result_from_json`), so the file's
schema is said in one place and every reader gets fields, not dict lookups.

The nested records (one metric, table, figure, check) stay plain JSON objects of the shape their
Context method writes: they are read where they are shown, and their keys are documented there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Written into every result.json. 1: the files before the schema was stated (no "schema" key), whose
# keys were the same but any of them could be missing; 2: this record.
SCHEMA = 2


@dataclass
class Result:
    id: str                                   # the item's id, or a unit's task id (item/unit)
    status: str = "ok"                        # ok | failed (a cancelled computation is never stored)
    title: str = ""
    section: str = ""
    needs: list[str] = field(default_factory=list)
    fingerprint: str | None = None            # harness.run.plan: the code, settings and inputs it came from
    code_scheme: int = 1                      # harness.code_graph.CODE_SCHEME of the code digests
    error: str | None = None                  # in English, one line
    error_words: dict[str, str] | None = None  # the error in each language (harness.run.words)
    traceback: str | None = None
    seed: int | None = None
    profile: str | None = None
    config: dict[str, Any] = field(default_factory=dict)   # the settings sections it read, as it read them
    timing: dict[str, float] = field(default_factory=dict)
    device: str | None = None                 # where it computed ('CPU', 'cuda:0 NVIDIA H200')
    started_at: str | None = None
    finished_at: str | None = None
    code: list[dict[str, str]] = field(default_factory=list)  # the item's own code, as the report lists it
    units: dict[str, str | None] = field(default_factory=dict)  # an item's units: key -> their fingerprint
    item: str | None = None                   # a unit's item
    unit: str | None = None                   # a unit's key
    params: dict[str, Any] = field(default_factory=dict)    # a unit's parameters
    # What the item produced (harness.context.Context):
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)   # name -> {value, unit, note}
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)    # name -> {columns, rows, caption, ...}
    figures: list[dict[str, Any]] = field(default_factory=list)        # {name, file, files, caption, ...}
    checks: list[dict[str, Any]] = field(default_factory=list)         # {name, state, passed, detail, ...}
    models: dict[str, str] = field(default_factory=dict)               # name -> file inside the item folder
    arrays: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    log: list[Any] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)                # every file it wrote -> sha256
    schema: int = SCHEMA

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def metric_values(self) -> dict[str, Any]:
        return {name: metric["value"] for name, metric in self.metrics.items()}

    def is_current(self, fingerprint: str | None) -> bool:
        """A finished result of exactly this computation: what a cache hit is."""
        return self.ok and fingerprint is not None and self.fingerprint == fingerprint
