"""Executing one item: the single unit both schedulers use (in turn, and in a worker process).

The caller has already ruled out a cached result. The item computes into a
temporary folder; its result is committed to the run folder atomically, so a
killed run never leaves a half-written item that a later run trusts.
"""
from __future__ import annotations

import gc
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.config import Config
from harness.context import Context, ItemOutput, Splits, Stopwatch
from harness.errors import Cancelled, HarnessError, ItemFailed
from harness.registry import Item
from harness.run.plan import item_seed, sections
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




def _listing(item: Item) -> list[dict[str, str]]:
    try:
        return item.code_listing()
    except (OSError, TypeError):  # items defined interactively have no source file
        return []


def _commit(store: RunStore, item_id: str, tmp, result: dict[str, Any]) -> tuple[str, str | None]:
    """Commit the result; the status and error the run reports. A disk that is full (or read-only)
    fails this item in one line and keeps whatever result it had before."""
    status, error = result["status"], result["error"]
    try:
        kept = store.commit_item(item_id, tmp, result)
    except OSError as exc:
        store.discard(tmp)
        return "failed", (f"cannot save its result ({exc.strerror or exc}); free space or fix permissions "
                          f"in {store.dir} and rerun; any earlier result is kept")
    return status, f"{error}; {kept}" if kept else error


def execute_item(item: Item, fingerprint: str, config: Config, store: RunStore, inputs: dict[str, ItemOutput],
                 splits: Callable[[], Splits] | None, on_event: Event, cancel: threading.Event) -> ItemOutcome:
    """Compute one item and commit it to the run folder; `inputs` holds the outputs of what it needs."""
    on_event("start", item=item.id, title=item.title)
    tmp = store.begin_item(item.id)
    seed = item_seed(config.values.get("seed", 0), item.id)
    ctx = Context(
        item.id, config, sections(item, config), seed, tmp,
        splits if item.uses_data else None,
        {dep: inputs[dep] for dep in item.needs},
        on_progress=lambda i, d, t, u: on_event("progress", item=i, done=d, total=t, unit=u),
        cancel=cancel,
        on_log=lambda i, m: on_event("log", item=i, message=m),
        on_phase=lambda i, name: on_event("phase", item=i, phase=name),
    )
    status, error, tb = "ok", None, None
    watch = Stopwatch()
    try:
        set_seed(seed)
        with watch:
            item.fn(ctx)
    except Cancelled as exc:
        status, error = "cancelled", str(exc)
    except (ItemFailed, HarnessError) as exc:
        status, error = "failed", str(exc)
    except Exception as exc:  # an item's bug must not take the other items down
        status, error = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
        tb = traceback.format_exc()
    if status == "ok" and cancel.is_set():
        # The last moment a cancel can leave the run as it was: nothing of this item is saved.
        status, error = "cancelled", f"item {item.id} cancelled before its result was saved"
    timing = watch.as_dict() if hasattr(watch, "wall_s") else {}
    device = compute_device()
    # The models, compiled steps and data tensors an item built reference each other in cycles;
    # collect them now, before the next item allocates its own.
    gc.collect()
    result = {
        "id": item.id, "title": item.title, "section": item.section, "fingerprint": fingerprint,
        "status": status, "error": error, "traceback": tb, "seed": seed, "profile": config.profile,
        "config": {name: config.get(name) for name in sections(item, config)},
        "needs": list(item.needs), "timing": timing, "device": device, "finished_at": now_iso(),
        "code": _listing(item),
        **ctx.result,
    }
    if status == "cancelled":
        store.discard(tmp)
    else:
        on_event("phase", item=item.id, phase="save")
        status, error = _commit(store, item.id, tmp, result)
    on_event("done", item=item.id, status=status, timing=timing, error=error, device=device)
    return ItemOutcome(item.id, status, fingerprint, timing, error, device)
