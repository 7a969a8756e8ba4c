"""The panel's training queue: one worker thread runs one job at a time.

A run folder has one writer (the Runner takes the RunStore lock), so the panel
never starts two jobs at once: later requests wait in a FIFO queue and the UI
shows their position. A CLI run that holds the lock makes the job end with the
lock's one-line message instead of waiting behind it.

A job belongs to the browser session that submitted it (`owner`): only that session may
cancel it. Cancel is honest: the job ends "cancelled" only if an item was stopped before its
result was saved; if every item had finished (and saved) first, it ends "finished_first".
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.errors import HarnessError
from harness.report import content
from harness.locale import LANGS, seconds
from harness.run import words as run_words
from harness.words import words

W = words(__file__)

LOG_LINES = 300
# An item's outcome in the job's log, in each language (the runner's statuses are English ids).
STATUS_WORDS = W.table("status_words")
FINAL = ("done", "failed", "cancelled", "finished_first", "refused")


@dataclass
class Job:
    id: int
    items: list[str]
    profile: str
    force: bool
    owner: str = ""  # the browser session that submitted it
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued | running | one of FINAL
    item: str | None = None
    phase: str = ""  # what the current item does now (harness.context.PHASES)
    item_started: float | None = None
    done: int = 0
    total: int = 0
    unit: str = ""
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (strings key, its fields): any language
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

    def add_log(self, key: str, **fields: Any) -> None:
        """One line of the job's log, kept as a strings key and its fields: the panel writes it in
        whichever language it shows when it is read, not the one it had when the line was made."""
        self.log.append((key, fields))
        del self.log[:-LOG_LINES]

    def log_text(self, s: dict[str, str], lang: str, label: Callable[[str], str] = str) -> str:
        """The log in `lang`; `label` names an item as the page does (1.1e, E1), the log keeps its id."""
        def word(k: str, v: Any) -> str:
            if k == "item":
                return label(v)
            if k == "items":
                return " ".join(label(i) for i in v.split())
            return (v.get(lang) or v.get("en", "")) if isinstance(v, dict) else str(v)
        return "\n".join(s[key].format(**{k: word(k, v) for k, v in fields.items()}) for key, fields in self.log)

    def on_event(self, kind: str, **kw: Any) -> None:
        """The Runner's events, kept as the state the UI polls."""
        item = kw.get("item")
        if kind == "plan":
            self.add_log("panel_log_plan", items=" ".join(kw["items"]))
        elif kind == "start":
            self.item, self.item_started, self.done, self.total, self.unit = item, time.time(), 0, 0, ""
            self.phase = "work"
            self.add_log("panel_log_start", item=item)
        elif kind == "phase":
            self.item, self.phase = item, kw["phase"]
        elif kind == "progress":
            self.item, self.done, self.total, self.unit, self.phase = item, kw["done"], kw["total"], kw["unit"], "train"
        elif kind == "log":
            self.add_log("panel_log_message", item=item, message=kw["message"])
        elif kind == "skip":
            self.outcomes[item] = "skipped"
            self.add_log("panel_log_skipped", item=item, reason=kw.get("words") or kw["reason"])
        elif kind == "done":
            self.outcomes[item] = kw["status"]
            wall = (kw.get("timing") or {}).get("wall_s")
            ok = kw["status"] in ("ok", "cached")
            took = W.fill("took", seconds={lang: seconds(wall, 1, lang) for lang in LANGS}) \
                if wall is not None and kw["status"] == "ok" else ""
            error = kw.get("words") or (run_words.program_message(kw["error"]) if kw.get("error") else None)
            self.add_log("panel_log_done", mark="✓" if ok else "✗", item=item, status=STATUS_WORDS.get(kw["status"], kw["status"]),
                         took=took, error={lg: f": {t}" for lg, t in error.items()} if error else "")


def _final_words(job: Job) -> dict[str, str] | str:
    """The job's last log line in each language: every item's outcome, what a cancel had saved
    (item ids), or the harness's own one line (a lock held by the CLI, a crash) under a lead."""
    if job.state in ("done", "failed", "finished_first") and job.outcomes:
        return {lg: ", ".join(f"{i} {STATUS_WORDS.get(st, {}).get(lg, st)}" for i, st in job.outcomes.items())
                for lg in LANGS}
    if job.state in ("refused", "failed") and job.message:
        return run_words.program_message(job.message)
    return job.message


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

    def submit(self, items: list[str], profile: str, force: bool = False, owner: str = "") -> Job:
        job = Job(next(self._ids), list(items), profile, force, owner)
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

    def active(self) -> list[Job]:
        """The running job and the waiting ones, in the order they will run."""
        with self._cv:
            return [j for j in [self.current, *self._pending] if j is not None]

    def cancel(self, job_id: int | None = None, owner: str | None = None) -> Job | None:
        """Stop the running job (or drop a queued one); None if there is nothing to cancel.

        With `owner`, only that session's jobs are candidates; the caller says so when another
        session's job is the one training.
        """
        with self._cv:
            candidates = [j for j in self.active() if owner is None or j.owner == owner]
            if job_id is not None:
                target = next((j for j in candidates if j.id == job_id), None)
            elif owner is None:
                target = self.current
            else:  # the session's job that runs, else its first waiting one
                target = candidates[0] if candidates else None
            if target is None or target.final:
                return None
            target.cancel.set()
            if target in self._pending:
                self._pending.remove(target)
                self._finish(target, "cancelled", "")  # nothing had started, nothing saved
        return target

    def job(self, job_id: int) -> Job | None:
        with self._cv:
            return next((j for j in [self.current, *self._pending, *self.history] if j is not None and j.id == job_id), None)

    def last(self, owner: str | None = None) -> Job | None:
        """The job to show: the running one, else the latest ended. With `owner`, that session's
        own job first (running or waiting, else its latest ended), so its outcome stays on screen."""
        with self._cv:
            if owner is not None:
                own_active = [j for j in self.active() if j.owner == owner]
                own_ended = [j for j in self.history if j.owner == owner]
                if own_active or own_ended:
                    return (own_active or own_ended[-1:])[0]
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
            summary = self._run_job(job)
        except HarnessError as exc:  # e.g. the CLI holds the run's lock: its one line, as the CLI prints it
            return "refused", str(exc)
        except Exception as exc:  # the worker must survive any job
            return "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
        # The runner's summary also names items a cancel stopped before they started (no event says so).
        for outcome in getattr(summary, "outcomes", None) or []:
            job.outcomes[outcome.id] = outcome.status
        bad = {i: s for i, s in job.outcomes.items() if s not in ("ok", "cached")}
        if "cancelled" in bad.values():
            saved = [i for i, s in job.outcomes.items() if s == "ok"]
            return "cancelled", ", ".join(saved)  # what was saved before the cancel, if anything
        if job.cancel.is_set() and not bad:  # asked too late: every item had finished and saved
            return "finished_first", ", ".join(f"{i} {s}" for i, s in job.outcomes.items())
        if bad:
            return "failed", ", ".join(f"{i} {s}" for i, s in bad.items())
        return "done", ", ".join(f"{i} {s}" for i, s in job.outcomes.items())

    def _finish(self, job: Job, state: str, message: str) -> None:
        job.state, job.message, job.finished = state, message, time.time()
        job.add_log("panel_log_final", state={lg: content.strings(lg).get(f"panel_job_{state}", state) for lg in LANGS},
                    message=_final_words(job))
        self.history.append(job)
        del self.history[:-50]
        self.generation += 1
        try:
            self._on_finish(job)
        except Exception:  # a refresh hook must not kill the worker
            pass
