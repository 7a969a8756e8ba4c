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
    assert store.load_result("fast").ok
    assert store.load_result("slow") is None  # the half-written folder is not a result
    assert any(p.name.startswith(".tmp-slow") for p in store.items_dir.iterdir())
    again = start(tmp_path, steps=3)
    out, _ = again.communicate(timeout=120)
    assert "statuses fast=cached slow=ok" in out
    assert not any(p.name.startswith(".tmp-") for p in store.items_dir.iterdir())
    assert not (store.item_dir("slow") / "partial.bin").exists() or store.load_result("slow").ok


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


# -- issue 21: the fault campaign's store and runner failures, one regression test each ------------------

from harness.config import Config  # noqa: E402
from harness.errors import HarnessError, StoreError  # noqa: E402
from harness.registry import Registry  # noqa: E402
from harness.run.runner import Runner  # noqa: E402
from harness.run.store import RunReadOnly, list_runs, resolve_run  # noqa: E402
from tests.conftest import toy_dataset  # noqa: E402

SETTINGS = {"seed": 1, "data": {"n_train": 5, "n_test": 5}, "toy": {"fail": False}}


def toy_registry() -> Registry:
    reg = Registry()

    @reg.item("1.1a", "toy", config=("toy",))
    def toy(ctx):
        if ctx.settings("toy")["fail"]:
            raise ValueError("diverged")
        (ctx.out_dir / "weights.bin").write_bytes(b"w" * 64)
        ctx.metric("value", 1.0)

    return reg


def toy_run(root: Path, run_id: str = "r", fail: bool = False, force: bool = False, events: list | None = None):
    config = Config("smoke", {**SETTINGS, "toy": {"fail": fail}})
    log = (lambda kind, **kw: events.append((kind, kw))) if events is not None else None
    runner = Runner(toy_registry(), config, RunStore(root, run_id), lambda: toy_dataset(), log)
    return runner, runner.run(force=force)


def test_point1_a_run_folder_that_is_a_link_out_of_the_root_is_refused(tmp_path):
    outside, root = tmp_path / "outside", tmp_path / "reports"
    outside.mkdir(), root.mkdir()
    (root / "r").symlink_to(outside)
    with pytest.raises(StoreError, match="not a run folder"):
        RunStore(root, "r")
    (root / "latest").symlink_to(outside)  # what the campaign did: latest -> elsewhere
    assert latest_run(root) is None and list(outside.iterdir()) == []


def test_point2_latest_is_reserved_and_a_legacy_latest_folder_breaks_nothing(tmp_path):
    with pytest.raises(StoreError, match="'latest' is reserved"):
        RunStore(tmp_path, "latest")
    (tmp_path / "latest").mkdir()  # a real folder an older harness made
    toy_run(tmp_path, "r")  # used to end in IsADirectoryError after the work was done
    assert list_runs(tmp_path) == ["r"] and latest_run(tmp_path) == "r"
    assert resolve_run(tmp_path, "latest").run_id == "r"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".latest-")]


def test_point12_a_run_id_with_a_trailing_newline_is_refused(tmp_path):
    with pytest.raises(StoreError, match=r"bad run id 'nl\\n'"):
        RunStore(tmp_path, "nl\n")


def test_point5_a_full_disk_fails_that_item_in_one_line_and_keeps_the_old_result(tmp_path, monkeypatch):
    toy_run(tmp_path)
    good = RunStore(tmp_path, "r").load_result("1.1a")
    import harness.run.store as store_module

    def full(path, obj, standard=False):
        if path.name == "result.json":
            raise OSError(28, "No space left on device")
        return original(path, obj, standard)

    original = store_module.atomic_write_json
    monkeypatch.setattr(store_module, "atomic_write_json", full)
    _, summary = toy_run(tmp_path, force=True)
    outcome = summary.outcomes[0]
    assert outcome.status == "failed" and "No space left on device" in outcome.error and "\n" not in outcome.error
    assert RunStore(tmp_path, "r").load_result("1.1a") == good
    assert not [p for p in RunStore(tmp_path, "r").items_dir.iterdir() if p.name.startswith(".")]


def test_point14_a_setting_that_makes_an_item_fail_keeps_the_last_good_result_and_says_so(tmp_path):
    toy_run(tmp_path)
    good = RunStore(tmp_path, "r").load_result("1.1a")
    _, summary = toy_run(tmp_path, fail=True)
    assert summary.outcomes[0].status == "failed"
    assert "diverged" in summary.outcomes[0].error and "last good result" in summary.outcomes[0].error
    store = RunStore(tmp_path, "r")
    assert store.load_result("1.1a") == good
    assert store.read_manifest()["items"]["1.1a"]["status"] == "failed"


def test_point14_a_truncated_result_is_recomputed_with_a_line_saying_why(tmp_path):
    toy_run(tmp_path)
    path = RunStore(tmp_path, "r").item_dir("1.1a") / "result.json"
    path.write_text(path.read_text()[:40])
    events = []
    _, summary = toy_run(tmp_path, events=events)
    logs = [kw["message"]["en"] for kind, kw in events if kind == "log"]
    assert summary.outcomes[0].status == "ok"
    assert any("result.json is not valid JSON" in m and "recomputing" in m for m in logs), logs


@pytest.mark.parametrize("damage", ["[]", '{"items": 5}', '{"items": {"1.1a": 3}}', "{not json"])
def test_point9_a_damaged_manifest_is_rebuilt_from_the_verified_items(tmp_path, damage, capsys):
    toy_run(tmp_path, "bad")
    toy_run(tmp_path, "good")
    RunStore(tmp_path, "bad").manifest_path.write_text(damage)
    manifest = RunStore(tmp_path, "bad").read_manifest()
    assert manifest["items"]["1.1a"]["status"] == "ok" and "rebuilt" in manifest["rebuilt"]
    assert (tmp_path / "bad" / "manifest.damaged.json").read_text() == damage
    RunStore(tmp_path, "good").manifest_path.write_text(damage)  # list --runs lists every run all the same
    from harness.cli import main

    assert main(["--root", str(tmp_path), "list", "--runs"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == ["bad", "good"] and "rebuilt" in listed[1]


def test_point7_a_read_only_run_folder_answers_when_everything_is_cached(tmp_path, monkeypatch, capsys):
    from harness import cli
    import harness.run.store as store_module

    runner, _ = toy_run(tmp_path)
    real_open = open

    def read_only(path, mode="r", *args, **kwargs):
        if any(m in mode for m in "wa+") and str(path).startswith(str(tmp_path)):
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(store_module, "open", read_only, raising=False)
    with pytest.raises(RunReadOnly, match="cannot be written"):
        runner.run()
    assert cli._run_read_only(runner, None, RunReadOnly("read-only")) == 0
    assert "1 cached" in capsys.readouterr().out
    RunStore(tmp_path, "r").item_dir("1.1a").joinpath("weights.bin").write_bytes(b"changed")
    with pytest.raises(HarnessError, match=r"read-only \(1 item\(s\) to compute: 1.1a\)"):
        cli._run_read_only(runner, None, RunReadOnly("read-only"))


def test_point16_two_concurrent_cli_runs_on_one_run_id_never_interleave(tmp_path):
    args = [sys.executable, "-m", "harness", "--root", str(tmp_path), "run", "1.1a", "--profile", "smoke", "--run", "same"]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for code, err in results:
        assert code == 0 or (code == 2 and "run 'same' is in use by harness run" in err), err
        assert "Traceback" not in err
    assert 0 in [code for code, _ in results]
    store = RunStore(tmp_path, "same")
    assert store.load_result("1.1a").ok  # every file matches the hash its result recorded
    assert not [p for p in store.items_dir.iterdir() if p.name.startswith(".")]
    assert store.read_manifest()["items"]["1.1a"]["status"] in ("ok", "cached") and store.last_repair is None
