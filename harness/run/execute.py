"""Executing one item, or one of its units: what both schedulers run (in turn, and in a worker process).

The caller has already ruled out a cached result. The item computes into a
temporary folder; its result is committed to the run folder atomically, so a
killed run never leaves a half-written item that a later run trusts.
"""
from __future__ import annotations

import gc
import threading
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from harness.code_graph import CODE_SCHEME
from harness.config import Config
from harness.context import Context, ItemOutput, Splits, Stopwatch
from harness.errors import Cancelled, HarnessError, ItemFailed
from harness.registry import Item
from harness.result import Result
from harness.run import words
from harness.run.plan import item_seed, sections
from harness.run.units import UnitTask
from harness.run.store import RunStore, now_iso
from harness.train.hardware import compute_device
from harness.train.seeds import set_seed

Event = Callable[..., None]


@dataclass
class ItemOutcome:
    id: str
    status: str  # ok | cached | failed | skipped | cancelled
    fingerprint: str | None = None
    timing: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    device: str | None = None  # where it computed ('CPU', 'cuda:0 NVIDIA H200'); a cached one's, when computed
    started: str | None = None  # when it started computing (ISO time); None if cached, skipped or never started
    words: dict[str, str] | None = None  # `error` in each language, for the panel and the report (harness.run.words)




def _listing(item: Item) -> list[dict[str, str]]:
    try:
        return item.code_listing()
    except (OSError, TypeError):  # items defined interactively have no source file
        return []


def _commit(store: RunStore, item_id: str, tmp, result: Result) -> tuple[str, str | None, words.Words | None]:
    """Commit the result; the status and error the run reports, and the error in each language. A disk
    that is full (or read-only) fails this item in one line and keeps whatever result it had before."""
    status, error, said = result.status, result.error, result.error_words
    try:
        kept = store.commit_item(item_id, tmp, result)
    except OSError as exc:
        store.discard(tmp)
        why = str(exc.strerror or exc)
        return "failed", (f"cannot save its result ({why}); free space or fix permissions "
                          f"in {store.dir} and rerun; any earlier result is kept"), words.cannot_save(why, store.run_id)
    if not kept:
        return status, error, said
    kept_one = store.load_result(item_id, verify=False)
    good = words.kept_last_good((kept_one and kept_one.finished_at) or "?")
    return status, f"{error}; {kept}", words.joined(said, good) if said else good


def execute_item(item: Item, fingerprint: str, config: Config, store: RunStore, inputs: dict[str, ItemOutput],
                 splits: Callable[[], Splits] | None, on_event: Event, cancel: threading.Event,
                 units: dict[str, ItemOutput] | None = None) -> ItemOutcome:
    """Compute one item and commit it to the run folder; `inputs` holds the outputs of what it needs,
    `units` those of its units (harness.run.units), by key."""
    seed = item_seed(config.values.get("seed", 0), item.id)
    job = _Job(item.id, item.title, item.fn, (), sections(item, config), item.needs, item.uses_data)
    extra = {"section": item.section, "needs": list(item.needs), "code": _listing(item)}
    if units is not None:  # which computation of each unit the item gathered
        extra["units"] = {key: out.result.fingerprint for key, out in units.items()}
    return _execute(job, item.id, seed, fingerprint, config, store, inputs, splits, on_event, cancel, units, extra)


def execute_unit(task: UnitTask, fingerprint: str, config: Config, store: RunStore, inputs: dict[str, ItemOutput],
                 splits: Callable[[], Splits] | None, on_event: Event, cancel: threading.Event) -> ItemOutcome:
    """Compute one unit of an item into the run's units/ store (`store` is that store). Its context
    carries the item's id and seed: what it records reads as the item's own work."""
    item = task.item
    seed = item_seed(config.values.get("seed", 0), item.id)
    job = _Job(task.id, task.title, item.units.fn, tuple(task.params.items()), task.sections(config), task.needs,
               item.uses_data)
    return _execute(job, item.id, seed, fingerprint, config, store, inputs, splits, on_event, cancel, None,
                    {"item": item.id, "unit": task.key, "params": task.params})


@dataclass(frozen=True)
class _Job:
    """What _execute runs: an item's function, or a unit's with its params."""

    id: str                      # where it is stored and how progress names it
    title: str
    fn: Callable
    params: tuple[tuple[str, Any], ...]
    sections: tuple[str, ...]
    needs: tuple[str, ...]
    uses_data: bool


def _execute(job: _Job, item_id: str, seed: int, fingerprint: str, config: Config, store: RunStore,
             inputs: dict[str, ItemOutput], splits: Callable[[], Splits] | None, on_event: Event,
             cancel: threading.Event, units: dict[str, ItemOutput] | None, extra: dict[str, Any]) -> ItemOutcome:
    on_event("start", item=job.id, title=job.title)
    started = now_iso()
    tmp = store.begin_item(job.id)
    ctx = Context(
        item_id, config, job.sections, seed, tmp,
        splits if job.uses_data else None,
        {dep: inputs[dep] for dep in job.needs},
        on_progress=lambda i, d, t, u: on_event("progress", item=job.id, done=d, total=t, unit=u),
        cancel=cancel,
        on_log=lambda i, m: on_event("log", item=job.id, message=m),
        on_phase=lambda i, name: on_event("phase", item=job.id, phase=name),
        units=units,
    )
    status, error, tb, said = "ok", None, None, None
    watch = Stopwatch()
    try:
        set_seed(seed)
        with watch:
            job.fn(ctx, **dict(job.params))
    except Cancelled as exc:
        status, error = "cancelled", str(exc)
        said = words.cancelled_while(job.id)
    except (ItemFailed, HarnessError) as exc:
        status, error = "failed", str(exc)
        said = words.program_message(error)
    except Exception as exc:  # an item's bug must not take the other items down
        status, error = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
        said = words.program_message(error)
        tb = traceback.format_exc()
    if status == "ok" and cancel.is_set():
        # The last moment a cancel can leave the run as it was: nothing of this item is saved.
        said = words.cancelled_before_saved(job.id)
        status, error = "cancelled", said["en"]
    timing = watch.as_dict() if hasattr(watch, "wall_s") else {}
    device = compute_device()
    # The models, compiled steps and data tensors an item built reference each other in cycles;
    # collect them now, before the next item allocates its own.
    gc.collect()
    result = replace(
        ctx.result, id=job.id, title=job.title, fingerprint=fingerprint, code_scheme=CODE_SCHEME, status=status,
        error=error, error_words=said, traceback=tb, seed=seed, profile=config.profile,
        config={name: config.get(name) for name in job.sections}, timing=timing, device=device,
        started_at=started, finished_at=now_iso(), **extra)
    if status == "cancelled":
        store.discard(tmp)
    else:
        on_event("phase", item=job.id, phase="save")
        status, error, said = _commit(store, job.id, tmp, result)
    on_event("done", item=job.id, status=status, timing=timing, error=error, words=said, device=device)
    return ItemOutcome(job.id, status, fingerprint, timing, error, device, started, said)
