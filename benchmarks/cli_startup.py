"""How fast the CLI says no (issue 21, point 15): wall time of commands that need no training.

    python -m benchmarks.cli_startup [--repeats 5] [--before /work/main] [--after .]

Each command runs as a user types it (`python -m harness ...`, a fresh process) in each
checkout, the two checkouts alternated repeat by repeat so a burst of load from other
processes hits both alike; it prints the median wall time of each, and their ratio. The
first, untimed round lets the after-side keep its item catalogue (harness.run.catalogue), as any
earlier command would have. Nothing here asserts a timing: the numbers are printed, and
the ≤ 1 s target of the issue compared and said.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.0  # issue 21: `harness run 9.9z` and `harness list` within a second on 2 cores
COMMANDS = {
    "run 9.9z": ["run", "9.9z"],
    "list": ["list"],
    "settings": ["settings", "--profile", "smoke"],
    "--help": ["--help"],
}


def wall_time(checkout: Path, args: list[str], root: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system, which a busy machine inflates far less) and exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness", "--root", str(root), *args], cwd=checkout,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(checkout)})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cli_startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", default="/work/main", help="checkout measured as 'before' (default /work/main)")
    parser.add_argument("--after", default=str(ROOT), help="checkout measured as 'after' (default this one)")
    opts = parser.parse_args(argv)
    sides = {"before": Path(opts.before).resolve(), "after": Path(opts.after).resolve()}
    times: dict[tuple[str, str], list[float]] = {}
    cpu_times: dict[tuple[str, str], list[float]] = {}
    codes: dict[tuple[str, str], set[int]] = {}
    with tempfile.TemporaryDirectory() as root:
        for side, checkout in sides.items():  # warm-up: file cache, and the after-side's catalogue
            for args in COMMANDS.values():
                wall_time(checkout, args, Path(root))
        for _ in range(opts.repeats):
            for name, args in COMMANDS.items():
                for side, checkout in sides.items():
                    seconds, cpu_s, code = wall_time(checkout, args, Path(root))
                    times.setdefault((name, side), []).append(seconds)
                    cpu_times.setdefault((name, side), []).append(cpu_s)
                    codes.setdefault((name, side), set()).add(code)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"CLI start-up, median wall of {opts.repeats} fresh processes each, {os.cpu_count()} CPUs ({cpu}), "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':12s} {'before':>9s} {'after':>9s} {'ratio':>7s}  {'cpu before':>10s} {'cpu after':>9s}  "
          f"exit codes  target (wall)")
    for name in COMMANDS:
        before, after = (statistics.median(times[(name, side)]) for side in sides)
        cpu_before, cpu_after = (statistics.median(cpu_times[(name, side)]) for side in sides)
        target = f"≤ {TARGET_S:.0f} s {'met' if after <= TARGET_S else 'NOT met'}" if name in ("run 9.9z", "list") else ""
        exits = f"{sorted(codes[(name, 'before')])}/{sorted(codes[(name, 'after')])}"
        print(f"{name:12s} {before:8.2f}s {after:8.2f}s {before / after:6.1f}x  {cpu_before:9.2f}s {cpu_after:8.2f}s  "
              f"{exits:10s}  {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
