"""Kill -9 mid-item, one writer per run, stale locks, clean: nothing finished is lost, nothing half-done trusted."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.run.store import RunLocked, RunStore, clean_runs, latest_run, set_latest
from tests.conftest import ROOT, run_cli


def start(root: Path, steps: int, run_id: str = "r") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.run.killable_run", str(root), run_id, str(steps)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(proc: subprocess.Popen, text: str, timeout: float = 60) -> list[str]:
    lines, deadline = [], time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"never saw {text!r}; got {lines}")


def test_kill_9_during_an_item_keeps_finished_items_and_trusts_no_partial_artifact(tmp_path):
    proc = start(tmp_path, steps=400)
    wait_for(proc, "progress slow")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = RunStore(tmp_path, "r")
    assert store.load_result("fast")["status"] == "ok"
    assert store.load_result("slow") is None  # the half-written folder is not a result
    assert any(p.name.startswith(".tmp-slow") for p in store.items_dir.iterdir())
    again = start(tmp_path, steps=3)
    out, _ = again.communicate(timeout=120)
    assert "statuses fast=cached slow=ok" in out
    assert not any(p.name.startswith(".tmp-") for p in store.items_dir.iterdir())
    assert not (store.item_dir("slow") / "partial.bin").exists() or store.load_result("slow")["status"] == "ok"


def test_one_writer_per_run_and_a_killed_writers_lock_is_released(tmp_path):
    holder = start(tmp_path, steps=2000)
    wait_for(holder, "progress slow")
    store = RunStore(tmp_path, "r")
    assert store.is_locked()
    with pytest.raises(RunLocked, match="run 'r' is in use by harness run \\(pid \\d+"):
        with store.lock():
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert not store.is_locked()  # the OS dropped the dead process's lock
    with store.lock():
        assert store.is_locked()


def test_second_cli_run_on_a_locked_run_exits_2_with_one_line(tmp_path):
    holder = start(tmp_path, steps=2000, run_id="smoke")
    wait_for(holder, "progress slow")
    try:
        proc = run_cli("--root", str(tmp_path), "run", "1.1a", "--profile", "smoke", timeout=300)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("harness:")]
    assert len(errors) == 1 and "in use by harness run" in errors[0], proc.stderr


def test_clean_keeps_latest_and_locked_runs(tmp_path):
    for i, run_id in enumerate(["old", "locked", "mid", "new"]):
        store = RunStore(tmp_path, run_id)
        store.write_manifest({"run_id": run_id})
        os.utime(store.manifest_path, (1000 + i, 1000 + i))
    set_latest(tmp_path, "mid")  # latest is the one last written to, not the newest by time
    with RunStore(tmp_path, "locked").lock():
        removed, locked = clean_runs(tmp_path, keep=1)
    assert removed == ["old"] and locked == ["locked"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink()) == ["locked", "mid", "new"]
    assert latest_run(tmp_path) == "mid"


def test_report_on_a_missing_run_is_one_line(tmp_path):
    proc = run_cli("--root", str(tmp_path), "report", "--run", "nope")
    assert proc.returncode == 2 and "run 'nope' does not exist" in proc.stderr and "Traceback" not in proc.stderr
