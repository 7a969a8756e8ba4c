"""What one worker's shared evaluator saves each unit that scores images (experiments/evaluation/shared.py).

Before, every item or unit a worker computed loaded eval.classifier's model again and wired its
feature extractor again (the test set's embedding was already kept per process); now the
worker's first one builds it and the next ones reuse it. This times, in one process, what a unit
spends getting the evaluator and scoring the profile's n_samples images both ways, alternated
`--repeats` times after one warm-up of each (the steady state of a worker), and prints medians
of wall and CPU seconds and their ratio. With `--count RUN_FOLDER` it also counts, in a finished
run, the evaluator builds its tasks logged.

    python -m benchmarks.evaluator_reuse --run RUN_FOLDER --profile smoke [--repeats 9]
    python -m benchmarks.evaluator_reuse --count RUN_FOLDER
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

from benchmarks.common import median

BUILD_LOG = "evaluator loaded in this process"


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def unit_costs(run: Path, profile: str, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """(wall s, CPU s) of one unit's evaluator work, with a fresh build ('before') and reused ('after')."""
    import harness  # noqa: F401 (the harness's thread defaults, as `harness run` sets them)
    from experiments.evaluation import shared
    from harness.config import load_config
    from harness.context import ItemOutput, Splits
    from harness.data import load_dataset
    from harness.train.evaluation import Evaluator

    config = load_config(profile)
    data = Splits.for_config(load_dataset(config.values.get("dataset", "mnist")), config)
    images = data.x_train[:config.section("eval")["n_samples"]]
    folder = run / "items" / "eval.classifier"
    result = json.loads((folder / "result.json").read_text())

    def output() -> ItemOutput:  # what a worker's task reads: a fresh output, its model not loaded
        return ItemOutput("eval.classifier", folder, result)

    ways = {"before": lambda: Evaluator.from_output(output(), data).score(images),
            "after": lambda: shared.shared_evaluator(output(), data).score(images),
            "build alone (before)": lambda: Evaluator.from_output(output(), data),
            "look-up alone (after)": lambda: shared.shared_evaluator(output(), data)}
    for way in ways.values():
        way()  # warm-up: the test set's embedding, TensorFlow's kernels, the shared evaluator's first build
    costs: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            costs[name].append(timed(way))
    return costs


def logged_builds(run: Path) -> dict[str, int]:
    """The evaluator builds each task of a finished run folder logged (tasks that logged none omitted).
    Before the shared evaluator nothing was logged: every task that scored images built one."""
    builds = {}
    for result_file in sorted((run / "items").glob("*/result.json")) + sorted((run / "units").glob("*/result.json")):
        result = json.loads(result_file.read_text())
        lines = [line.get("en", "") if isinstance(line, dict) else str(line) for line in result.get("log", [])]
        if n := sum(BUILD_LOG in line for line in lines):
            builds[result["id"]] = n
    return builds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="a run folder holding eval.classifier (items/eval.classifier)")
    parser.add_argument("--profile", default="smoke", help="whose n_samples and test set the units score")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow and BLAS threads (0: their defaults). 1 gives CPU seconds that other jobs "
                             "on the cores do not inflate (as benchmarks.split)")
    parser.add_argument("--count", type=Path, action="append", default=[],
                        help="a finished run folder: count the evaluator builds its tasks logged (repeatable)")
    opts = parser.parse_args(argv)
    for run in opts.count:
        builds = logged_builds(run)
        print(f"{run}: {sum(builds.values())} evaluator builds logged, by "
              + (", ".join(f"{task} ({n})" for task, n in builds.items()) or "no task"))
    if opts.run is None:
        return 0
    if opts.threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(opts.threads)
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(opts.threads)
        tf.config.threading.set_inter_op_parallelism_threads(opts.threads)
    load = os.getloadavg()
    costs = unit_costs(opts.run, opts.profile, opts.repeats)
    print(f"profile {opts.profile}, {opts.repeats} repeats, threads {opts.threads or 'default'}; "
          f"load average at start {load[0]:.1f}, at end {os.getloadavg()[0]:.1f}")
    print("| per unit | wall s (median) | CPU s (median) |\n|---|---|---|")
    med = {name: (median([w for w, _ in c]), median([c_ for _, c_ in c])) for name, c in costs.items()}
    for name, (wall, cpu) in med.items():
        print(f"| {name} | {wall:.3f} | {cpu:.3f} |")
    print(f"| after / before | {med['after'][0] / med['before'][0]:.2f} | {med['after'][1] / med['before'][1]:.2f} |")
    print(f"| saved per unit | {med['before'][0] - med['after'][0]:.3f} | {med['before'][1] - med['after'][1]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
