"""What the panel shows and does, as plain functions of a run: tests call these directly.

`harness/panel.py` only wires them to Gradio components. Everything read about
the run comes from the content model (harness.report.content.build), the same one the
report uses; training goes through the Runner in the JobQueue's worker thread.
"""
from __future__ import annotations

import html
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness.report import content
from harness.config import IDENTITY, Config, load_config, load_profiles
from harness.report.content import RunView, ItemView
from harness.context import Splits
from harness.errors import HarnessError
from harness.locale import seconds
from harness.panel.explore import GanExplorer, VaeExplorer
from harness.panel.jobs import Job, JobQueue
from harness.report.title import team_members
from harness.registry import Registry, discover
from harness.run.runner import Runner
from harness.run.store import RunStore, resolve_run

SECTION_KEYS = (("1.1", "vae"), ("1.2", "gan"), ("eval", "eval"))


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def section_key(view: ItemView) -> str:
    for prefix, key in SECTION_KEYS[:2]:
        if view.section == prefix or view.id.startswith(prefix):
            return key
    return "eval"


# ---------------------------------------------------------------- paths
def safe_file(run_dir: Path, path: str | Path) -> Path:
    """`path` (absolute, or relative to the run folder) if it lies inside the run folder; refuse anything else."""
    base = Path(run_dir).resolve()
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if resolved != base and base not in resolved.parents:
        raise HarnessError(f"refused {path}: the panel serves files from the run folder {base} only")
    if not resolved.is_file():
        raise HarnessError(f"no such file in the run folder: {path}")
    return resolved


# ---------------------------------------------------------------- the panel's state
# The owner of every job the panel queues: one talk per panel, whichever window asked.
TALK = "talk"


class Panel:
    """One run, its content views, its training queue and its explorers."""

    def __init__(self, root: Path, run_id: str | None, registry: Registry | None = None,
                 dataset_loader=None, settings_file: Path | None = None) -> None:
        # Absolute from here on: the content views name files under the reports root, and a
        # relative root ('reports', the CLI's default) would not resolve inside the run folder.
        self.store: RunStore = resolve_run(Path(root).resolve(), run_id)
        self.registry = registry or discover()
        self._dataset_loader = dataset_loader
        self._datasets: dict[str, Any] = {}
        self._data_lock = threading.Lock()
        # Re-runs train in a background worker (Panel.runner); benchmarks/rerun_explorers.py turns it off
        # to measure the panel as it was.
        self.background = True
        self._talk_lock = threading.Lock()
        self._talk: dict[str, Any] = {"version": 0}  # Panel.talk: every window of the talk shares it
        self._views: dict[tuple, RunView] = {}
        self.jobs = JobQueue(self._run_job)
        self.vae = VaeExplorer(self.store, self.test_images, self.registry.showing("vae_explorer"))
        self.gan = GanExplorer(self.store, self.registry.showing("gan_explorer"))
        self.rng = random.SystemRandom()
        self.settings_file = Path(settings_file) if settings_file else None
        self._file_settings = self._read_settings_file()
        self._store_identity()

    # -- config and data --------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.store.dir.resolve()

    def manifest(self) -> dict[str, Any]:
        return self.store.read_manifest()

    def config(self) -> Config:
        """The settings the run was made with, team and course included, at the run's own profile.

        Rebuilt from the profile, then overlaid with the settings the manifest recorded (so a
        `--config` file's team, course and values survive a re-run from the panel), then with
        `serve --config`'s file when one was given.
        """
        manifest = self.manifest()
        fresh = load_config(self.profile, manifest.get("overrides") or {})
        values = overlay(fresh.values, manifest.get("config") or {})
        values = overlay(values, self._file_settings)
        return Config(fresh.profile, values, fresh.overrides)

    @property
    def profile(self) -> str:
        return self.manifest().get("profile", "quick")

    def _read_settings_file(self) -> dict[str, Any]:
        """`serve --config`'s [team], [course] and [talk]. Training settings are not taken: they would
        silently give re-runs other fingerprints than the run's and mark its other items stale."""
        if self.settings_file is None:
            return {}
        load_config(self.profile, user_file=self.settings_file)  # one clear line if the file is wrong
        settings = load_profiles(self.settings_file)
        ignored = sorted(k for k in settings if k not in IDENTITY)
        if ignored:
            print(f"harness: warning: serve --config uses only [team], [course] and [talk]; ignored "
                  f"{', '.join(ignored)} (the run keeps its settings; change them with harness run --config)")
        return {k: v for k, v in settings.items() if k in IDENTITY}

    def _store_identity(self) -> None:
        """`serve --config`'s team and course go into the run at once: the draw and a report use them."""
        identity = {k: v for k, v in self.config().values.items() if k in IDENTITY}
        manifest = self.manifest()
        stored = manifest.get("config") or {}
        if not manifest or all(stored.get(k) == v for k, v in identity.items()):
            return
        try:
            with self.store.lock(holder="harness serve"):
                manifest = self.manifest()
                manifest.setdefault("config", {}).update(identity)
                self.store.write_manifest(manifest)
        except HarnessError as exc:  # a CLI run holds the run: its next write keeps the old team
            print(f"harness: warning: team and course not stored in the run yet: {exc}")

    def dataset(self, name: str) -> Any:
        with self._data_lock:
            if name not in self._datasets:
                if self._dataset_loader is not None:
                    self._datasets[name] = self._dataset_loader(name)
                else:
                    from harness.data import load_dataset

                    self._datasets[name] = load_dataset(name)
            return self._datasets[name]

    def test_images(self) -> tuple[np.ndarray, np.ndarray]:
        config = self.config()
        ds = self.dataset(config.get("dataset"))
        splits = Splits.from_dataset(ds, 1, config.get("data.n_test"))
        return splits.x_test, splits.y_test

    def runner(self, on_event=None, cancel: threading.Event | None = None) -> Runner:
        config = self.config()
        name = config.get("dataset")
        if self._dataset_loader is None:
            # A re-run trains in a worker process at the lowest priority on one thread, so the
            # explorers (they decode in this process) answer while it trains; a partial, as workers need.
            import functools

            from harness.data import load_dataset

            loader = functools.partial(load_dataset, name)
        else:
            loader = lambda: self.dataset(name)  # noqa: E731 -- a test's loader: computed in this process
        return Runner(self.registry, config, self.store, loader, on_event, cancel,
                      command=f"harness serve (panel) --profile {config.profile}", background=self.background)

    # -- content ------------------------------------------------------------
    def view(self, lang: str) -> RunView:
        """The content model, rebuilt only when the manifest changes (a job ended)."""
        try:
            stamp = self.store.manifest_path.stat().st_mtime_ns
        except OSError:
            stamp = 0
        key = (lang, stamp, self.jobs.generation)
        if key not in self._views:
            self._views = {k: v for k, v in self._views.items() if k[0] != lang}
            self._views[key] = content.build(self.store, self.registry, lang)
        return self._views[key]

    def strings(self, lang: str) -> dict[str, str]:
        """The interface strings (templates/strings.toml) in one language."""
        return content.strings(lang)

    # -- items --------------------------------------------------------------
    def statuses(self) -> dict[str, str]:
        """cached / stale / not run / failed per item (stale needs the fingerprints, hence the data)."""
        try:
            return self.runner().status()
        except Exception:  # noqa: BLE001 -- no data or a broken item: fall back to what the run folder says
            view = self.view("en")
            return {i.id: {"ok": "cached"}.get(i.status, i.status) for i in view.items}

    def label(self, item_id: str, lang: str) -> str:
        """What a page calls an item: the handout's number (1.1e), or the report's E1, E2 for the
        items the handout does not number; never the internal id."""
        it = self.view(lang).item(item_id)
        return it.label if it is not None else item_id

    def labels(self, item_ids: list[str], lang: str, sep: str = ", ") -> str:
        return sep.join(self.label(i, lang) for i in item_ids)

    def choices(self, lang: str) -> list[tuple[str, str]]:
        """The Items dropdown: each item's label shown, its id sent."""
        return [(it.label, it.id) for it in self.view(lang).items]

    def missing(self) -> list[str]:
        return [i for i, st in self.statuses().items() if st in ("not run", "failed", "skipped", "cancelled")]

    def status_rows(self, lang: str) -> list[list[str]]:
        s, view, status = self.strings(lang), self.view(lang), self.statuses()
        rows = []
        for it in view.items:
            st = status.get(it.id, it.status)
            checks = it.check_score if it.checks else ""
            wall = it.timing.get("wall_s")
            rows.append([it.label, it.title, status_label(s, st), checks, "" if wall is None else seconds(wall, 1, lang)])
        return rows

    def submit(self, item_ids: list[str], force: bool = False) -> Job:
        """Queue items at the run's own profile and settings: the panel has no other, so a re-run
        never relabels the run or marks its other items stale. The job belongs to the talk: any of
        its windows (a reload, the projector's, the presenter view) follows and cancels it."""
        if not item_ids:
            raise HarnessError("choose an item to run")
        for item_id in item_ids:
            self.registry.get(item_id)
        return self.jobs.submit(item_ids, self.profile, force, TALK)

    def cancel_job(self) -> Job | None:
        """Stop the talk's running job, else drop its first waiting one; None if there is none."""
        return self.jobs.cancel(owner=TALK)

    def rerun_plan(self, item_ids: list[str], force: bool = False) -> tuple[list[str], float | None]:
        """What a re-run will compute (the items, the stale or missing ones they need, the evaluator
        when its cache is missing) and its seconds as this run recorded them; None if any is unknown."""
        todo = self.runner().to_compute(item_ids, force)
        return todo, self.recorded_seconds(todo)

    def recorded_seconds(self, item_ids: list[str]) -> float | None:
        """The sum of the items' wall seconds from this run's manifest; None if one never finished here."""
        entries = self.manifest().get("items") or {}
        walls = [(entries.get(i) or {}).get("timing", {}).get("wall_s") if (entries.get(i) or {}).get("status") in
                 ("ok", "cached") else None for i in item_ids]
        return None if None in walls else float(sum(walls))

    def _run_job(self, job: Job):
        runner = self.runner(job.on_event, job.cancel)
        return runner.run(job.items, force=job.force)

    # -- presenter ------------------------------------------------------------
    def talk(self, change: str = "") -> dict[str, Any]:
        """The talk's state, one per panel, shared by every window (templates/panel.js): the slide shown,
        the timer, the drawn presenter, and a version that grows with each change. `change` is JSON
        with any of those keys, as a window sends a move; anything else in it is ignored."""
        with self._talk_lock:
            try:
                data = json.loads(change) if change else {}
            except ValueError:
                data = {}
            kept = {}
            if isinstance(data, dict):
                if isinstance(data.get("slide"), str) and len(data["slide"]) <= 64:
                    kept["slide"] = data["slide"]
                if "timer" in data and (data["timer"] is None or (isinstance(data["timer"], dict) and len(json.dumps(data["timer"])) <= 256)):
                    kept["timer"] = data["timer"]
                if "presenter" in data and (data["presenter"] is None or data["presenter"] in self.members()):
                    kept["presenter"] = data["presenter"]
            if kept:
                self._talk.update(kept, version=self._talk["version"] + 1)
            return dict(self._talk)

    def members(self) -> list[str]:
        return team_members(self.config().values)

    def draw_presenter(self) -> str | None:
        members = self.members()
        return self.rng.choice(members) if members else None

    # -- slides ---------------------------------------------------------------
    def slides(self, lang: str) -> list[ItemView]:
        return self.view(lang).items

    def talk_seconds(self) -> int:
        return max(60, round(60 * float(self.config().get("talk.minutes"))))

    def pace_plan(self, lang: str) -> list[dict[str, Any]]:
        """The talk split over VAE, GAN and comparison by the settings' minutes per section
        ([talk] vae_min, gan_min, compare_min), scaled to the talk's length; sections with no slide drop out."""
        s, items, talk = self.strings(lang), self.slides(lang), self.config().section("talk")
        minutes = {"vae": talk["vae_min"], "gan": talk["gan_min"], "eval": talk["compare_min"]}
        present = [key for _, key in SECTION_KEYS if any(section_key(i) == key for i in items)]
        total, planned = self.talk_seconds(), sum(minutes[k] for k in present) or 1.0
        plan, end = [], 0.0
        for key in present:
            end += total * minutes[key] / planned
            plan.append({"key": key, "label": s[f"panel_sec_{key}"], "end": round(end)})
        if plan:
            plan[-1]["end"] = total
        return plan


def overlay(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with the values of `over` where `over` names a key `base` still has, of the same kind."""
    out = dict(base)
    for key, value in over.items():
        if key not in out:
            continue  # a setting the project has since dropped
        if isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = overlay(out[key], value)
        elif not isinstance(out[key], dict) and not isinstance(value, dict):
            out[key] = value
    return out


def status_label(s: dict[str, str], status: str) -> str:
    return s.get({"not run": "not_run"}.get(status, status), status)


def wait_for(job: Job, timeout: float) -> Job:
    end = time.time() + timeout
    while not job.final and time.time() < end:
        time.sleep(0.1)
    return job
