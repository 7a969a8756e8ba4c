"""Several items at once in worker processes (`harness run --jobs N`): same results, same store."""
import json
import os

import pytest

from harness.config import Config
from harness.errors import HarnessError
from harness.run.workers import WorkerPool, auto_jobs, parse_jobs
from harness.registry import Registry
from harness.run.runner import Runner
from harness.run.store import RunStore
from tests.conftest import run_cli
from tests.fixtures.parallel_items import REGISTRY, load_toy


def config(sync_dir, wait_s=60.0, hold_s=0.0):
    return Config("smoke", {"seed": 3, "sync": {"dir": str(sync_dir), "wait_s": wait_s, "hold_s": hold_s}})


def run(root, ids, jobs, cfg, run_id="r"):
    events = []
    runner = Runner(REGISTRY, cfg, RunStore(root, run_id), load_toy, lambda kind, **kw: events.append((kind, kw)), jobs=jobs)
    return runner.run(ids), events


def results(root, run_id="r"):
    folder = root / run_id / "items"
    return {p.name: json.loads((p / "result.json").read_text()) for p in folder.iterdir() if (p / "result.json").exists()}


def test_workers_give_the_results_of_a_run_in_turn(tmp_path):
    (tmp_path / "sync").mkdir()
    ids = ["1.1a", "1.1b"]
    in_turn, _ = run(tmp_path / "one", ids, 1, config(tmp_path / "sync"))
    parallel, events = run(tmp_path / "two", ids, 2, config(tmp_path / "sync"))
    assert [o.status for o in in_turn.outcomes] == [o.status for o in parallel.outcomes] == ["ok", "ok"]
    a, b = results(tmp_path / "one"), results(tmp_path / "two")
    for item_id in ids:
        same = {k: v for k, v in a[item_id]["metrics"].items() if k != "pid"}
        assert same == {k: v for k, v in b[item_id]["metrics"].items() if k != "pid"}
        assert a[item_id]["fingerprint"] == b[item_id]["fingerprint"]
    assert b["1.1b"]["metrics"]["codes_sum"]["value"] == 20  # read 1.1a's array from the run folder
    assert a["1.1a"]["metrics"]["pid"]["value"] == os.getpid() != b["1.1a"]["metrics"]["pid"]["value"]
    # The parent relays the workers' progress and writes the manifest.
    kinds = [kind for kind, _ in events]
    assert kinds.count("start") == 2 and kinds.count("done") == 2
    manifest = json.loads((tmp_path / "two" / "r" / "manifest.json").read_text())
    assert {i: e["status"] for i, e in manifest["items"].items()} == {"1.1a": "ok", "1.1b": "ok"}
    # A second run finds both cached without starting a worker's computation.
    again, events = run(tmp_path / "two", ids, 2, config(tmp_path / "sync"))
    assert [o.status for o in again.outcomes] == ["cached", "cached"]
    assert "start" not in [kind for kind, _ in events]


def test_independent_items_really_run_at_the_same_time(tmp_path):
    # 1.2a and 1.2b each wait for the other to start: only concurrent workers let both finish.
    (tmp_path / "sync").mkdir()
    summary, _ = run(tmp_path, ["1.2a", "1.2b"], 2, config(tmp_path / "sync"))
    assert [o.status for o in summary.outcomes] == ["ok", "ok"]
    pids = {r["metrics"]["pid"]["value"] for r in results(tmp_path).values()}
    assert len(pids) == 2 and os.getpid() not in pids
    # The same two items in turn cannot meet: the check above can fail.
    (tmp_path / "sync2").mkdir()
    summary, _ = run(tmp_path, ["1.2a", "1.2b"], 1, config(tmp_path / "sync2", wait_s=0.5), "in-turn")
    assert summary.outcomes[0].status == "failed" and "never started" in summary.outcomes[0].error


def test_an_item_waiting_for_a_free_worker_is_looked_up_in_the_cache_once(tmp_path):
    # Both workers hold 1.2a and 1.2b for a second while 3.1c, ready, waits its turn.
    runner = Runner(REGISTRY, config(tmp_path, hold_s=1.0), RunStore(tmp_path, "r"), load_toy, jobs=2)
    looked_up = []
    lookup = runner._cached
    runner._cached = lambda item, fp: looked_up.append(item.id) or lookup(item, fp)
    summary = runner.run(["1.2a", "1.2b", "3.1c"])
    assert [o.status for o in summary.outcomes] == ["ok", "ok", "ok"]
    assert sorted(looked_up) == ["1.2a", "1.2b", "3.1c"]


def test_a_failing_item_in_a_worker_skips_its_dependents_only(tmp_path):
    summary, _ = run(tmp_path, ["2.1a", "2.1b", "1.1a"], 2, config(tmp_path))
    status = {o.id: (o.status, o.error) for o in summary.outcomes}
    assert status["2.1a"] == ("failed", "ZeroDivisionError: division by zero")
    assert status["2.1b"][0] == "skipped" and "2.1a" in status["2.1b"][1]
    assert status["1.1a"][0] == "ok"


def test_a_worker_that_dies_fails_its_item_and_the_run_goes_on(tmp_path):
    summary, _ = run(tmp_path, ["3.1a", "3.1b"], 2, config(tmp_path))
    status = {o.id: (o.status, o.error) for o in summary.outcomes}
    assert status["3.1a"][0] == "failed" and "worker process ended abruptly" in status["3.1a"][1]
    assert status["3.1b"][0] == "skipped"
    assert "3.1a" not in results(tmp_path)  # nothing of the dead item is kept as a result
    # The pool replaces its dead worker: the next item gets a fresh one.
    with WorkerPool(1, config(tmp_path), tmp_path, "p", load_toy) as pool:
        pool.submit(REGISTRY.get("3.1a"), "fp-a")
        (ended,) = wait_for(pool)
        assert ended[0] == "3.1a" and ended[1] is None and ended[2] is not None
        pool.submit(REGISTRY.get("3.1c"), "fp-c")
        (ended,) = wait_for(pool)
        assert ended[0] == "3.1c" and ended[1].status == "ok"


def wait_for(pool):
    ended = []
    while pool.running:
        ended += pool.finished(timeout=1.0)
    return ended


DRIVER = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever the test runner set
from harness.config import Config
from harness.run.runner import Runner
from harness.run.store import RunStore
from tests.fixtures.parallel_items import REGISTRY, load_toy
cfg = Config("smoke", {"seed": 3, "sync": {"dir": sys.argv[2], "wait_s": 60.0, "hold_s": 300.0}})
Runner(REGISTRY, cfg, RunStore(sys.argv[1], "r"), load_toy, jobs=2).run(["1.2a", "1.2b"])
"""


def _alive(pid):
    try:
        state = next(l for l in open(f"/proc/{pid}/status") if l.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return "Z" not in state.split()[1]  # a zombie has ended; only its exit status is left


@pytest.mark.parametrize("how", ["killed", "ctrl-c"])
def test_workers_end_with_the_run_that_started_them(tmp_path, how):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    sync = tmp_path / "sync"
    sync.mkdir()
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path), str(sync)], cwd=ROOT,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not all((sync / i).exists() and (sync / i).read_text() for i in ("1.2a", "1.2b")):
            assert time.monotonic() < deadline and driver.poll() is None, "the workers never started"
            time.sleep(0.1)
        workers = [int((sync / i).read_text()) for i in ("1.2a", "1.2b")]
        assert all(_alive(pid) for pid in workers)
        if how == "killed":
            driver.kill()  # SIGKILL: the parent gets no chance to clean up
        else:
            os.killpg(driver.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's whole process group
        driver.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), f"workers outlived their run ({how})"
        assert not (tmp_path / "r" / "items" / "1.2a" / "result.json").exists()
    finally:
        if driver.poll() is None:
            driver.kill()


def test_an_item_a_worker_cannot_receive_is_a_clear_error_before_anything_runs(tmp_path):
    reg = Registry()
    reg.item("1.1a", "local", config=())(lambda ctx: None)
    reg.item("1.1b", "local too", config=())(lambda ctx: None)
    runner = Runner(reg, Config("smoke", {"seed": 1}), RunStore(tmp_path, "r"), load_toy, jobs=2)
    with pytest.raises(HarnessError, match="cannot send item 1.1a to a worker process.*--jobs 1"):
        runner.run()
    assert not (tmp_path / "r" / "items" / "1.1a" / "result.json").exists()


def test_jobs_setting(monkeypatch):
    assert parse_jobs("3") == 3
    for bad, message in (("0", "at least 1"), ("many", "whole number")):
        with pytest.raises(HarnessError, match=message):
            parse_jobs(bad)
    monkeypatch.setattr("harness.run.workers.nvidia_gpus", lambda: 0)
    assert auto_jobs() == 1  # a CPU: one item at a time
    monkeypatch.setattr("harness.run.workers.nvidia_gpus", lambda: 1)
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert auto_jobs() == 4
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert auto_jobs() == 1


def test_cli_runs_the_assignment_items_in_workers(tmp_path):
    proc = run_cli("--root", str(tmp_path), "run", "1.1a", "1.1b", "1.2a", "--profile", "smoke", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert "3 ok" in proc.stdout
    manifest = json.loads((tmp_path / "smoke" / "manifest.json").read_text())
    assert all(manifest["items"][i]["status"] == "ok" for i in ("1.1a", "1.1b", "1.2a"))
    bad = run_cli("--root", str(tmp_path), "run", "1.1a", "--jobs", "zero")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--jobs 'zero'" in bad.stderr

