"""The runner: orders the items a request needs, reuses what is cached, runs the rest.

An item's fingerprint covers its code, the settings sections it reads, its
inputs' fingerprints, the data checksum and the Keras backend. Same
fingerprint, same result: the stored one is reused and the run says "cached".
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import platform
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.config import Config
from harness.context import Context, ItemOutput, Splits, Stopwatch
from harness.errors import Cancelled, HarnessError, ItemFailed
from harness.hardware import native_bf16
from harness.registry import Item, Registry
from harness.store import RunStore, list_runs, now_iso, set_latest

Event = Callable[..., None]

PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "jax", "numpy", "scipy", "matplotlib", "jinja2",
            "weasyprint", "gradio", "nbformat", "markdown-it-py", "pygments")


def _listing(item: Item) -> list[dict[str, str]]:
    try:
        return item.code_listing()
    except (OSError, TypeError):  # items defined interactively have no source file
        return []


def backend_name() -> str:
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def item_seed(base_seed: int, item_id: str) -> int:
    """Each item gets its own fixed seed: re-running one item alone repeats its random draws
    (weights, noise, batches). On a CPU the arithmetic is not bit-reproducible at every size (threaded
    kernels; benchmarks/RESULTS.md, 08:50 entry), and the GAN amplifies the last-bit differences."""
    return int(hashlib.sha256(f"{base_seed}:{item_id}".encode()).hexdigest()[:8], 16) % (2**31 - 1)


def set_seed(seed: int) -> None:
    import random

    import numpy as np

    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)  # also seeds the backend (TF / JAX / torch)


def environment() -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(), "platform": platform.platform(), "cpu": cpu,
        "cpu_count": os.cpu_count(), "backend": backend_name(), "accelerators": accelerators(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "native_bf16": native_bf16(),
        "packages": versions,
    }


def accelerators() -> list[str]:
    """GPUs Keras's backend can see (imported lazily: only when a run starts)."""
    try:
        backend = backend_name()
        if backend == "jax":
            import jax

            return [str(d) for d in jax.devices() if d.platform != "cpu"]
        if backend == "tensorflow":
            import tensorflow as tf

            return [d.name for d in tf.config.list_physical_devices("GPU")]
        if backend == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # a broken accelerator stack must not stop a CPU run
        return []
    return []


@dataclass
class ItemOutcome:
    id: str
    status: str  # ok | cached | failed | skipped | cancelled
    fingerprint: str | None = None
    timing: dict[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunSummary:
    run_id: str
    folder: Path
    outcomes: list[ItemOutcome]

    @property
    def failed(self) -> list[ItemOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "skipped", "cancelled")]


class Runner:
    def __init__(
        self,
        registry: Registry,
        config: Config,
        store: RunStore,
        dataset_loader: Callable[[], Any] | None = None,
        on_event: Event | None = None,
        cancel: threading.Event | None = None,
        command: str | None = None,
        jobs: int = 1,
    ) -> None:
        self.registry = registry
        self.config = config
        self.store = store
        self._dataset_loader = dataset_loader
        self._dataset = None
        self.on_event = on_event or (lambda kind, **kw: None)
        self.cancel = cancel or threading.Event()
        self.command = command
        self.jobs = jobs  # worker processes; above 1, independent items run at the same time

    # -- data -----------------------------------------------------------------
    def dataset(self) -> Any:
        if self._dataset is None:
            if self._dataset_loader is None:
                raise HarnessError("no dataset loader was given to the runner")
            self._dataset = self._dataset_loader()
        return self._dataset

    def _splits(self) -> Splits:
        data = self.config.section("data") if "data" in self.config.values else {}
        ds = self.dataset()
        return Splits.from_dataset(ds, data.get("n_train", len(ds.x_train)), data.get("n_test", len(ds.x_test)))

    # -- fingerprints -----------------------------------------------------------
    def sections(self, item: Item) -> tuple[str, ...]:
        extra = ("data",) if item.uses_data and "data" in self.config.values else ()
        return tuple(sorted(set(item.config) | set(extra)))

    def fingerprints(self, ids: list[str]) -> dict[str, str]:
        fps: dict[str, str] = {}
        for item_id in ids:
            item = self.registry.get(item_id)
            for dep in item.needs:
                if dep not in fps:
                    fps.update(self.fingerprints(self.registry.closure([dep])))
            payload = {
                "id": item.id,
                "code": item.code_digest(),
                "config": self.config.digest(self.sections(item)),
                "seed": self.config.values.get("seed"),
                "inputs": {dep: fps[dep] for dep in item.needs},
                "data": self.dataset().checksum if item.uses_data else None,
                "backend": backend_name(),
            }
            fps[item_id] = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        return fps

    def status(self, ids: list[str] | None = None) -> dict[str, str]:
        """cached / stale / failed / not run, for each item, against this config."""
        ids = ids or self.registry.ordered_ids()
        fps = self.fingerprints(self.registry.closure(ids))
        out = {}
        for item_id in ids:
            result = self.store.load_result(item_id, verify=False)
            if result is None:
                out[item_id] = "not run"
            elif result.get("status") != "ok":
                out[item_id] = "failed"
            else:
                out[item_id] = "cached" if result.get("fingerprint") == fps[item_id] else "stale"
        return out

    # -- running ----------------------------------------------------------------
    def run(self, requested: list[str] | None = None, force: bool = False) -> RunSummary:
        order = self.registry.closure(requested)
        forced = set(requested or order) if force else set()
        parallel = self.jobs > 1 and len(order) > 1
        if parallel:
            from harness.parallel import share_gpu_memory

            share_gpu_memory()  # before anything here initialises a GPU runtime
        with self.store.lock():
            self.store.clean_leftovers()
            fps = self.fingerprints(order)
            manifest = self._open_manifest()
            self.on_event("plan", run_id=self.store.run_id, items=order)
            if parallel:
                outcomes = self._run_parallel(order, fps, forced, manifest)
            else:
                outcomes = self._run_in_turn(order, fps, forced, manifest)
            set_latest(self.store.root, self.store.run_id)
        return RunSummary(self.store.run_id, self.store.dir, [outcomes[i] for i in order])

    def _unrunnable(self, item: Item, fp: str, outcomes: dict[str, ItemOutcome]) -> ItemOutcome | None:
        """Skipped (an input failed) or cancelled before it started; None if it may run."""
        broken = [d for d in item.needs if outcomes[d].status not in ("ok", "cached")]
        if broken:
            outcome = ItemOutcome(item.id, "skipped", fp, error=f"needs {', '.join(broken)}, which did not finish")
            self.on_event("skip", item=item.id, reason=outcome.error)
            return outcome
        if self.cancel.is_set():
            return ItemOutcome(item.id, "cancelled", fp, error="cancelled before it started")
        return None

    def _run_in_turn(self, order: list[str], fps: dict[str, str], forced: set[str],
                     manifest: dict[str, Any]) -> dict[str, ItemOutcome]:
        outputs: dict[str, ItemOutput] = {}
        outcomes: dict[str, ItemOutcome] = {}
        for item_id in order:
            item = self.registry.get(item_id)
            outcome = self._unrunnable(item, fps[item_id], outcomes)
            if outcome is None and item_id not in forced:
                outcome = self._cached_outcome(item, fps[item_id], outputs)
            if outcome is None:
                outcome = self._run_one(item, fps[item_id], outputs)
            outcomes[item_id] = outcome
            self._record(manifest, item, outcome)
        return outcomes

    def _run_parallel(self, order: list[str], fps: dict[str, str], forced: set[str],
                      manifest: dict[str, Any]) -> dict[str, ItemOutcome]:
        """Every item whose inputs are done goes to a free worker, longest chain of dependents first."""
        from harness.parallel import WorkerPool, check_picklable

        for item_id in order:  # fail before anything starts, not halfway through
            check_picklable(f"item {item_id}", self.registry.get(item_id))
        outcomes: dict[str, ItemOutcome] = {}
        waiting = sorted(order, key=self._chain_first(order))
        not_cached: set[str] = set()  # looked up once: a lookup reads run folders and may log
        with WorkerPool(self.jobs, self.config, self.store.root, self.store.run_id, self._dataset_loader) as pool:
            while waiting or pool.running:
                started = True
                while started:  # cached and skipped items decide at once and may free others
                    started = False
                    for item_id in [i for i in waiting if all(d in outcomes for d in self.registry.get(i).needs)]:
                        item = self.registry.get(item_id)
                        outcome = self._unrunnable(item, fps[item_id], outcomes)
                        if outcome is None and item_id not in forced and item_id not in not_cached:
                            outcome = self._cached_outcome(item, fps[item_id])
                            not_cached.add(item_id)
                        if outcome is None and pool.free == 0:
                            continue
                        waiting.remove(item_id)
                        started = True
                        if outcome is None:
                            pool.submit(item, fps[item_id])
                        else:
                            outcomes[item_id] = outcome
                            self._record(manifest, item, outcome)
                for kind, kw in pool.events():
                    self.on_event(kind, **kw)
                for item_id, outcome, error in pool.finished(timeout=0.2):
                    if outcome is None:
                        outcome = ItemOutcome(item_id, "failed", fps[item_id], error=(
                            f"its worker process ended abruptly ({type(error).__name__}: {error}); "
                            f"rerun it, with --jobs 1 if it happens again"))
                        self.on_event("done", item=item_id, status="failed", timing={}, error=outcome.error)
                    outcomes[item_id] = outcome
                    self._record(manifest, self.registry.get(item_id), outcome)
        for kind, kw in pool.events():  # what the workers said last, flushed as they exited
            self.on_event(kind, **kw)
        return outcomes

    def _chain_first(self, order: list[str]) -> Callable[[str], tuple[int, int]]:
        """Sort key: items more others wait on come first (1.1e before 1.1a), then handout order."""
        waiting_on = {i: len(set(self.registry.dependents(i)) & set(order)) for i in order}
        return lambda item_id: (-waiting_on[item_id], order.index(item_id))

    def _cached_outcome(self, item: Item, fp: str, outputs: dict[str, ItemOutput] | None = None) -> ItemOutcome | None:
        result = self._cached(item, fp)
        if result is None:
            return None
        if outputs is not None:
            outputs[item.id] = ItemOutput(item.id, self.store.item_dir(item.id), result)
        self.on_event("done", item=item.id, status="cached", timing=result.get("timing", {}))
        return ItemOutcome(item.id, "cached", fp, result.get("timing", {}))

    def _cached(self, item: Item, fp: str) -> dict[str, Any] | None:
        result = self.store.load_result(item.id, verify=False)
        if result and result.get("status") == "ok" and result.get("fingerprint") == fp:
            altered = self.store.altered_file(item.id, result)
            if altered is None:
                return result
            # Never trust it, never hide it: say which file broke, then recompute.
            self.on_event("log", item=item.id, message=f"cached result not trusted: items/{item.id}/{altered} "
                                                       f"is missing or changed since it was written; recomputing")
        # Another run folder may hold the very same computation: copy it rather than retrain.
        for other in reversed(list_runs(self.store.root)):
            if other == self.store.run_id:
                continue
            source = RunStore(self.store.root, other)
            result = source.load_result(item.id)
            if result and result.get("status") == "ok" and result.get("fingerprint") == fp:
                self.store.import_item(item.id, source.item_dir(item.id))
                self.on_event("log", item=item.id, message=f"reused from run '{other}'")
                return self.store.load_result(item.id)
        return None

    def _run_one(self, item: Item, fp: str, outputs: dict[str, ItemOutput]) -> ItemOutcome:
        """Compute the item (the caller has ruled out a cached result) and commit it to the run folder."""
        self.on_event("start", item=item.id, title=item.title)
        tmp = self.store.begin_item(item.id)
        seed = item_seed(self.config.values.get("seed", 0), item.id)
        ctx = Context(
            item.id, self.config, self.sections(item), seed, tmp,
            self._splits if item.uses_data else None,
            {dep: outputs[dep] for dep in item.needs},
            on_progress=lambda i, d, t, u: self.on_event("progress", item=i, done=d, total=t, unit=u),
            cancel=self.cancel,
            on_log=lambda i, m: self.on_event("log", item=i, message=m),
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
        timing = watch.as_dict() if hasattr(watch, "wall_s") else {}
        # The models, compiled steps and data tensors an item built reference each other in cycles;
        # collect them now, before the next item allocates its own (a full run peaked near 4 GiB).
        gc.collect()
        result = {
            "id": item.id, "title": item.title, "section": item.section, "fingerprint": fp, "status": status,
            "error": error, "traceback": tb, "seed": seed, "profile": self.config.profile,
            "config": {s: self.config.get(s) for s in self.sections(item)},
            "needs": list(item.needs), "timing": timing, "finished_at": now_iso(), "code": _listing(item),
            **ctx.result,
        }
        if status == "cancelled":
            self.store.discard(tmp)
        else:
            self.store.commit_item(item.id, tmp, result)
        if status == "ok":
            outputs[item.id] = ItemOutput(item.id, self.store.item_dir(item.id), result)
        self.on_event("done", item=item.id, status=status, timing=timing, error=error)
        return ItemOutcome(item.id, status, fp, timing, error)

    # -- manifest -----------------------------------------------------------------
    def _open_manifest(self) -> dict[str, Any]:
        manifest = self.store.read_manifest()
        ds = self.dataset() if any(self.registry.get(i).uses_data for i in self.registry.ordered_ids()) else None
        manifest.setdefault("run_id", self.store.run_id)
        manifest.setdefault("created", now_iso())
        manifest.setdefault("items", {})
        manifest.update({
            "updated": now_iso(),
            "profile": self.config.profile,
            "overrides": self.config.overrides,
            "config": self.config.values,
            "environment": environment(),
            "dataset": None if ds is None else {"name": ds.name, "source": ds.source, "checksums": ds.checksums, "checksum": ds.checksum},
        })
        if self.command:
            manifest["command"] = self.command
        self.store.write_manifest(manifest)
        return manifest

    def _record(self, manifest: dict[str, Any], item: Item, outcome: ItemOutcome) -> None:
        entry = manifest["items"].get(item.id, {})
        entry.update({
            "title": item.title, "section": item.section, "needs": list(item.needs), "fingerprint": outcome.fingerprint,
            "status": outcome.status, "error": outcome.error, "updated": now_iso(),
        })
        if outcome.status == "cached":
            entry["cached"] = True
        else:
            entry["cached"] = False
            entry["timing"] = outcome.timing
        if outcome.status in ("ok", "cached"):
            entry["timing"] = outcome.timing
        manifest["items"][item.id] = entry
        manifest["updated"] = now_iso()
        self.store.write_manifest(manifest)

