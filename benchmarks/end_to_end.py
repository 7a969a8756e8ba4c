"""Wall time of the whole job: `harness run --profile P --report` from scratch with its peak RSS, then
`harness report` on a finished run and the latency of the panel's explorers on its saved models.

The explorers are timed in a worker process (benchmarks.workers), so that loading their models
counts against that process alone."""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, progress
from benchmarks.workers import spawn


def wall_times(opts: argparse.Namespace) -> dict[str, Any]:
    """Each --end-to-end profile from scratch, then the report and the explorers on the last run that
    finished (or on a copy of --cached-run). Empty when neither was asked for."""
    measured: dict[str, Any] = {}
    scratch = Path(tempfile.mkdtemp(prefix="inf395-bench-"))
    try:
        cached: tuple[Path, str] | None = None
        for profile in opts.end_to_end:
            reports_root = Path(opts.e2e_root) if opts.e2e_root else scratch / f"e2e-{profile}"
            if opts.e2e_root and (reports_root / f"bench-{profile}").exists():
                raise SystemExit(f"--e2e-root {reports_root}: run 'bench-{profile}' already exists; remove it so "
                                 f"the end-to-end run starts from scratch")
            run = end_to_end(profile, reports_root)
            measured[f"run {profile}"] = run
            if "error" not in run:
                cached = (reports_root, run["run"])
        if opts.cached_run:
            # A copy: the report writes into the run folder, and the user's run stays untouched.
            shutil.copytree(Path(opts.root) / opts.cached_run, scratch / "cached" / opts.cached_run, symlinks=True)
            cached = (scratch / "cached", opts.cached_run)
        if cached:
            measured["report"] = report_time(*cached)
            measured["explorer"] = spawn("explorer", {"n_train": 1, "n_test": 2000, "jobs": [
                {"kind": "explorer", "model": "-", "root": str(cached[0]), "run": cached[1]}]})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return measured


def end_to_end(profile: str, keep_root: Path) -> dict[str, Any]:
    """`harness run --profile P --report` from scratch in a fresh reports root, its wall time and peak RSS
    (a wrapper process reads the RSS of exactly that run from RUSAGE_CHILDREN)."""
    run_id = f"bench-{profile}"
    wrapper = ("import resource, subprocess, sys, time, json\n"
               "t0 = time.perf_counter()\n"
               "rc = subprocess.run(sys.argv[1:]).returncode\n"
               "print('E2E ' + json.dumps({'rc': rc, 'wall_s': time.perf_counter() - t0,\n"
               "      'rss_mib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n")
    cmd = [sys.executable, "-c", wrapper, sys.executable, "-m", "harness", "--root", str(keep_root), "run",
           "--profile", profile, "--run", run_id, "--report"]  # the README's main job: ends with the report
    progress(f"end to end: {' '.join(cmd[3:])}")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    run: dict[str, Any] = {"profile": profile, "run": run_id, "root": str(keep_root)}
    for line in proc.stdout.splitlines():
        if line.startswith("E2E "):
            run.update(json.loads(line[4:]))
    if run.get("rc") != 0:
        run["error"] = " | ".join(proc.stderr.strip().splitlines()[-3:])[-600:]
    return run


def report_time(root: Path, run_id: str) -> dict[str, Any]:
    """Wall time of `harness report --format html,pdf` on a finished run."""
    cmd = [sys.executable, "-m", "harness", "--root", str(root), "report", "--run", run_id, "--format", "html,pdf"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    report: dict[str, Any] = {"wall_s": time.perf_counter() - t0, "rc": proc.returncode}
    if proc.returncode:
        report["error"] = " | ".join(proc.stderr.strip().splitlines()[-3:])[-600:]
    return report


