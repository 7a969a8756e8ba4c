"""End to end."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, one_line, progress


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
    res: dict[str, Any] = {"profile": profile, "run": run_id, "root": str(keep_root)}
    for line in proc.stdout.splitlines():
        if line.startswith("E2E "):
            res.update(json.loads(line[4:]))
    if res.get("rc") != 0:
        res["error"] = " | ".join(proc.stderr.strip().splitlines()[-3:])[-600:]
    return res


def report_time(root: Path, run_id: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "harness", "--root", str(root), "report", "--run", run_id, "--format", "html,pdf"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    res = {"wall_s": time.perf_counter() - t0, "rc": proc.returncode}
    if proc.returncode:
        res["error"] = " | ".join(proc.stderr.strip().splitlines()[-3:])[-600:]
    return res


def explorer_latency(root: str, run_id: str, x, xt) -> dict[str, Any]:
    """The panel's explorers (harness/panel_explore.py), if present: load time, then the median
    latency of one update (decode a latent point / generate from a noise point), as a slider move."""
    import numpy as np

    try:
        from harness.panel.explore import GanExplorer, VaeExplorer
        from harness.registry import discover
        from harness.run.store import resolve_run
    except ImportError as e:
        return {"skipped": f"no explorer to measure ({e})"}
    discover()  # imports experiments/: the saved models' custom classes register on import, as in the panel
    store = resolve_run(root, run_id)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for name, explorer, update in (
            ("vae_decode", VaeExplorer(store, lambda: (xt, np.zeros(len(xt), "int64"))),
             lambda e: e.decode(*rng.uniform(-2, 2, 2))),
            ("gan_from_noise", GanExplorer(store, lambda: "uniform"), lambda e: e.from_noise(*rng.uniform(-1, 1, 2)))):
        try:
            t0 = time.perf_counter()
            explorer.ensure()
            load_s = time.perf_counter() - t0
            update(explorer)
            ms = []
            for _ in range(30):
                t0 = time.perf_counter()
                update(explorer)
                ms.append(1000 * (time.perf_counter() - t0))
            out[name] = {"load_s": load_s, "ms": ms}
        except Exception as e:  # an item not run in that folder: say so, measure the rest
            out[name] = {"skipped": f"{type(e).__name__}: {one_line(str(e), 200)}"}
    return out
