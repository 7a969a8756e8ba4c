"""Independent items at the same time, one worker process each, for machines with a GPU.

On a GPU the assignment's time is mostly XLA compiling and Python dispatch, both
on the host's CPU cores, while the device idles (benchmarks/RESULTS.md has the
measurements). The items form a graph (1.1i needs 1.1e, which
needs the evaluator), so while 1.1e trains, 1.2d, 1.2a-c and 1.1a-c can run
beside it. Each worker is a separate process: Keras's global state (seeds,
dtype policy, layer names) and TensorFlow's or JAX's runtime are one per
process. A worker that dies (killed for memory, a crash in native code) fails the
items running at that moment; fresh workers take the ones still waiting.

Workers read their inputs from the run folder and write their item there
with the same function as the in-turn runner (harness.run.execute), so a result computed in a
worker is the same file a one-at-a-time run would have written; the parent
alone writes the manifest and prints progress.

On a 2-core CPU this is off (`jobs = 1`): the cores are already busy with one
item's arithmetic and a second process only adds memory.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable

from harness.errors import HarnessError
from harness.train.hardware import import_backend_quietly, nvidia_gpus

# Each process must grow its GPU memory on demand: by default JAX takes 75 % of the
# device at start-up and TensorFlow all of it, so a second worker would find none left.
SHARED_GPU_ENV = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
MAX_AUTO_JOBS = 4
CORES_PER_JOB = 4  # one worker's compiles and host work keep about this many cores busy


def auto_jobs() -> int:
    if nvidia_gpus() == 0:
        return 1
    return max(1, min(MAX_AUTO_JOBS, (os.cpu_count() or 1) // CORES_PER_JOB))


def parse_jobs(value: str) -> int:
    """'auto' or a positive integer, as `harness run --jobs` takes it."""
    if value == "auto":
        return auto_jobs()
    try:
        jobs = int(value)
    except ValueError:
        raise HarnessError(f"--jobs {value!r}: give a whole number of worker processes (like 4) or 'auto'") from None
    if jobs < 1:
        raise HarnessError(f"--jobs {jobs}: at least 1 (1 runs the items one after another)")
    return jobs


def share_gpu_memory() -> None:
    """Let several processes share one GPU; a setting the user made wins."""
    for key, value in SHARED_GPU_ENV.items():
        os.environ.setdefault(key, value)


def check_picklable(what: str, obj: Any) -> None:
    try:
        pickle.dumps(obj)
    except Exception as exc:
        raise HarnessError(f"cannot send {what} to a worker process ({type(exc).__name__}: {exc}); "
                           f"define it at module level or run with --jobs 1") from None


# -- inside a worker process -------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """End this worker once its parent is gone (killed, `timeout`'s SIGTERM): an orphan would
    keep training for nobody, on the GPU or the cores the next run needs."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_worker(config: Any, root: str, run_id: str, loader: Callable[[], Any], events: Any,
                 cancel: Any = None, background: bool = False) -> None:
    # Ctrl-C reaches every process of the terminal's group; the parent alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(os.getppid())
    from harness.run.store import RunStore

    if background:
        _yield_the_cores()
    import_backend_quietly()
    if background:
        _one_compute_thread()
    events.put(("worker", {"pid": os.getpid()}))  # the parent stops its workers by pid, not through the pool's internals
    _WORKER.update(config=config, store=RunStore(root, run_id), loader=loader, dataset=None,
                   on_event=lambda kind, **kw: events.put((kind, kw)), cancel=cancel)


def _yield_the_cores() -> None:
    """A background worker (the panel's re-runs) trains at the lowest priority and on one thread, so the
    process that serves the panel (its explorers decode in it) keeps a core and the CPU's first call."""
    with contextlib.suppress(OSError):
        os.nice(19)
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, "1")


def _one_compute_thread() -> None:
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        with contextlib.suppress(RuntimeError):  # already initialised: the environment above still applies
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)


def _splits() -> Any:
    from harness.context import Splits

    if _WORKER["dataset"] is None:
        _WORKER["dataset"] = _WORKER["loader"]()
    return Splits.for_config(_WORKER["dataset"], _WORKER["config"])


def _run_in_worker(item: Any, fingerprint: str, units: dict[str, str] | None = None) -> Any:
    """One item, executed exactly as the in-turn runner executes it (the parent already ruled out a
    cached result); `units` names its units' folders by key, done before it."""
    import threading

    from harness.run.execute import execute_item

    store = _WORKER["store"]
    inputs = {dep: store.output(dep) for dep in item.needs}
    outputs = None if units is None else {key: store.units.output(unit_id) for key, unit_id in units.items()}
    return execute_item(item, fingerprint, _WORKER["config"], store, inputs, _splits, _WORKER["on_event"],
                        _WORKER["cancel"] or threading.Event(), units=outputs)


def _run_unit_in_worker(task: Any, fingerprint: str) -> Any:
    """One unit of an item (harness.run.units), executed as the in-turn runner executes it."""
    import threading

    from harness.run.execute import execute_unit

    store = _WORKER["store"]
    inputs = {dep: store.output(dep) for dep in task.needs}
    return execute_unit(task, fingerprint, _WORKER["config"], store.units, inputs, _splits, _WORKER["on_event"],
                        _WORKER["cancel"] or threading.Event())


def _terminate_child(pid: int) -> None:
    """SIGTERM to a worker, only if that pid is still one of this process's children."""
    import psutil

    try:
        if psutil.Process(pid).ppid() == os.getpid():
            os.kill(pid, signal.SIGTERM)
    except (psutil.Error, ProcessLookupError):
        pass  # already gone


# -- in the parent -----------------------------------------------------------------------------

class WorkerPool:
    """`jobs` worker processes; items and units go in, outcomes and progress events come out."""

    def __init__(self, jobs: int, config: Any, root: Path, run_id: str, loader: Callable[[], Any],
                 background: bool = False) -> None:
        """`background`: the workers train at the lowest priority on one thread, and a cancel reaches
        the item they are computing (the panel's re-runs, beside its explorers)."""
        check_picklable("the dataset loader", loader)
        self._context = multiprocessing.get_context("spawn")  # never fork a process that holds a GPU runtime
        self._events = self._context.Queue()
        self.jobs = jobs
        self._cancel = self._context.Event()
        self._initargs = (config, str(root), run_id, loader, self._events, self._cancel, background)
        self._pool = self._start()
        self.running: dict[Future, str] = {}
        self._pids: set[int] = set()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.jobs, mp_context=self._context, initializer=_init_worker,
                                   initargs=self._initargs)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._pool.shutdown(wait=True)
            return
        # Interrupted or failed in the parent: stop the workers now; their half-written
        # items stay in temporary folders that no later run trusts.
        self.events()  # collects the pids of workers that started since the last poll
        for pid in self._pids:
            _terminate_child(pid)
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def free(self) -> int:
        return self.jobs - len(self.running)

    def cancel(self) -> None:
        """Stop the items the workers are computing, as the in-process runner's cancel does."""
        self._cancel.set()

    def submit(self, item: Any, fingerprint: str, units: dict[str, str] | None = None) -> None:
        self._submit(item.id, _run_in_worker, item, fingerprint, units)

    def submit_unit(self, task: Any, fingerprint: str) -> None:
        self._submit(task.id, _run_unit_in_worker, task, fingerprint)

    def _submit(self, task_id: str, fn: Callable[..., Any], *args: Any) -> None:
        try:
            future = self._pool.submit(fn, *args)
        except BrokenProcessPool:
            # A worker died (killed for memory, a crash in native code): the items it took
            # down are reported failed; the remaining ones get fresh workers.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            future = self._pool.submit(fn, *args)
        self.running[future] = task_id

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """What the workers said since the last call (progress, logs, item ends), in order."""
        out = []
        while True:
            try:
                kind, kw = self._events.get_nowait()
            except queue.Empty:
                return out
            if kind == "worker":
                self._pids.add(kw["pid"])
            else:
                out.append((kind, kw))

    def finished(self, timeout: float) -> list[tuple[str, Any, BaseException | None]]:
        """(item id, outcome, error) for the items that ended within `timeout` seconds."""
        done, _ = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            item_id = self.running.pop(future)
            try:
                out.append((item_id, future.result(), None))
            except Exception as exc:  # the worker's own machinery failed, not the item
                out.append((item_id, None, exc))
        return out
