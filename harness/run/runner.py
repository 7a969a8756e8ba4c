"""The runner: orders the items a request needs, reuses what is cached, runs the rest.

In turn (one item after another, in this process) or, with `jobs` above 1, in
worker processes (harness.run.workers), each item whose inputs are done going
to a free worker. Both execute an item with harness.run.execute.execute_item
and record it with harness.run.manifest.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.config import Config
from harness.context import ItemOutput, Splits
from harness.errors import HarnessError
from harness.registry import Item, Registry
from harness.run import plan
from harness.run.execute import Event, ItemOutcome, execute_item
from harness.run.manifest import open_manifest, record_outcome
from harness.run.store import RunStore, list_runs, set_latest
from harness.run.workers import WorkerPool, check_picklable, share_gpu_memory


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
        return Splits.for_config(self.dataset(), self.config)

    # -- planning -----------------------------------------------------------------
    def fingerprints(self, ids: list[str]) -> dict[str, str]:
        return plan.fingerprints(self.registry, self.config, ids, lambda: self.dataset().checksum)

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

    def to_compute(self, requested: list[str], force: bool = False) -> list[str]:
        """The items `run(requested, force)` would compute rather than take from a cache, in order.
        Reads only: the panel says this before a re-run starts."""
        order = self.registry.closure(requested)
        fps = self.fingerprints(order)
        forced = set(requested) if force else set()
        return [i for i in order if i in forced or not (self._own_cache(i, fps[i]) or self._other_run_with(i, fps[i]))]

    # -- running ----------------------------------------------------------------
    def run(self, requested: list[str] | None = None, force: bool = False) -> RunSummary:
        order = self.registry.closure(requested)
        forced = set(requested or order) if force else set()
        parallel = self.jobs > 1 and len(order) > 1
        if parallel:
            share_gpu_memory()  # before anything here initialises a GPU runtime
        with self.store.lock():
            self.store.clean_leftovers()
            fps = self.fingerprints(order)
            uses_data = any(self.registry.get(i).uses_data for i in self.registry.ordered_ids())
            manifest = open_manifest(self.store, self.config, self.dataset() if uses_data else None, self.command)
            self.on_event("plan", run_id=self.store.run_id, items=order)
            schedule = self._run_parallel if parallel else self._run_in_turn
            outcomes = schedule(order, fps, forced, manifest)
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
                outcome = self._cached_outcome(item, fps[item_id])
            if outcome is None:
                outcome = execute_item(item, fps[item_id], self.config, self.store, outputs, self._splits,
                                       self.on_event, self.cancel)
            if outcome.status in ("ok", "cached"):
                outputs[item_id] = self.store.output(item_id)
            outcomes[item_id] = outcome
            record_outcome(self.store, manifest, item, outcome)
        return outcomes

    def _run_parallel(self, order: list[str], fps: dict[str, str], forced: set[str],
                      manifest: dict[str, Any]) -> dict[str, ItemOutcome]:
        """Every item whose inputs are done goes to a free worker, longest chain of dependents first."""
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
                            record_outcome(self.store, manifest, item, outcome)
                for kind, kw in pool.events():
                    self.on_event(kind, **kw)
                for item_id, outcome, error in pool.finished(timeout=0.2):
                    if outcome is None:
                        outcome = ItemOutcome(item_id, "failed", fps[item_id], error=(
                            f"its worker process ended abruptly ({type(error).__name__}: {error}); "
                            f"rerun it, with --jobs 1 if it happens again"))
                        self.on_event("done", item=item_id, status="failed", timing={}, error=outcome.error)
                    outcomes[item_id] = outcome
                    record_outcome(self.store, manifest, self.registry.get(item_id), outcome)
        for kind, kw in pool.events():  # what the workers said last, flushed as they exited
            self.on_event(kind, **kw)
        return outcomes

    def _chain_first(self, order: list[str]) -> Callable[[str], tuple[int, int]]:
        """Sort key: items more others wait on come first (1.1e before 1.1a), then handout order."""
        waiting_on = {i: len(set(self.registry.dependents(i)) & set(order)) for i in order}
        return lambda item_id: (-waiting_on[item_id], order.index(item_id))

    # -- the cache ------------------------------------------------------------------
    def _cached_outcome(self, item: Item, fp: str) -> ItemOutcome | None:
        result = self._cached(item, fp)
        if result is None:
            return None
        self.on_event("done", item=item.id, status="cached", timing=result.get("timing", {}))
        return ItemOutcome(item.id, "cached", fp, result.get("timing", {}), device=result.get("device"))

    def _cached(self, item: Item, fp: str) -> dict[str, Any] | None:
        result = self.store.load_result(item.id, verify=False)
        if result is None and (why := self.store.unreadable_result(item.id)):
            self.on_event("log", item=item.id, message=f"cached result not trusted: {why}; recomputing")
        if result and result.get("status") == "ok" and result.get("fingerprint") == fp:
            if self._own_cache(item.id, fp):
                return result
            # Never trust it, never hide it: say which file broke, then recompute.
            altered = self.store.altered_file(item.id, result)
            self.on_event("log", item=item.id, message=f"cached result not trusted: items/{item.id}/{altered} "
                                                       f"is missing or changed since it was written; recomputing")
        # Another run folder may hold the very same computation: copy it rather than retrain.
        other = self._other_run_with(item.id, fp)
        if other is not None:
            self.store.import_item(item.id, RunStore(self.store.root, other).item_dir(item.id))
            self.on_event("log", item=item.id, message=f"reused from run '{other}'")
            return self.store.load_result(item.id)
        return None

    def _own_cache(self, item_id: str, fp: str) -> bool:
        """This run holds the item's result for fingerprint `fp`, every file as it was written."""
        result = self.store.load_result(item_id, verify=False)
        return bool(result and result.get("status") == "ok" and result.get("fingerprint") == fp
                    and self.store.altered_file(item_id, result) is None)

    def _other_run_with(self, item_id: str, fp: str) -> str | None:
        """The newest other run folder holding the item's result for fingerprint `fp`."""
        for other in reversed(list_runs(self.store.root)):
            if other == self.store.run_id:
                continue
            result = RunStore(self.store.root, other).load_result(item_id)
            if result and result.get("status") == "ok" and result.get("fingerprint") == fp:
                return other
        return None
