"""How long `harness report` takes on a finished run, before and after a change (issue 17: report +
notebook from a cached `full` run in ≤ 15 s on 2 cores).

    python -m benchmarks.report_speed --root ROOT --run RUN [--before CHECKOUT] [--after .] [--repeats 5]

Each side writes `harness report --run RUN --lang es` (html, pdf, notebook) into a scratch folder,
as a user types it (a fresh process), the two checkouts alternated repeat by repeat so a burst of
load from other processes hits both alike. It prints each side's median wall and CPU seconds, the
ratio, and the target. The run folder itself is only read. Nothing here asserts a timing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from benchmarks.cli_startup import wall_time

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="reports root holding --run")
    parser.add_argument("--run", required=True, help="a finished run (e.g. full)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", help="checkout measured as 'before' (omit: time this checkout alone)")
    parser.add_argument("--after", default=str(ROOT), help="checkout measured as 'after' (default this one)")
    opts = parser.parse_args(argv)
    sides = {"after": Path(opts.after).resolve()}
    if opts.before:
        sides = {"before": Path(opts.before).resolve(), **sides}
    walls: dict[str, list[float]] = {side: [] for side in sides}
    cpus: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(opts.repeats + 1):  # round 0 warms the file cache and is not counted
            for side, checkout in sides.items():
                args = ["report", "--run", opts.run, "--lang", "es", "--out", str(Path(scratch) / side)]
                seconds, cpu_s, code = wall_time(checkout, args, Path(opts.root))
                if code:
                    raise SystemExit(f"{side}: harness report exited {code}; run it by hand to see why")
                if repeat:
                    walls[side].append(seconds)
                    cpus[side].append(cpu_s)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"harness report --lang es (html, pdf, notebook) of {opts.run}: median of {opts.repeats} fresh processes "
          f"each, {os.cpu_count()} CPUs ({cpu}), load average at the end {os.getloadavg()[0]:.1f}")
    for side in sides:
        wall = statistics.median(walls[side])
        print(f"{side:7s} wall {wall:6.2f} s (min {min(walls[side]):.2f})  CPU {statistics.median(cpus[side]):6.2f} s  "
              f"target ≤ {TARGET_S:.0f} s {'met' if wall <= TARGET_S else 'NOT met'}")
    if opts.before:
        print(f"ratio before/after (median wall): {statistics.median(walls['before']) / statistics.median(walls['after']):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
