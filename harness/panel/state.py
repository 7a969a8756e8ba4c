"""What the panel shows and does, as plain functions of a run: tests call these directly.

`harness/panel.py` only wires them to Gradio components. Everything read about
the run comes from the content model (harness.report.content.build), the same one the
report uses; training goes through the Runner in the JobQueue's worker thread.
"""
from __future__ import annotations

import html
import random
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness.report import content
from harness.config import Config, load_config
from harness.report.content import RunView, ItemView, format_value
from harness.context import Splits
from harness.errors import HarnessError
from harness.panel.explore import GanExplorer, VaeExplorer
from harness.panel.jobs import Job, JobQueue
from harness.report.title import team_members
from harness.registry import Registry, discover
from harness.run.runner import Runner
from harness.run.store import RunStore, resolve_run

PROFILES = ("smoke", "quick", "full")
TALK_DURATION_S = 20 * 60
SECTION_KEYS = (("1.1", "vae"), ("1.2", "gan"), ("eval", "eval"))
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[¿¡(\"'A-ZÁÉÍÓÚÑ0-9])")


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def section_key(view: ItemView) -> str:
    for prefix, key in SECTION_KEYS[:2]:
        if view.section == prefix or view.id.startswith(prefix):
            return key
    return "eval"


# ---------------------------------------------------------------- talking points
def _blocks(md: str) -> list[list[str]]:
    blocks, cur, fenced = [], [], False
    for line in md.splitlines():
        if line.strip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced:
            continue
        if not line.strip():
            if cur:
                blocks.append(cur)
            cur = []
        else:
            cur.append(line)
    if cur:
        blocks.append(cur)
    return blocks


def talking_points(md: str | None, n: int = 3) -> list[str]:
    """The first n bullets or sentences of an answer, in reading order (Markdown source)."""
    points: list[str] = []
    for block in _blocks(md or ""):
        first = block[0].lstrip()
        if first.startswith(("#", "|", "$$", ">", "<")):
            continue
        if _BULLET.match(block[0]):
            bullets: list[str] = []
            for line in block:
                if _BULLET.match(line):
                    bullets.append(_BULLET.sub("", line).strip())
                elif bullets:
                    bullets[-1] += " " + line.strip()
            points += bullets
        else:
            text = " ".join(line.strip() for line in block)
            points += [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
        if len(points) >= n:
            break
    return points[:n]


def render_point(point: str) -> str:
    """One point as safe inline HTML (raw HTML in answers stays text)."""
    return content.markdown().renderInline(point)


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
class Panel:
    """One run, its content views, its training queue and its explorers."""

    def __init__(self, root: Path, run_id: str | None, registry: Registry | None = None,
                 dataset_loader=None) -> None:
        # Absolute from here on: the content views name files under the reports root, and a
        # relative root ('reports', the CLI's default) would not resolve inside the run folder.
        self.store: RunStore = resolve_run(Path(root).resolve(), run_id)
        self.registry = registry or discover()
        self._dataset_loader = dataset_loader
        self._datasets: dict[str, Any] = {}
        self._data_lock = threading.Lock()
        self._views: dict[tuple, RunView] = {}
        self.jobs = JobQueue(self._run_job)
        self.vae = VaeExplorer(self.store, self.test_images, self.registry.showing("vae_explorer"))
        self.gan = GanExplorer(self.store, self.registry.showing("gan_explorer"))
        self.rng = random.SystemRandom()

    # -- config and data --------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.store.dir.resolve()

    def manifest(self) -> dict[str, Any]:
        return self.store.read_manifest()

    def config(self, profile: str | None = None) -> Config:
        """The run's settings (its overrides kept) at the run's profile or the one asked for."""
        manifest = self.manifest()
        return load_config(profile or manifest.get("profile", "quick"), manifest.get("overrides") or {})

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

    def runner(self, profile: str | None = None, on_event=None, cancel: threading.Event | None = None) -> Runner:
        config = self.config(profile)
        name = config.get("dataset")
        return Runner(self.registry, config, self.store, lambda: self.dataset(name), on_event, cancel,
                      command=f"harness serve (panel) --profile {config.profile}")

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

    def missing(self) -> list[str]:
        return [i for i, st in self.statuses().items() if st in ("not run", "failed", "skipped", "cancelled")]

    def status_rows(self, lang: str) -> list[list[str]]:
        s, view, status = self.strings(lang), self.view(lang), self.statuses()
        rows = []
        for it in view.items:
            st = status.get(it.id, it.status)
            checks = it.check_score if it.checks else ""
            wall = it.timing.get("wall_s")
            rows.append([it.id, it.title, status_label(s, st), checks, "" if wall is None else f"{wall:.1f} s"])
        return rows

    def submit(self, item_ids: list[str], profile: str, force: bool = False) -> Job:
        if profile not in PROFILES:
            raise HarnessError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
        if not item_ids:
            raise HarnessError("choose an item to run")
        for item_id in item_ids:
            self.registry.get(item_id)
        return self.jobs.submit(item_ids, profile, force)

    def _run_job(self, job: Job) -> None:
        runner = self.runner(job.profile, job.on_event, job.cancel)
        runner.run(job.items, force=job.force)

    # -- presenter ------------------------------------------------------------
    def members(self) -> list[str]:
        return team_members(self.manifest().get("config") or {})

    def draw_presenter(self) -> str | None:
        members = self.members()
        return self.rng.choice(members) if members else None

    # -- slides ---------------------------------------------------------------
    def slides(self, lang: str) -> list[ItemView]:
        return self.view(lang).items

    def pace_plan(self, lang: str) -> list[dict[str, Any]]:
        """The 20 minutes split over VAE, GAN and comparison in proportion to their slides."""
        s, items = self.strings(lang), self.slides(lang)
        counts = [(key, sum(1 for i in items if section_key(i) == key)) for _, key in SECTION_KEYS]
        counts = [(k, n) for k, n in counts if n]
        total = sum(n for _, n in counts) or 1
        plan, end = [], 0.0
        for key, n in counts:
            end += TALK_DURATION_S * n / total
            plan.append({"key": key, "label": s[f"panel_sec_{key}"], "end": round(end)})
        if plan:
            plan[-1]["end"] = TALK_DURATION_S
        return plan


def status_label(s: dict[str, str], status: str) -> str:
    return s.get({"not run": "not_run"}.get(status, status), status)


def wait_for(job: Job, timeout: float) -> Job:
    end = time.time() + timeout
    while not job.final and time.time() < end:
        time.sleep(0.1)
    return job
