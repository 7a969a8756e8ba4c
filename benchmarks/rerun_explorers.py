"""The explorers while a re-run trains: a slider's decode timed in the panel's process, idle and
while the panel trains an item, with the re-run in this process (before) and in a background
worker (the panel's way now: lowest priority, one thread).

    python -m benchmarks.rerun_explorers --root ROOT --run RUN [--item 1.2d] [--moves 40]

Prints the median and p90 of each case and the ratios against idle, all measured in this run.
The run must hold 1.1e's VAE (the VAE explorer) and ITEM's results.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def latencies(panel, moves: int, busy: threading.Event | None = None) -> list[float]:
    import numpy as np

    rng = np.random.default_rng(0)
    out = []
    while len(out) < moves and (busy is None or busy.is_set()):
        z1, z2 = rng.uniform(-2, 2, 2)
        t0 = time.perf_counter()
        panel.vae.decode(float(z1), float(z2))
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.05)  # a hand on a slider: about 20 moves a second
    return out


def under_rerun(panel, item: str, moves: int, background: bool) -> list[float]:
    """Decode latencies while `item` is recomputed (forced) by the panel's queue."""
    panel.background = background
    job = panel.submit([item], force=True, owner="bench")
    while job.phase != "train" and not job.final:
        time.sleep(0.1)
    busy = threading.Event()
    busy.set()
    threading.Thread(target=lambda: (panel.jobs.wait_idle(3600), busy.clear()), daemon=True).start()
    got = latencies(panel, moves, busy)
    panel.jobs.wait_idle(3600)
    return got


def summary(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rerun_explorers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--item", default="1.2d")
    parser.add_argument("--moves", type=int, default=40)
    opts = parser.parse_args(argv)
    from harness.panel.state import Panel

    panel = Panel(Path(opts.root), opts.run)
    panel.vae.ensure()
    latencies(panel, 5)  # the first decodes trace
    rows = {"idle": latencies(panel, opts.moves)}
    rows["re-run in this process (before)"] = under_rerun(panel, opts.item, opts.moves, background=False)
    rows["re-run in a background worker (now)"] = under_rerun(panel, opts.item, opts.moves, background=True)
    idle_median, idle_p90 = summary(rows["idle"])
    for name, ms in rows.items():
        median, p90 = summary(ms)
        print(f"{name:38s} n={len(ms):3d}  median {median:7.1f} ms  p90 {p90:7.1f} ms  "
              f"(× idle: {median / idle_median:4.1f}, {p90 / idle_p90:4.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
