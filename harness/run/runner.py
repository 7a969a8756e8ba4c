"""The runner: orders the items a request needs, reuses what is cached, runs the rest.

Items and their units (harness.run.units) are tasks of one loop (Runner._schedule), which
decides each ready task (skipped, cancelled, cached, a unit broke) or hands it to an executor:
this process (InProcess: one task after another, in handout order, a unit just before its
item) or, with `jobs` above 1, worker processes (harness.run.workers), each task whose inputs
are done going to a free worker. Both execute with harness.run.execute and the loop records
every outcome with harness.run.manifest.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from harness.config import Config
from harness.context import ItemOutput, Splits
from harness.errors import HarnessError
from harness.registry import Item, Registry
from harness.result import Result
from harness.run import plan, words
from harness.run.execute import Event, ItemOutcome, execute_item, execute_unit
from harness.run.manifest import open_manifest, record_outcome, record_unit
from harness.run.store import RunStore, list_runs, set_latest
from harness.run.schedule import (critical_first, item_static_seconds, manifests_newest_first, recorded_seconds,
                                  item_wall_seconds, simulated_wall, static_seconds, wall_seconds)
from harness.code_graph import CODE_SCHEME
from harness.run.units import UnitTask, plan_units, unit_fingerprint
from harness.run.workers import WorkerPool, check_picklable, share_gpu_memory


@dataclass
class Work:
    """The units a run computes: per item (only items not cached), by task id, and their fingerprints."""

    units: dict[str, list[UnitTask]] = field(default_factory=dict)
    tasks: dict[str, UnitTask] = field(default_factory=dict)
    fps: dict[str, str] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)  # items with units found not cached while planning


class InProcess:
    """The executor of a run without workers: one task at a time, in this process, with the runner's
    dataset and cancel flag (the panel's Stop reaches a training in progress). Same interface as
    harness.run.workers.WorkerPool, so one loop schedules both."""

    def __init__(self, runner: "Runner") -> None:
        self._runner = runner
        self.running: dict[str, Callable[[], ItemOutcome]] = {}

    def __enter__(self) -> "InProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.running.clear()

    @property
    def free(self) -> int:
        return 1 - len(self.running)

    def cancel(self) -> None:
        """Nothing to do: the task in progress reads the runner's own cancel flag."""

    def _inputs(self, needs: tuple[str, ...]) -> dict[str, ItemOutput]:
        return {dep: self._runner.store.output(dep) for dep in needs}

    def submit(self, item: Item, fingerprint: str, units: dict[str, str] | None = None) -> None:
        r = self._runner
        outputs = None if units is None else {key: r.store.units.output(unit_id) for key, unit_id in units.items()}
        self.running[item.id] = lambda: execute_item(item, fingerprint, r.config, r.store, self._inputs(item.needs),
                                                     r._splits, r.on_event, r.cancel, units=outputs)

    def submit_unit(self, task: UnitTask, fingerprint: str) -> None:
        r = self._runner
        self.running[task.id] = lambda: execute_unit(task, fingerprint, r.config, r.store.units,
                                                     self._inputs(task.needs), r._splits, r.on_event, r.cancel)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        return []  # this process's tasks speak through on_event directly

    def finished(self, timeout: float) -> list[tuple[str, ItemOutcome, BaseException | None]]:
        """Computes the task handed over (an error of the machinery, not of the item, propagates)."""
        out = [(task_id, run(), None) for task_id, run in self.running.items()]
        self.running.clear()
        return out


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
        background: bool = False,
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
        # Compute in worker processes at the lowest priority, on one thread, even with one job: the
        # panel's re-runs, so that the process serving the talk (its explorers) keeps the CPU's first call.
        self.background = background

    # -- data -----------------------------------------------------------------
    def dataset(self) -> Any:
        if self._dataset is None:
            if self._dataset_loader is None:
                raise HarnessError("no dataset loader was given to the runner")
            self._dataset = self._dataset_loader()
            if getattr(self._dataset, "canonical", None) is False:  # said once, when the data are first read
                self.on_event("log", item="data", message=words.not_canonical())
        return self._dataset

    def _splits(self) -> Splits:
        return Splits.for_config(self.dataset(), self.config)

    # -- planning -----------------------------------------------------------------
    def fingerprints(self, ids: list[str]) -> dict[str, str]:
        return plan.fingerprints(self.registry, self.config, ids, lambda: self.dataset().checksum)

    def status(self, ids: list[str] | None = None) -> dict[str, str]:
        """cached / stale / failed / damaged / not run, for each item, against this config."""
        ids = ids or self.registry.ordered_ids()
        fps = self.fingerprints(self.registry.closure(ids))
        out = {}
        damaged = self.store.damaged(ids)  # never "cached" or "not run": `run` computes them again
        for item_id in ids:
            result = self.store.load_result(item_id, verify=False)
            if result is None:
                out[item_id] = "damaged" if item_id in damaged else "not run"
            elif not result.ok:
                out[item_id] = "failed"
            elif not result.is_current(fps[item_id]):
                out[item_id] = "stale"
            else:
                out[item_id] = "damaged" if item_id in damaged else "cached"
        return out

    def older_digests(self, ids: list[str] | None = None) -> list[str]:
        """The items whose stored result was fingerprinted by digests that covered less code (no code_scheme)."""
        ids = ids or self.registry.ordered_ids()
        return [i for i in ids if (r := self.store.load_result(i, verify=False)) is not None
                and r.ok and r.code_scheme < CODE_SCHEME]

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
            self.store.units.clean_leftovers()
            fps = self.fingerprints(order)
            uses_data = any(self.registry.get(i).uses_data for i in self.registry.ordered_ids())
            manifest = open_manifest(self.store, self.config, self.dataset() if uses_data else None, self.command)
            self.on_event("plan", run_id=self.store.run_id, items=order)
            work = self._plan_units(order, fps, forced)
            self.on_event("estimate", **self.estimate(order, fps, forced, work, parallel))
            outcomes = self._schedule(order, fps, forced, manifest, work, parallel)
            set_latest(self.store.root, self.store.run_id)
        return RunSummary(self.store.run_id, self.store.dir, [outcomes[i] for i in order])

    def _plan_units(self, order: list[str], fps: dict[str, str], forced: set[str]) -> Work:
        """The units of the items that will compute (not cached), each with its fingerprint."""
        work = Work()
        for item_id in order:
            item = self.registry.get(item_id)
            if item.units is None:
                continue
            if item_id not in forced and self._cached(item, fps[item_id]) is not None:
                continue
            work.stale.add(item_id)  # looked up once: the schedulers do not ask the cache again
            work.units[item_id] = plan_units(item, self.config)
            for task in work.units[item_id]:
                work.fps[task.id] = unit_fingerprint(task, self.config, fps, lambda: self.dataset().checksum)
                work.tasks[task.id] = task
        return work

    def _unrunnable(self, task: Item | UnitTask, fp: str, outcomes: dict[str, ItemOutcome]) -> ItemOutcome | None:
        """Skipped (an input failed) or cancelled before it started; None if it may run."""
        broken = [d for d in task.needs if outcomes[d].status not in ("ok", "cached")]
        if broken:
            said = words.needs_unfinished(broken)
            outcome = ItemOutcome(task.id, "skipped", fp, error=said["en"], words=said)
            self.on_event("skip", item=task.id, reason=outcome.error, words=said)
            return outcome
        if self.cancel.is_set():
            said = words.cancelled_before_start()
            return ItemOutcome(task.id, "cancelled", fp, error=said["en"], words=said)
        return None

    def _broken_unit(self, item: Item, fp: str, work: Work, outcomes: dict[str, ItemOutcome]) -> ItemOutcome | None:
        """The item fails, keeping its last good result, when one of its units did not finish."""
        for task in work.units.get(item.id, []):
            unit = outcomes[task.id]
            if unit.status not in ("ok", "cached"):
                status = "cancelled" if unit.status == "cancelled" else "failed"
                said = words.unit_broken(task.key, unit.status, unit.words, unit.error)
                return ItemOutcome(item.id, status, fp, error=f"its unit {task.key} {unit.status}: {unit.error}",
                                   words=said)
        return None

    def _unit_outputs(self, item_id: str, work: Work) -> dict[str, ItemOutput] | None:
        if item_id not in work.units:
            return None
        return {task.key: self.store.units.output(task.id) for task in work.units[item_id]}

    def _schedule(self, order: list[str], fps: dict[str, str], forced: set[str], manifest: dict[str, Any],
                  work: Work, parallel: bool) -> dict[str, ItemOutcome]:
        """The one loop over tasks (items and their units): each task whose inputs are done is decided
        (skipped, cancelled, cached, a unit broke) or handed to the executor, which computes it: worker
        processes, longest remaining path first, or this process, in handout order (a unit just before
        its item). Both executors run a task with harness.run.execute."""
        if parallel:
            for item_id in order:  # fail before anything starts, not halfway through
                check_picklable(f"item {item_id}", self.registry.get(item_id))
        waits = {i: tuple(self.registry.get(i).needs) + tuple(t.id for t in work.units.get(i, [])) for i in order}
        waits.update({task_id: task.needs for task_id, task in work.tasks.items()})
        outcomes: dict[str, ItemOutcome] = {}
        waiting = sorted(waits, key=self._chain_first(order, waits, work) if parallel else self._in_order(order, work))
        not_cached: set[str] = set(work.stale)  # looked up once: a lookup reads run folders and may log
        pooled = parallel or (self.background and self._sendable(order))
        executor = (WorkerPool(max(1, self.jobs), self.config, self.store.root, self.store.run_id,
                               self._dataset_loader, background=self.background)
                    if pooled else InProcess(self))
        with executor as pool:
            while waiting or pool.running:
                started = True
                while started:  # cached and skipped tasks decide at once and may free others
                    started = False
                    for task_id in [t for t in waiting if all(d in outcomes for d in waits[t])]:
                        outcome = self._decide(task_id, fps, work, forced, outcomes, not_cached)
                        if outcome is None and pool.free == 0:
                            continue
                        waiting.remove(task_id)
                        started = True
                        if outcome is None:
                            self._submit(pool, task_id, fps, work)
                        else:
                            self._record(task_id, outcome, outcomes, manifest, work)
                if self.cancel.is_set():
                    pool.cancel()
                for kind, kw in pool.events():
                    self.on_event(kind, **kw)
                for task_id, outcome, error in pool.finished(timeout=0.2):
                    if outcome is None:
                        said = words.worker_died(error)
                        outcome = ItemOutcome(task_id, "failed", work.fps.get(task_id) or fps[task_id],
                                              error=said["en"], words=said)
                        self.on_event("done", item=task_id, status="failed", timing={}, error=outcome.error, words=said)
                    self._record(task_id, outcome, outcomes, manifest, work)
        for kind, kw in pool.events():  # what the workers said last, flushed as they exited
            self.on_event(kind, **kw)
        return outcomes

    def estimate(self, order: list[str], fps: dict[str, str], forced: set[str], work: Work,
                 parallel: bool) -> dict[str, Any]:
        """The run's wall seconds before it starts: each task to compute at the seconds this root's runs
        recorded for it (else its declared work at per-image costs: `recorded` says how many were known),
        scheduled as the loop will schedule them; a cached task costs nothing."""
        waits = {i: tuple(self.registry.get(i).needs) + tuple(t.id for t in work.units.get(i, [])) for i in order}
        waits.update({task_id: task.needs for task_id, task in work.tasks.items()})
        computing = {i for i in order if i in forced or i in work.stale
                     or not (self._own_cache(i, fps[i]) or self._other_run_with(i, fps[i]))}
        computing |= set(work.tasks)
        from harness.train.hardware import native_bf16

        recorded = recorded_seconds(manifests_newest_first(self.store.root), self.config.profile)
        bf16, jobs = native_bf16(), self.jobs if parallel else 1
        seconds = {}
        for t in waits:
            if t not in computing:
                seconds[t] = 0.0
            elif t in recorded:
                seconds[t] = recorded[t]
            else:  # workers share the cores: each task runs about `jobs` times slower than alone
                task = work.tasks.get(t)
                alone = (wall_seconds(task.sections(self.config), task.item.uses_data, self.config, bf16) if task
                         else item_wall_seconds(self.registry.get(t), self.config, bf16))
                seconds[t] = alone * jobs
        key = self._chain_first(order, waits, work) if parallel else self._in_order(order, work)
        return {"seconds": simulated_wall(waits, seconds, jobs, key),
                "tasks": len(computing), "recorded": sum(t in recorded for t in computing),
                "jobs": self.jobs if parallel else 1}

    def _sendable(self, order: list[str]) -> bool:
        """Whether a worker process can receive the loader and every item (a test's items defined
        inside a function cannot): a background run computes in this process otherwise."""
        try:
            check_picklable("the dataset loader", self._dataset_loader)
            for item_id in order:
                check_picklable(f"item {item_id}", self.registry.get(item_id))
        except HarnessError:
            return False
        return True

    def _in_order(self, order: list[str], work: Work) -> Callable[[str], tuple[int, int, int]]:
        """Sort key in this process: handout order, an item's units just before it, in their planned order."""
        def key(task_id: str) -> tuple[int, int, int]:
            if task_id in work.tasks:
                item_id = work.tasks[task_id].item.id
                return order.index(item_id), 0, [t.id for t in work.units[item_id]].index(task_id)
            return order.index(task_id), 1, 0
        return key

    def _chain_first(self, order: list[str], waits: dict[str, tuple[str, ...]],
                     work: Work) -> Callable[[str], tuple[float, int]]:
        """Sort key: the task heading the longest remaining path of estimated seconds first
        (harness.run.schedule), then handout order (a unit at its item's place)."""
        place = {task_id: order.index(work.tasks[task_id].item.id if task_id in work.tasks else task_id)
                 for task_id in waits}
        return critical_first(waits, self.estimated_seconds(waits, work), place)

    def estimated_seconds(self, tasks: Iterable[str], work: Work) -> dict[str, float]:
        """Each task's seconds as this root's runs recorded them, else as its declared work suggests."""
        recorded = recorded_seconds(manifests_newest_first(self.store.root), self.config.profile)
        seconds = {}
        for task_id in tasks:
            if task_id in recorded:
                seconds[task_id] = recorded[task_id]
            elif task_id in work.tasks:
                task = work.tasks[task_id]
                seconds[task_id] = static_seconds(task.sections(self.config), task.item.uses_data, self.config)
            else:
                seconds[task_id] = item_static_seconds(self.registry.get(task_id), self.config)
        return seconds

    def _decide(self, task_id: str, fps: dict[str, str], work: Work, forced: set[str],
                outcomes: dict[str, ItemOutcome], not_cached: set[str]) -> ItemOutcome | None:
        """A ready task's outcome without computing it (skipped, cancelled, cached, a unit failed), or None: compute."""
        if task_id in work.tasks:
            task = work.tasks[task_id]
            outcome = self._unrunnable(task, work.fps[task_id], outcomes)
            if outcome is None and task.item.id not in forced and task_id not in not_cached:
                outcome = self._cached_unit_outcome(task, work.fps[task_id])
                not_cached.add(task_id)
            return outcome
        item = self.registry.get(task_id)
        outcome = self._unrunnable(item, fps[task_id], outcomes)
        if outcome is None and task_id not in forced and task_id not in not_cached:
            outcome = self._cached_outcome(item, fps[task_id])
            not_cached.add(task_id)
        return outcome or self._broken_unit(item, fps[task_id], work, outcomes)

    def _submit(self, pool: WorkerPool, task_id: str, fps: dict[str, str], work: Work) -> None:
        if task_id in work.tasks:
            pool.submit_unit(work.tasks[task_id], work.fps[task_id])
        else:
            units = {t.key: t.id for t in work.units[task_id]} if task_id in work.units else None
            pool.submit(self.registry.get(task_id), fps[task_id], units)

    def _record(self, task_id: str, outcome: ItemOutcome, outcomes: dict[str, ItemOutcome],
                manifest: dict[str, Any], work: Work) -> None:
        outcomes[task_id] = outcome
        if task_id in work.tasks:
            record_unit(self.store, manifest, work.tasks[task_id], outcome)
        else:
            record_outcome(self.store, manifest, self.registry.get(task_id), outcome)

    # -- the cache ------------------------------------------------------------------
    def _cached_outcome(self, item: Item, fp: str) -> ItemOutcome | None:
        result = self._cached(item, fp)
        if result is None:
            return None
        self.on_event("done", item=item.id, status="cached", timing=result.timing)
        return ItemOutcome(item.id, "cached", fp, result.timing, device=result.device)

    def _cached_unit_outcome(self, task: UnitTask, fp: str) -> ItemOutcome | None:
        result = self._lookup(task.id, fp, units=True)
        if result is None:
            return None
        self.on_event("done", item=task.id, status="cached", timing=result.timing)
        return ItemOutcome(task.id, "cached", fp, result.timing, device=result.device)

    def _cached(self, item: Item, fp: str) -> Result | None:
        return self._lookup(item.id, fp, units=False)

    def _lookup(self, task_id: str, fp: str, units: bool) -> Result | None:
        """The stored result of this computation (an item's, or with `units` a unit's), if trusted."""
        store = self.store.units if units else self.store
        folder = "units" if units else "items"
        result = store.load_result(task_id, verify=False)
        if result is None and (why := store.unreadable_result(task_id)):
            self.on_event("log", item=task_id, message=words.result_not_trusted(why))
        if result and result.is_current(fp):
            altered = store.altered_file(task_id, result)
            if altered is None:
                return result
            # Never trust it, never hide it: say which file broke, then recompute.
            where = f"{folder}/{task_id}/{altered}"
            self.on_event("log", item=task_id, message=words.result_altered(where))
        # Another run folder may hold the very same computation: copy it rather than retrain.
        other = self._other_run_with(task_id, fp, units)
        if other is not None:
            source = RunStore(self.store.root, other)
            source = source.units if units else source
            store.import_item(task_id, source.item_dir(task_id))
            self.on_event("log", item=task_id, message=words.reused_from(other))
            return store.load_result(task_id)
        return None

    def _own_cache(self, item_id: str, fp: str) -> bool:
        """This run holds the item's result for fingerprint `fp`, every file as it was written."""
        result = self.store.load_result(item_id, verify=False)
        return bool(result and result.is_current(fp) and self.store.altered_file(item_id, result) is None)

    def _other_run_with(self, task_id: str, fp: str, units: bool = False) -> str | None:
        """The newest other run folder holding the item's (or with `units` the unit's) result for `fp`."""
        for other in reversed(list_runs(self.store.root)):
            if other == self.store.run_id:
                continue
            source = RunStore(self.store.root, other)
            source = source.units if units else source
            result = source.load_result(task_id)
            if result and result.is_current(fp):
                return other
        return None
