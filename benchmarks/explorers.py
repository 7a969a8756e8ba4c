"""The panel's explorers timed as a slider moves them (benchmarks.workers runs it in its 'explorer' job).

Its own module: benchmarks.end_to_end spawns the workers, and the workers run this, so the two
would otherwise import each other."""
from __future__ import annotations

import time
from typing import Any

from benchmarks.common import one_line


def explorer_latency(root: str, run_id: str, x, xt) -> dict[str, Any]:
    """The panel's explorers (harness.panel.explore), if present: load time, then the median
    latency of one update (decode a latent point / generate from a noise point), as a slider move.
    Runs inside a worker process, as its 'explorer' job."""
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
    latencies: dict[str, Any] = {}
    for name, explorer, update in (
            ("vae_decode", VaeExplorer(store, lambda: (xt, np.zeros(len(xt), "int64"))),
             lambda e: e.decode(*rng.uniform(-2, 2, 2))),
            ("gan_from_noise", GanExplorer(store, lambda: "uniform"), lambda e: e.from_noise(*rng.uniform(-1, 1, 2)))):
        try:
            t0 = time.perf_counter()
            explorer.ensure()
            load_s = time.perf_counter() - t0
            update(explorer)  # the first update traces; a slider's later moves are what is timed
            update_ms = []
            for _ in range(30):
                t0 = time.perf_counter()
                update(explorer)
                update_ms.append(1000 * (time.perf_counter() - t0))
            latencies[name] = {"load_s": load_s, "ms": update_ms}
        except Exception as e:  # an item not run in that folder: say so, measure the rest
            latencies[name] = {"skipped": f"{type(e).__name__}: {one_line(str(e), 200)}"}
    return latencies
