"""Issue 21's fault campaign, re-runnable: each numbered failure provoked again, as a user would meet it.

    python -m benchmarks.fault_campaign [--only 5,7]

Every check drives the real command line in a fresh process (or, where a fault cannot be
typed, the function it broke) against a scratch reports root, and says PASS or FAIL with
what it saw; the last line counts them. A full disk and a read-only folder are real where
the machine allows a mount (root: a small tmpfs, a read-only bind mount); elsewhere those
checks say SKIP. The regression tests (tests/test_faults.py, tests/run/test_reliability.py)
hold the same points one by one; this is the campaign's view: many faults, one tally.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHECKS: list[tuple[str, str, object]] = []


class Skip(Exception):
    pass


def check(point: str, name: str):
    def register(fn):
        CHECKS.append((point, name, fn))
        return fn
    return register


def harness(*args: str, root: Path | None = None, env: dict | None = None, timeout: int = 900):
    argv = [sys.executable, "-m", "harness", *(["--root", str(root)] if root else []), *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def one_line(proc, says: str, code: int = 2) -> None:
    """Exit `code`, exactly one 'harness: error' line containing `says`, no traceback."""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("harness: error:")]
    assert proc.returncode == code, f"exit {proc.returncode}: {proc.stderr[-300:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-300:]
    assert len(errors) == 1 and says in errors[0], f"errors {errors}"
    assert len(errors[0]) < 500, f"a {len(errors[0])}-character line"


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@contextlib.contextmanager
def mounted(*mount_args: str, target: Path):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        raise Skip("mounting needs root")
    if subprocess.run(["mount", *mount_args, str(target)], capture_output=True).returncode != 0:
        raise Skip(f"mount {' '.join(mount_args)} is not allowed here")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


# -- the campaign ------------------------------------------------------------------------------------

@check("1", "--run latest with latest -> a folder outside the root writes nothing there")
def latest_link_outside(w: Path) -> None:
    root, outside = w / "r1", w / "outside"
    root.mkdir(), outside.mkdir()
    (root / "latest").symlink_to(outside)
    proc = harness("run", "1.1a", "--profile", "smoke", "--run", "latest", root=root)
    one_line(proc, "--run latest: there is no run")
    assert not any(outside.iterdir()), "wrote outside the root"
    from harness.run.store import RunStore, StoreError
    (root / "r").symlink_to(outside)
    with contextlib.suppress(StoreError):
        RunStore(root, "r")
        raise AssertionError("a run folder that is a link was accepted")


@check("2", "--run latest on an empty root makes no folder; a legacy 'latest' folder breaks no run")
def latest_folder(w: Path) -> None:
    root = w / "r2"
    root.mkdir()
    one_line(harness("run", "1.1a", "--profile", "smoke", "--run", "latest", root=root), "there is no run")
    assert not (root / "latest").exists(), "made a folder named latest"
    from harness.run.store import latest_run, set_latest
    (root / "latest").mkdir()
    shutil.copytree(w / "base" / "base", root / "base")
    assert set_latest(root, "base") is False and latest_run(root) == "base"
    assert not [p for p in root.iterdir() if p.name.startswith(".latest-")]


@check("3", "answers that loop 10^9 times or build gigabytes are one line naming the file")
def answers(w: Path) -> None:
    from harness.report.answers import AnswerError, render_answer_text
    for hostile in ("{% for x in range(10**9) %}x{% endfor %}", "{% for a in range(99999) %}{% for b in range(99999) %}"
                    "{% endfor %}{% endfor %}", "{{ 'x' * 10**9 }}", "{{ 'x'|center(10**9) }}", "{{ 10**100000 }}",
                    "{{ ().__class__.__mro__ }}", "{{ 1/0 }}"):
        try:
            render_answer_text(hostile, {}, "answers/es/1.1e.md", "es")
        except AnswerError as exc:
            assert str(exc).startswith("answers/es/1.1e.md") and "\n" not in str(exc), str(exc)
        else:
            raise AssertionError(f"rendered {hostile}")


@check("4", "NaN and infinity are refused by the settings checks; the manifest is standard JSON")
def nan_inf(w: Path) -> None:
    for value in ("vae.learning_rate=nan", "gan.clipvalue=inf"):
        one_line(harness("settings", "--profile", "smoke", "--set", value), "finite number")
    manifest = (w / "base" / "base" / "manifest.json").read_text()
    json.loads(manifest, parse_constant=lambda name: (_ for _ in ()).throw(AssertionError(f"{name} in manifest")))


@check("5", "a full disk fails the item in one line and keeps the old result")
def disk_full(w: Path) -> None:
    disk = w / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=2m", "tmpfs", target=disk):
        shutil.copytree(w / "base" / "base", disk / "base")
        before = tree(disk / "base" / "items")
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        with contextlib.suppress(OSError), open(disk / "filler", "wb") as filler:
            filler.write(b"\0" * max(0, free - (48 << 10)))  # room for the lock and manifest, not the item
        proc = harness("run", "1.1a", "--profile", "smoke", "--run", "base", "--force", root=disk)
        assert "Traceback" not in proc.stderr, proc.stderr[-400:]
        assert proc.returncode in (1, 2) and "No space left on device" in proc.stderr + proc.stdout, proc.stderr[-300:]
        assert tree(disk / "base" / "items") == before, "the old result changed"


@check("6", "a damaged IDX .gz is the one-line data error")
def damaged_gz(w: Path) -> None:
    from harness.data import IDX_FILES
    folder = w / "idx"
    folder.mkdir()
    for name in IDX_FILES.values():
        packed = bytearray(gzip.compress(b"\0\0\x08\x01" + b"\0" * 4000))
        packed[12:20] = b"\xff" * 8
        (folder / name).write_bytes(bytes(packed))
    one_line(harness("data", "--data", str(folder)), "cannot read")


@check("7", "a read-only run folder: run (all cached), list and report --out work, nothing written")
def read_only(w: Path) -> None:
    root = w / "ro"
    shutil.copytree(w / "base", root, symlinks=True)
    before = tree(root)
    with mounted("--bind", str(root), target=root), mounted("-o", "remount,bind,ro", target=root):
        proc = harness("run", "1.1a", "--profile", "smoke", "--run", "base", root=root)
        assert proc.returncode == 0 and "1 cached" in proc.stdout and "Traceback" not in proc.stderr, proc.stderr[-300:]
        assert harness("list", "--runs", root=root).returncode == 0
        report = harness("report", "--run", "base", "--format", "html", "--out", str(w / "ro-out"), root=root)
        assert report.returncode == 0 and (w / "ro-out" / "report.html").exists(), report.stderr[-300:]
        assert serves(root, "base"), "the panel did not answer over the read-only run"
    assert tree(root) == before


def serves(root: Path, run_id: str, wait_s: float = 300) -> bool:
    """`harness serve` over the run answers its first page; stopped after."""
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    panel = subprocess.Popen([sys.executable, "-m", "harness", "--root", str(root), "serve", "--run", run_id,
                              "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + wait_s
        while time.time() < deadline and panel.poll() is None:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    return page.status == 200
            time.sleep(2)
        return False
    finally:
        panel.terminate()
        panel.wait(timeout=60)


@check("8", "a config file that is not UTF-8 is one line; one with a byte-order mark is read")
def config_encoding(w: Path) -> None:
    latin, bom = w / "latin.toml", w / "bom.toml"
    latin.write_bytes('[team]\nmembers = ["José"]\n'.encode("latin-1"))
    bom.write_bytes(b"\xef\xbb\xbf" + '[team]\nmembers = ["José"]\n'.encode())
    one_line(harness("settings", "--config", str(latin)), "is not UTF-8")
    proc = harness("settings", "--config", str(bom))
    assert proc.returncode == 0 and "José" in proc.stdout, proc.stderr[-300:]


@check("9", "a manifest of the wrong shape is rebuilt from the items; list --runs lists the others")
def bad_manifest(w: Path) -> None:
    root = w / "r9"
    for run_id, damage in (("a", "[]"), ("b", '{"items": 5}'), ("c", None)):
        shutil.copytree(w / "base" / "base", root / run_id)
        if damage:
            (root / run_id / "manifest.json").write_text(damage)
    proc = harness("list", "--runs", root=root)
    listed = sorted(line.split()[0] for line in proc.stdout.splitlines())
    assert proc.returncode == 0 and listed == ["a", "b", "c"], f"listed {listed}; {proc.stderr[-300:]}"
    proc = harness("list", "--run", "a", root=root)
    assert proc.returncode == 0 and ["1.1a", "cached"] in [line.split()[:2] for line in proc.stdout.splitlines()], \
        proc.stdout + proc.stderr


@check("10", "serve --port 99999 / -1 / 0 is one line")
def ports(w: Path) -> None:
    for port in ("99999", "-1", "0"):
        one_line(harness("serve", "--port", port, root=w), "is not a port")


@check("11", "an unresolvable --host is said as such, not 'port in use'")
def host(w: Path) -> None:
    one_line(harness("serve", "--host", "no-such-host.invalid", root=w), "can resolve")


@check("12", "a run id with a trailing newline is refused")
def newline_id(w: Path) -> None:
    one_line(harness("list", "--run", "nl\n", root=w / "base"), "bad run id")


@check("13", "CJK and emoji team names embed fonts that hold them (no boxes)")
def fonts(w: Path) -> None:
    from weasyprint import CSS, HTML
    pdf = w / "fonts.pdf"
    HTML(string="<p>王小明 · 김민준 · Zoë 🦊</p>").write_pdf(pdf, stylesheets=[CSS(filename=str(ROOT / "templates" / "report.css"))])
    embedded = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "CJK" in embedded and "Emoji" in embedded, embedded


@check("14", "0.0.0.0 without --auth warns; a 100,000-character value is cut; images in answers are text")
def smaller(w: Path) -> None:
    proc = harness("serve", "--host", "0.0.0.0", "--run", "nope", root=w / "base")
    assert "warning: --host 0.0.0.0" in proc.stderr, proc.stderr
    one_line(harness("settings", "--set", "dataset=" + "x" * 100_000), "100002 characters")
    from harness.report.answers import render_answer_text
    from harness.report.content import render_markdown
    assert "<img" not in render_markdown(render_answer_text("![a](http://127.0.0.1:9/a.png)", {}, "a.md"))


def truncated_copy(w: Path, name: str) -> Path:
    """A copy of the base run whose 1.1a result.json is cut after 50 characters."""
    root = w / name
    shutil.copytree(w / "base", root, symlinks=True)
    result = root / "base" / "items" / "1.1a" / "result.json"
    result.write_text(result.read_text()[:50])
    return root


@check("14", "a truncated result.json is recomputed with a line saying why")
def truncated(w: Path) -> None:
    root = truncated_copy(w, "r14")
    proc = harness("run", "1.1a", "--profile", "smoke", "--run", "base", root=root)
    assert proc.returncode == 0 and "result.json is not valid JSON" in proc.stderr, proc.stderr[-400:]


@check("15", "run 9.9z and list answer without importing tensorflow or keras")
def lazy(w: Path) -> None:
    probe = ("import sys; from harness.cli import main; main(['--root', sys.argv[1], 'run', '9.9z']); "
             "main(['--root', sys.argv[1], 'list']); print([m for m in ('tensorflow', 'keras') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", probe, str(w / "base")], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr[-300:]


@check("16", "two concurrent runs on one run id never interleave; a taken port and a missing run are one line")
def concurrent(w: Path) -> None:
    root = w / "r16"
    argv = [sys.executable, "-m", "harness", "--root", str(root), "run", "1.1a", "--profile", "smoke", "--run", "same"]
    procs = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=900), p.stderr.read()) for p in procs]
    assert all(c == 0 or (c == 2 and "is in use by harness run" in e) for c, e in outcomes), outcomes
    from harness.run.store import RunStore
    assert RunStore(root, "same").load_result("1.1a").ok
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        one_line(harness("serve", "--port", str(taken.getsockname()[1]), root=w / "base"), "is in use")
    one_line(harness("serve", "--run", "nope", "--port", "7997", root=w / "base"), "does not exist")


# -- issue 36's campaign (points 36.N follow its list) ----------------------------------------------

def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if ".tmp-" in p.name or p.name.startswith(".old-"))


@check("36.1", "a report that cannot be written (full --out, read-only run folder) is one line, exit 2, no temp file")
def report_write_fails(w: Path) -> None:
    out = w / "tiny"
    out.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=64k", "tmpfs", target=out):
        with contextlib.suppress(OSError), open(out / "filler", "wb") as filler:
            filler.write(b"\0" * (1 << 20))  # the disk is full before the report starts
        one_line(harness("report", "--run", "base", "--format", "html", "--out", str(out), root=w / "base"), "cannot write")
        assert not leftovers(out) and sorted(p.name for p in out.iterdir()) == ["filler"], list(out.iterdir())
    root = w / "ro36"
    shutil.copytree(w / "base", root, symlinks=True)
    with mounted("--bind", str(root), target=root), mounted("-o", "remount,bind,ro", target=root):
        one_line(harness("report", "--run", "base", "--format", "html", root=root), "--out")
        one_line(harness("run", "1.1a", "--profile", "smoke", "--run", "base", "--force", root=root),
                 "--force cannot recompute into it")


@check("36.2", "a file of a stored result changed in the middle: list says damaged, run recomputes it")
def damaged_file(w: Path) -> None:
    root = w / "r36"
    shutil.copytree(w / "base", root, symlinks=True)
    result = json.loads((root / "base" / "items" / "1.1a" / "result.json").read_text())
    rel = sorted(result["files"])[0]
    target = root / "base" / "items" / "1.1a" / rel
    data = bytearray(target.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = b"\0" * 64
    target.write_bytes(bytes(data))
    listed = harness("list", "--run", "base", root=root)
    assert ["1.1a", "damaged"] in [line.split()[:2] for line in listed.stdout.splitlines()], listed.stdout[:400]
    rerun = harness("run", "1.1a", "--profile", "smoke", "--run", "base", root=root)
    assert rerun.returncode == 0 and "1 cached" not in rerun.stdout, rerun.stdout[-300:]


@check("36.3", "--data /dev/zero and a pipe are refused in one line before anything is read")
def data_device(w: Path) -> None:
    one_line(harness("run", "1.1a", "--profile", "smoke", "--data", "/dev/zero", root=w / "d36", timeout=60),
             "a device or a pipe")
    fifo = w / "fifo"
    os.mkfifo(fifo)
    one_line(harness("data", "--data", str(fifo), timeout=60), "a device or a pipe")


@check("36.5", "a value nested 5,000 deep, in --set or a settings file, is one line")
def nested(w: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    one_line(harness("settings", "--set", f"team.members={deep}"), "nested")
    config = w / "deep.toml"
    config.write_text(f"[team]\nmembers = {deep}\n")
    one_line(harness("settings", "--config", str(config)), "levels deep")


@check("36.7", "a truncated result.json: report says it in one warning line and shows the item as damaged")
def truncated_report(w: Path) -> None:
    root = truncated_copy(w, "r36t")
    proc = harness("report", "--run", "base", "--format", "html", "--out", str(w / "r36t-out"), root=root)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-300:]
    assert sum("damaged" in line for line in proc.stderr.splitlines()) == 1, proc.stderr[-400:]
    page = (w / "r36t-out" / "report.html").read_text()
    assert "_Attr object" not in page and "has no attribute" not in page


@check("36.8", "list into a full stdout exits 2 with one line, no traceback")
def full_stdout(w: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "harness", "--root", str(w / "base"), "list"], cwd=ROOT,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    one_line(proc, "cannot write the output")


@check("36.9", "settings past their bounds, a 2 MiB settings file and --root naming a file are one line each")
def limits(w: Path) -> None:
    one_line(harness("settings", "--set", "vae.epochs=1e23"), "vae.epochs")
    one_line(harness("settings", "--set", "vae.epochs=100000"), "vae.epochs")
    huge = w / "huge.toml"
    huge.write_text('[team]\nmembers = ["' + "x" * (2 << 20) + '"]\n')
    one_line(harness("settings", "--config", str(huge)), "a settings file is a few lines")
    one_line(harness("list", root=Path("/etc/passwd")), "is a file, not a folder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fault_campaign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated points to run, e.g. 5,7")
    opts = parser.parse_args(argv)
    wanted = set(opts.only.split(",")) if opts.only else None
    tally = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    with tempfile.TemporaryDirectory(prefix="fault-campaign-") as scratch:
        work = Path(scratch)
        base = harness("run", "1.1a", "--profile", "smoke", "--run", "base", root=work / "base")
        if base.returncode != 0:
            print(f"setup failed: a smoke run of 1.1a exited {base.returncode}: {base.stderr[-500:]}")
            return 1
        for point, name, fn in CHECKS:
            if wanted and point not in wanted:
                continue
            try:
                fn(work)
                verdict, detail = "PASS", ""
            except Skip as exc:
                verdict, detail = "SKIP", str(exc)
            except Exception as exc:  # noqa: BLE001  a check that breaks is a failure to report, not to stop on
                verdict, detail = "FAIL", f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                if os.environ.get("FAULT_CAMPAIGN_DEBUG"):
                    traceback.print_exc()
            tally[verdict] += 1
            print(f"{verdict}  {point:>2s}  {name}{f'  ({detail})' if detail else ''}", flush=True)
    print(f"fault campaign: {tally['PASS']} passed, {tally['FAIL']} failed, {tally['SKIP']} skipped "
          f"of {sum(tally.values())} checks")
    return 1 if tally["FAIL"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
