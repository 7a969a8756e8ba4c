"""Which ready task a free worker takes first: the one at the head of the longest remaining chain.

With `--jobs N` the run ends when its longest chain of work ends (eval.classifier → 1.1e →
1.1i's units → 1.1i → 1.2h → eval.compare), however many short items sit beside it. So a
ready task's priority is its remaining path: its own estimated seconds plus the longest
estimated path of the tasks that wait on it, directly or not (the critical-path rule of list
scheduling). A short item with nothing after it waits until the chains have started.

The seconds come from what this run folder's root recorded (each task's wall time in the
newest manifest of the same profile that has it) and, for a task never run here, from a
static estimate of its declared work at the profile's settings: the training it does
(VAE epochs × images, GAN steps × batch, the evaluator's epochs × images) at the
single-thread CPU cost per image measured in benchmarks/RESULTS.md. Only the order of the
estimates matters, never their size: a wrong one starts a task early or late, never changes
what it computes.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from harness.config import Config
from harness.registry import Item

# One-thread CPU seconds per training image (benchmarks/RESULTS.md, 2026-11-28 08:15 entry): a VAE
# batch of 100 took 0.309 s, a GAN step of 64 images 0.810 s, an evaluator batch of 64 0.035 s.
SECONDS_PER_IMAGE = {"gan": 0.810 / 64, "vae": 0.309 / 100, "eval": 0.035 / 64}
TASK_SECONDS = 5.0  # what any task costs besides training: start, tracing, scores, figures
# The wall-time estimate printed before a run needs sizes, not only an order: two-core wall seconds per
# training image on the AVX512-BF16 host, the VAE's and the GAN step's rows of benchmarks/RESULTS.md's
# "Where we stand"; the evaluator's scaled from its one-thread figure as the VAE's is. A host without
# native bfloat16 trains in float32 (FLOAT32_SLOWER, from the same file's host comparison).
VAE_IMAGES_PER_S, GAN_STEP_S = 2768, 0.0786
VAE_SPEEDUP = SECONDS_PER_IMAGE["vae"] * VAE_IMAGES_PER_S  # one-thread cost over the two-core one, for the VAE
WALL_SECONDS_PER_IMAGE = {"vae": 1 / VAE_IMAGES_PER_S, "gan": GAN_STEP_S / 64, "eval": SECONDS_PER_IMAGE["eval"] / VAE_SPEEDUP}
FLOAT32_SLOWER = 4.0
TRAINING_SECTIONS = ("gan", "vae", "eval")  # a task that trains is estimated as the first of these it reads


def training_images(section: str, config: Config) -> float:
    """Images one training of this family goes through at these settings."""
    n_train = float(config.values.get("data", {}).get("n_train", 0))
    settings = config.values.get(section, {})
    if section == "gan":
        return float(settings.get("steps", 0)) * float(settings.get("batch_size", 0))
    if section == "vae":
        return float(settings.get("epochs", 0)) * n_train
    return float(settings.get("evaluator_epochs", 0)) * n_train


def static_seconds(sections: Iterable[str], uses_data: bool, config: Config) -> float:
    """A task's estimate from its declaration: one training of the first family among the settings
    sections it reads, if it reads data; building a model on no data costs the fixed part only."""
    sections = set(sections)
    family = next((s for s in TRAINING_SECTIONS if s in sections), None)
    if not uses_data or family is None:
        return TASK_SECONDS
    return TASK_SECONDS + training_images(family, config) * SECONDS_PER_IMAGE[family]


def wall_seconds(sections: Iterable[str], uses_data: bool, config: Config, native_bf16: bool) -> float:
    """A task's wall seconds on a two-core host, from the training it declares (the estimate's figure)."""
    sections = set(sections)
    family = next((s for s in TRAINING_SECTIONS if s in sections), None)
    if not uses_data or family is None:
        return TASK_SECONDS
    per_image = WALL_SECONDS_PER_IMAGE[family] * (1.0 if native_bf16 else FLOAT32_SLOWER)
    return TASK_SECONDS + training_images(family, config) * per_image


def item_wall_seconds(item: Item, config: Config, native_bf16: bool) -> float:
    """wall_seconds for an item: one with units gathers what they trained and trains nothing itself."""
    return TASK_SECONDS if item.units is not None else wall_seconds(item.config, item.uses_data, config, native_bf16)


def item_static_seconds(item: Item, config: Config) -> float:
    """An item with units gathers what they trained: it trains nothing itself."""
    if item.units is not None:
        return TASK_SECONDS
    return static_seconds(item.config, item.uses_data, config)


def recorded_seconds(manifests: Iterable[Mapping[str, Any]], profile: str) -> dict[str, float]:
    """Each task's wall seconds as the newest manifest of this profile recorded them (manifests
    newest first): items by id, units as '<item>.<key>'. A cached entry keeps the time of the run
    that computed it, so it counts too; a failed one does not (it may have stopped early)."""
    seconds: dict[str, float] = {}
    for manifest in manifests:
        if manifest.get("profile") != profile:
            continue
        items = manifest.get("items")
        for item_id, entry in (items.items() if isinstance(items, dict) else ()):
            if not isinstance(entry, dict):
                continue
            rows = [(item_id, entry)] + [(f"{item_id}.{key}", unit) for key, unit in _units(entry)]
            for task_id, row in rows:
                timing = row.get("timing")
                wall = timing.get("wall_s") if isinstance(timing, dict) else None
                if task_id not in seconds and row.get("status") in ("ok", "cached") and isinstance(wall, (int, float)):
                    seconds[task_id] = float(wall)
    return seconds


def _units(entry: Mapping[str, Any]) -> list[tuple[str, Any]]:
    units = entry.get("units")
    return [(key, unit) for key, unit in units.items() if isinstance(unit, dict)] if isinstance(units, dict) else []


def manifests_newest_first(root: Path) -> list[dict[str, Any]]:
    """Every run folder's manifest under root, the newest first. Read as they are, never repaired:
    another run may own that folder, and a manifest that cannot be read only leaves its estimates out."""
    from harness.run.store import list_runs

    manifests = []
    for run_id in reversed(list_runs(root)):
        try:
            manifest = json.loads((Path(root) / run_id / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict):
            manifests.append(manifest)
    return manifests


def remaining_path(waits: Mapping[str, tuple[str, ...]], seconds: Mapping[str, float]) -> dict[str, float]:
    """For each task, its own seconds plus the longest path of seconds through the tasks that wait on it."""
    after: dict[str, list[str]] = {task: [] for task in waits}
    for task, deps in waits.items():
        for dep in deps:
            after.setdefault(dep, []).append(task)
    memo: dict[str, float] = {}

    def path(task: str) -> float:
        if task not in memo:
            memo[task] = seconds.get(task, 0.0) + max((path(nxt) for nxt in after.get(task, ())), default=0.0)
        return memo[task]

    return {task: path(task) for task in waits}


def critical_first(waits: Mapping[str, tuple[str, ...]], seconds: Mapping[str, float],
                   place: Mapping[str, int]) -> Callable[[str], tuple[float, int]]:
    """Sort key for ready tasks: the longest remaining path first, then handout order (`place`)."""
    path = remaining_path(waits, seconds)
    return lambda task: (-path[task], place[task])


def simulated_wall(waits: Mapping[str, tuple[str, ...]], seconds: Mapping[str, float], jobs: int,
                   key: Callable[[str], Any]) -> float:
    """The wall seconds of running `waits`' tasks on `jobs` workers as the runner schedules them: each
    free worker takes the ready task that sorts first by `key`; a task is ready when all it waits on ended."""
    done_at: dict[str, float] = {}
    running: list[tuple[float, str]] = []
    waiting = sorted(waits, key=key)
    now = 0.0
    while waiting or running:
        ready = [t for t in waiting if all(d in done_at or d not in waits for d in waits[t])]
        while ready and len(running) < max(1, jobs):
            task = ready.pop(0)
            waiting.remove(task)
            running.append((now + max(0.0, seconds.get(task, 0.0)), task))
        if not running:  # what is left waits on something that never ends: not a schedule
            break
        running.sort()
        now, task = running.pop(0)
        done_at[task] = now
    return now

