"""The makespan a schedule predicts for `harness run --jobs N`, from a finished run's recorded timings.

Wall times on a shared machine move with the other jobs; the order a scheduler chooses does
not. This replays a run's tasks (items and units, with their recorded wall seconds and the
graph of what waits on what) through the runner's rule (a free worker takes the first ready
task in priority order) with each priority rule and prints the time the last task would end:

- `dependents`: the rule before (the most tasks waiting on it, directly or not, first);
- `static`: the longest remaining path by the declared-work estimate (a root with no earlier run);
- `recorded`: the longest remaining path by these recorded seconds (a root with an earlier run).

    python -m benchmarks.schedule RUN_FOLDER [--jobs 1 2 4]
"""
from __future__ import annotations

import argparse
import heapq
import json
import sys
from pathlib import Path
from typing import Callable, Mapping


def dependents_first(waits: Mapping[str, tuple[str, ...]], place: Mapping[str, int]) -> Callable[[str], tuple]:
    """The rule before: the task more others wait on (directly or not) first, then handout order."""
    after: dict[str, set[str]] = {task: set() for task in waits}
    for task, deps in waits.items():
        for dep in deps:
            after[dep].add(task)
    memo: dict[str, set[str]] = {}

    def reach(task: str) -> set[str]:
        if task not in memo:
            memo[task] = set().union(*({nxt} | reach(nxt) for nxt in after[task])) if after[task] else set()
        return memo[task]

    return lambda task: (-len(reach(task)), place[task])


def makespan(waits: Mapping[str, tuple[str, ...]], seconds: Mapping[str, float], key: Callable[[str], tuple],
             jobs: int) -> tuple[float, list[str]]:
    """When the last task ends if `jobs` workers take ready tasks in `key` order; and the start order."""
    waiting, done, running, clock, started = sorted(waits, key=key), set(), [], 0.0, []
    while waiting or running:
        for task in [t for t in waiting if all(d in done for d in waits[t])]:
            if len(running) == jobs:
                break
            waiting.remove(task)
            started.append(task)
            heapq.heappush(running, (clock + seconds[task], task))
        clock, task = heapq.heappop(running)
        done.add(task)
    return clock, started


def tasks_of(run: Path) -> tuple[dict[str, tuple[str, ...]], dict[str, float], dict[str, int], str, dict]:
    """The run's graph (task: what it waits on), recorded wall seconds, handout places, profile, settings."""
    from harness.registry import discover

    registry = discover()
    manifest = json.loads((run / "manifest.json").read_text())
    order = registry.closure(list(manifest["items"]))
    waits, seconds, place = {}, {}, {}
    for item_id in order:
        entry, item = manifest["items"][item_id], registry.get(item_id)
        units = {f"{item_id}.{key}": unit for key, unit in (entry.get("units") or {}).items()}
        waits[item_id] = tuple(item.needs) + tuple(units)
        seconds[item_id] = entry["timing"]["wall_s"]
        for unit_id, unit in units.items():
            waits[unit_id], seconds[unit_id] = tuple(item.units.needs), unit["timing"]["wall_s"]
            place[unit_id] = order.index(item_id)
        place[item_id] = order.index(item_id)
    return waits, seconds, place, manifest["profile"], manifest["config"]


def static_estimates(run: Path, waits: Mapping[str, tuple[str, ...]], profile: str, values: dict) -> dict[str, float]:
    """What the runner would estimate for each task of this run with no earlier run in its root."""
    from harness.config import Config
    from harness.registry import discover
    from harness.run.schedule import item_static_seconds, static_seconds
    from harness.run.units import UnitTask

    registry, config = discover(), Config(profile, values)
    manifest = json.loads((run / "manifest.json").read_text())
    estimates = {}
    for item_id, entry in manifest["items"].items():
        item = registry.get(item_id)
        estimates[item_id] = item_static_seconds(item, config)
        for key, unit in (entry.get("units") or {}).items():
            task = UnitTask(item, key, unit.get("params") or {})
            estimates[task.id] = static_seconds(task.sections(config), item.uses_data, config)
    return {task_id: estimates[task_id] for task_id in waits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a finished run folder (its manifest.json has every task's wall_s)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    opts = parser.parse_args(argv)
    from harness.run.schedule import critical_first, remaining_path

    waits, seconds, place, profile, values = tasks_of(opts.run)
    rules = {"dependents": dependents_first(waits, place),
             "static": critical_first(waits, static_estimates(opts.run, waits, profile, values), place),
             "recorded": critical_first(waits, seconds, place)}
    print(f"{opts.run}: profile {profile}, {len(waits)} tasks, {sum(seconds.values()):.1f} s of recorded work")
    # No order beats the longest chain, nor the work shared evenly among the workers.
    chain = max(remaining_path(waits, seconds).values())
    print("| jobs | " + " | ".join(f"{name} (s)" for name in rules) + " | recorded / dependents | lower bound (s) |")
    print("|---" * (len(rules) + 3) + "|")
    for jobs in opts.jobs:
        spans = {name: makespan(waits, seconds, key, jobs)[0] for name, key in rules.items()}
        print(f"| {jobs} | " + " | ".join(f"{s:.1f}" for s in spans.values())
              + f" | {spans['recorded'] / spans['dependents']:.2f} | {max(chain, sum(seconds.values()) / jobs):.1f} |")
    for name, key in rules.items():
        print(f"{name}, 2 jobs, start order: {' '.join(makespan(waits, seconds, key, 2)[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
