"""The panel's training queue: one worker thread runs one job at a time.

A run folder has one writer (the Runner takes the RunStore lock), so the panel
never starts two jobs at once: later requests wait in a FIFO queue and the UI
shows their position. A CLI run that holds the lock makes the job end with the
lock's one-line message instead of waiting behind it.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.errors import HarnessError

LOG_LINES = 300
FINAL = ("done", "failed", "cancelled", "refused")


@dataclass
class Job:
    id: int
    items: list[str]
    profile: str
    force: bool
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued | running | done | failed | cancelled | refused
    item: str | None = None
    item_started: float | None = None
    done: int = 0
    total: int = 0
    unit: str = ""
    log: list[str] = field(default_factory=list)
    message: str = ""
    outcomes: dict[str, str] = field(default_factory=dict)
    submitted: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds left in the current item, extrapolated from its pace so far."""
        if not self.done or not self.total or self.item_started is None:
            return None
        elapsed = (now or time.time()) - self.item_started
        return elapsed / self.done * (self.total - self.done)

    def add_log(self, line: str) -> None:
        self.log.append(line)
        del self.log[:-LOG_LINES]

    def on_event(self, kind: str, **kw: Any) -> None:
        """The Runner's events, kept as the state the UI polls."""
        item = kw.get("item")
        if kind == "plan":
            self.add_log(f"plan: {' '.join(kw['items'])}")
        elif kind == "start":
            self.item, self.item_started, self.done, self.total, self.unit = item, time.time(), 0, 0, ""
            self.add_log(f"▶ {item} {kw.get('title', '')}")
        elif kind == "progress":
            self.item, self.done, self.total, self.unit = item, kw["done"], kw["total"], kw["unit"]
        elif kind == "log":
            self.add_log(f"  {item}: {kw['message']}")
        elif kind == "skip":
            self.outcomes[item] = "skipped"
            self.add_log(f"- {item} skipped: {kw['reason']}")
        elif kind == "done":
            self.outcomes[item] = kw["status"]
            wall = (kw.get("timing") or {}).get("wall_s")
            took = f" in {wall:.1f} s" if wall is not None and kw["status"] == "ok" else ""
            err = f": {kw['error']}" if kw.get("error") else ""
            self.add_log(f"{'✓' if kw['status'] in ('ok', 'cached') else '✗'} {item} {kw['status']}{took}{err}")


RunJob = Callable[[Job], Any]


class JobQueue:
    """FIFO of jobs and the one thread that runs them."""

    def __init__(self, run_job: RunJob, on_finish: Callable[[Job], None] | None = None) -> None:
        self._run_job = run_job
        self._on_finish = on_finish or (lambda job: None)
        self._pending: deque[Job] = deque()
        self._cv = threading.Condition()
        self._ids = itertools.count(1)
        self.current: Job | None = None
        self.history: list[Job] = []
        self.generation = 0  # bumped when a job ends: the UI refreshes results then
        self._worker = threading.Thread(target=self._loop, name="panel-jobs", daemon=True)
        self._worker.start()

    def submit(self, items: list[str], profile: str, force: bool = False) -> Job:
        job = Job(next(self._ids), list(items), profile, force)
        with self._cv:
            self._pending.append(job)
            self._cv.notify()
        return job

    def position(self, job: Job) -> int:
        """0 while it runs, 1.. while it waits, -1 once it has ended."""
        with self._cv:
            if job is self.current:
                return 0
            for pos, waiting in enumerate(self._pending, start=1):
                if waiting is job:
                    return pos
        return -1

    def waiting(self) -> list[Job]:
        with self._cv:
            return list(self._pending)

    def cancel(self, job_id: int | None = None) -> Job | None:
        """Stop the running job (or drop a queued one); None if there is nothing to cancel."""
        with self._cv:
            target = self.current if job_id is None else next(
                (j for j in [self.current, *self._pending] if j is not None and j.id == job_id), None)
            if target is None or target.final:
                return None
            target.cancel.set()
            if target in self._pending:
                self._pending.remove(target)
                self._finish(target, "cancelled", "cancelled before it started")
        return target

    def job(self, job_id: int) -> Job | None:
        with self._cv:
            return next((j for j in [self.current, *self._pending, *self.history] if j is not None and j.id == job_id), None)

    def last(self) -> Job | None:
        with self._cv:
            return self.current or (self.history[-1] if self.history else None)

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing runs or waits (tests and shutdown use it)."""
        end = time.time() + timeout
        with self._cv:
            while self.current is not None or self._pending:
                left = end - time.time()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.2))
        return True

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._pending:
                    self._cv.wait()
                self.current = job = self._pending.popleft()
                job.state = "running"
            state, message = self._execute(job)
            with self._cv:
                self._finish(job, state, message)
                self.current = None
                self._cv.notify_all()

    def _execute(self, job: Job) -> tuple[str, str]:
        try:
            self._run_job(job)
        except HarnessError as exc:  # e.g. the CLI holds the run's lock: its one line, as the CLI prints it
            return "refused", str(exc)
        except Exception as exc:  # the worker must survive any job
            return "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
        bad = {i: s for i, s in job.outcomes.items() if s not in ("ok", "cached")}
        if job.cancel.is_set() or "cancelled" in bad.values():
            return "cancelled", "cancelled"
        if bad:
            return "failed", ", ".join(f"{i} {s}" for i, s in bad.items())
        return "done", ", ".join(f"{i} {s}" for i, s in job.outcomes.items())

    def _finish(self, job: Job, state: str, message: str) -> None:
        job.state, job.message, job.finished = state, message, time.time()
        job.add_log(f"== {state}: {message}")
        self.history.append(job)
        del self.history[:-50]
        self.generation += 1
        try:
            self._on_finish(job)
        except Exception:  # a refresh hook must not kill the worker
            pass
