"""What an item sees while it runs: its settings, the data, its inputs, and a
place to put what it produces (figures, tables, metrics, checks, models).

An item never learns where anything is stored; it asks the context.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from harness.config import Config
from harness.errors import Cancelled, HarnessError
from harness.locale import LANGS, localise_axes
from harness.result import Result

# Figures are saved at this resolution; the report sizes them on the page from it (report.content).
FIGURE_DPI = 110

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
Text = str | dict[str, str]  # one string, or {"es": ..., "en": ...}
PASSED, FAILED, NOT_GRADED = "passed", "failed", "not_graded"  # the three states of a rubric check
# What an item is doing, as the panel's job line and the CLI show it: "work" until it says more.
PHASES = ("work", "data", "compile", "train", "evaluate", "save")


def bilingual(text: Text) -> dict[str, str]:
    if isinstance(text, dict):
        missing = {"es", "en"} - set(text)
        if missing:
            raise ValueError(f"caption needs both languages; missing {sorted(missing)}")
        return {lang: str(text[lang]) for lang in LANGS}
    return {lang: str(text) for lang in LANGS}


def _name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"artifact name '{name}' must be letters, digits, '_', '.', '-'")
    return name


@dataclass
class Splits:
    """MNIST as the handout prepares it: float32 in [0, 1], one channel last."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "mnist"

    @classmethod
    def from_dataset(cls, ds: Any, n_train: int, n_test: int) -> "Splits":
        def prep(x: np.ndarray) -> np.ndarray:
            return (x.astype("float32") / 255.0)[..., None]

        return cls(prep(ds.x_train[:n_train]), ds.y_train[:n_train].astype("int64"),
                   prep(ds.x_test[:n_test]), ds.y_test[:n_test].astype("int64"), ds.name)

    @classmethod
    def for_config(cls, ds: Any, config: Config) -> "Splits":
        """The train and test images the settings' `data` section asks for (all of them by default)."""
        data = config.section("data") if "data" in config.values else {}
        return cls.from_dataset(ds, data.get("n_train", len(ds.x_train)), data.get("n_test", len(ds.x_test)))


class ItemOutput:
    """A finished item's result, as a later item reads it."""

    def __init__(self, item_id: str, folder: Path, result: Result) -> None:
        self.id = item_id
        self.folder = folder
        self.result = result
        self._models: dict[str, Any] = {}

    @property
    def metrics(self) -> dict[str, Any]:
        return self.result.metric_values()

    def table(self, name: str) -> dict[str, Any]:
        return self.result.tables[name]

    def model(self, name: str) -> Any:
        if name not in self._models:
            import keras

            rel = self.result.models.get(name)
            if rel is None:
                raise KeyError(f"item {self.id} saved no model '{name}' (it saved {sorted(self.result.models)})")
            # safe_mode keeps a tampered .keras file from running code on load.
            self._models[name] = keras.saving.load_model(self.folder / rel, safe_mode=True)
        return self._models[name]

    def array(self, name: str) -> np.ndarray:
        rel = self.result.arrays.get(name)
        if rel is None:
            raise KeyError(f"item {self.id} saved no array '{name}'")
        return np.load(self.folder / rel, allow_pickle=False)

    def value(self, name: str) -> Any:
        """A JSON value the item stored with ctx.save_value."""
        return self.result.values[name]


class Context:
    def __init__(
        self,
        item_id: str,
        config: Config,
        sections: tuple[str, ...],
        seed: int,
        out_dir: Path,
        data_loader: Callable[[], Splits] | None,
        inputs: dict[str, ItemOutput],
        on_progress: Callable[[str, int, int, str], None] | None = None,
        cancel: threading.Event | None = None,
        on_log: Callable[[str, str], None] | None = None,
        on_phase: Callable[[str, str], None] | None = None,
        units: dict[str, ItemOutput] | None = None,
    ) -> None:
        self.id = item_id
        self.config = config
        self.profile = config.profile
        self.seed = seed
        self.out_dir = out_dir
        self._sections = sections
        self._data_loader = data_loader
        self._data: Splits | None = None
        self._inputs = inputs
        self._units = units or {}
        self._on_progress = on_progress
        self._on_log = on_log
        self._on_phase = on_phase
        self._phase = "work"
        self._cancel = cancel or threading.Event()
        # What the item produces; the runner adds how it ran (status, fingerprint, timing) and stores it.
        self.result = Result(item_id)

    # -- inputs -----------------------------------------------------------
    def settings(self, section: str) -> dict[str, Any]:
        """A settings section this item declared in @item(config=...)."""
        if section not in self._sections:
            raise HarnessError(f"item {self.id} reads settings '{section}' but does not declare it in @item(config=...)")
        return self.config.section(section)

    @property
    def data(self) -> Splits:
        if self._data is None:
            if self._data_loader is None:
                raise HarnessError(f"item {self.id} reads the data but was registered with uses_data=False")
            self.phase("data")
            self._data = self._data_loader()
            self.phase("work")
        return self._data

    def input(self, item_id: str) -> ItemOutput:
        if item_id not in self._inputs:
            raise HarnessError(f"item {self.id} reads '{item_id}' but does not list it in @item(needs=...)")
        return self._inputs[item_id]

    def unit(self, key: str) -> ItemOutput:
        """One of this item's units (harness.registry.Units), computed and stored by the runner."""
        if key not in self._units:
            raise HarnessError(f"item {self.id} reads its unit '{key}', which its Units plan did not name "
                               f"(planned: {', '.join(self._units) or 'none'})")
        return self._units[key]

    # -- outputs ----------------------------------------------------------
    def metric(self, name: str, value: Any, unit: str | None = None, note: Text | None = None) -> Any:
        if isinstance(value, (np.floating, np.integer)):
            value = value.item()
        self.result.metrics[_name(name)] = {"value": value, "unit": unit, "note": bilingual(note) if note else None}
        return value

    def table(self, name: str, columns: list[Text], rows: list[list[Any]], caption: Text, detail: bool = False) -> None:
        """A table of the item. `detail=True` marks a long listing (an architecture's layers, a
        per-class breakdown): the report prints it in an appendix and links it from the item."""
        clean = [[v.item() if isinstance(v, (np.floating, np.integer)) else v for v in row] for row in rows]
        self.result.tables[_name(name)] = {
            "columns": [bilingual(c) for c in columns], "rows": clean, "caption": bilingual(caption),
            "detail": bool(detail),
        }

    def figure(self, name: str, fig: Any, caption: Text, dpi: int = FIGURE_DPI, screen: Any = None) -> Path:
        """Save a matplotlib figure as PNG and close it.

        `fig` is either a Figure (language-neutral: an image grid with no text) or a callable
        `make(lang) -> Figure`, drawn once per language and saved as <name>.es.png and <name>.en.png.
        `screen`, a callable like `make`, draws the figure again for the panel's slides when the
        report's layout cannot carry large text (labels that would collide); by default the slide's
        renderings are drawn from the report's figure itself.
        Returns the path of the file saved first (the Spanish one for a per-language figure).
        """
        _name(name)
        if not callable(fig):
            if screen is not None:
                raise HarnessError(f"item {self.id}: figure '{name}' has a screen drawing but no per-language one; "
                                   f"pass the figure as make(lang) too")
            saved = self._save_figure(fig, name, dpi)
            self.result.figures.append({"name": name, "file": self._rel(saved["file"]), "caption": bilingual(caption),
                                           **self._sizes({lang: saved for lang in LANGS})})
            return saved["file"]
        saved = {lang: self._save_figure(localise_axes(fig(lang), lang), f"{name}.{lang}", dpi,
                                         screen and (lambda lg=lang: localise_axes(screen(lg), lg)))
                 for lang in LANGS}
        files = {lang: self._rel(one["file"]) for lang, one in saved.items()}
        self.result.figures.append({"name": name, "file": files["es"], "files": files, "caption": bilingual(caption),
                                       **self._sizes(saved)})
        return saved["es"]["file"]

    def _save_figure(self, fig: Any, stem: str, dpi: int, screen_fig: Callable[[], Any] | None = None) -> dict[str, Any]:
        """<stem>.png for the report, then the panel's slide renderings (harness.figure_screen.save_screens),
        with the height in px of the smallest text in each PNG (None: no text, or no screen rendering)."""
        import matplotlib.pyplot as plt

        from harness.figure_screen import save_screens, save_source, smallest_text_pt
        from harness.png import drop_opaque_alpha

        path = self.out_dir / "figures" / f"{stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        drop_opaque_alpha(path)
        text_pt = smallest_text_pt(fig)
        if screen_fig is not None:  # the slide's own drawing of it
            plt.close(fig)
            fig = screen_fig()
        # The slides' two renderings are drawn by the panel when a talk shows them (harness.figure_screen:
        # most of a non-training item's time went to them); a figure that does not pickle is drawn now.
        # HARNESS_SLIDES=0: a run no talk will show (a test of checks only) keeps neither; the panel then
        # shows the report's PNG, as it does for a figure that needs no rendering of its own.
        screens: dict[str, Any] = {"screen": None, "screen_text_px": None}
        if os.environ.get("HARNESS_SLIDES", "1") != "0" and smallest_text_pt(fig) is not None:
            source = save_source(fig, path)
            screens = {**screens, "source": source} if source is not None else \
                save_screens(fig, path, dpi, own_drawing=screen_fig is not None)
        plt.close(fig)
        return {"file": path, "text_px": None if text_pt is None else round(text_pt * dpi / 72.0, 2), "dpi": dpi,
                "own_drawing": screen_fig is not None, **screens}

    def _sizes(self, saved: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """What the panel needs to show a figure readably: its smallest text per language, and the
        screen renderings with their own smallest text when every language has them."""
        out: dict[str, Any] = {"text_px": {lang: one["text_px"] for lang, one in saved.items()}}
        if all(one.get("source") is not None for one in saved.values()):
            out["slide_source"] = {lang: self._rel(one["source"]) for lang, one in saved.items()}
            out["slide_drawing"] = {"dpi": next(iter(saved.values()))["dpi"],
                                    "own": any(one["own_drawing"] for one in saved.values())}
        if all(one["screen"] is not None for one in saved.values()):
            out["screen"] = {lang: self._rel(one["screen"]) for lang, one in saved.items()}
            out["screen_text_px"] = {lang: one["screen_text_px"] for lang, one in saved.items()}
            out["screen_large"] = {lang: self._rel(one["screen_large"]) for lang, one in saved.items()}
            out["screen_large_text_px"] = {lang: one["screen_large_text_px"] for lang, one in saved.items()}
        return out

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.out_dir).as_posix()

    def check(self, name: str, passed: bool, detail: Text = "", expected: Any = None, observed: Any = None,
              not_graded: Text | None = None) -> bool:
        """A rubric check: does this item meet the handout? Recorded, shown in the scorecard.

        `not_graded` (a reason, e.g. "needs ≥ 10 epochs: this profile trains 2") records the check as
        not graded at this profile instead of passed or failed: a budget too small to judge is said
        so, never counted as a pass. Returns True only for a graded pass."""
        state = NOT_GRADED if not_graded else (PASSED if passed else FAILED)
        self.result.checks.append({
            "name": name, "state": state, "passed": bool(passed) if state != NOT_GRADED else None,
            "detail": bilingual(detail) if detail else None,
            "reason": bilingual(not_graded) if not_graded else None,
            "expected": _plain(expected), "observed": _plain(observed),
        })
        return state == PASSED

    def save_model(self, name: str, model: Any) -> None:
        path = self.out_dir / "models" / f"{_name(name)}.keras"
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        self.result.models[name] = path.relative_to(self.out_dir).as_posix()

    def save_array(self, name: str, array: np.ndarray) -> None:
        path = self.out_dir / "arrays" / f"{_name(name)}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(array), allow_pickle=False)
        self.result.arrays[name] = path.relative_to(self.out_dir).as_posix()

    def save_value(self, name: str, value: Any) -> None:
        """A small JSON-able value (a history, a list of per-epoch losses) for later items and the report."""
        self.result.values[_name(name)] = json.loads(json.dumps(value, default=_plain))

    # -- progress -----------------------------------------------------------
    def phase(self, name: str) -> None:
        """Say what the item does now (PHASES); a checkpoint too: raises Cancelled if the user asked to stop.

        Training loops say "compile" before their first step (it builds the graph, seconds with no
        progress); the first progress report says "train" and the last one "evaluate", since what
        follows a training is measuring it. The runner says "save" when it commits the result.
        """
        if name not in PHASES:
            raise HarnessError(f"item {self.id} reports an unknown phase '{name}' (one of {', '.join(PHASES)})")
        if self._cancel.is_set():
            raise Cancelled(f"item {self.id} cancelled while in phase {self._phase}")
        if name != self._phase:
            self._phase = name
            if self._on_phase:
                self._on_phase(self.id, name)

    def progress(self, done: int, total: int, unit: str = "step") -> None:
        """Report progress; raises Cancelled if the user asked to stop."""
        if self._cancel.is_set():
            raise Cancelled(f"item {self.id} cancelled at {unit} {done}/{total}")
        if self._phase != "train":
            self.phase("train")
        if self._on_progress:
            self._on_progress(self.id, done, total, unit)
        if done >= total:
            self.phase("evaluate")

    def log(self, message: Text) -> None:
        """A line for the run's log: a str, or {"es": ..., "en": ...} for the panel to show in its language."""
        self.result.log.append(message)
        if self._on_log:
            self._on_log(self.id, message)

    def keras_progress(self, unit: str = "batch"):
        """A Keras callback that reports every batch through ctx.progress."""
        import keras

        ctx = self

        class _Progress(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                ctx.phase("compile")  # the first batch builds the graph
                p = self.params or {}
                self.total = (p.get("epochs") or 1) * (p.get("steps") or 1)
                self.per_epoch = p.get("steps") or 1
                self.epoch = 0

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_train_batch_end(self, batch, logs=None):
                ctx.progress(self.epoch * self.per_epoch + batch + 1, self.total, unit)

        return _Progress()


def check_state(check: dict[str, Any]) -> str:
    """passed, failed or not_graded; a result written before checks had states has only `passed`."""
    return check.get("state") or (PASSED if check.get("passed") else FAILED)


def tally(checks: list[dict[str, Any]]) -> dict[str, int]:
    """How many checks are in each state, all three always present."""
    counts = {PASSED: 0, FAILED: 0, NOT_GRADED: 0}
    for check in checks:
        counts[check_state(check)] += 1
    return counts


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


class Stopwatch:
    """Wall and CPU seconds, and peak resident memory sampled while an item runs."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as fh:
                import os

                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return 0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_rss = max(self.peak_rss, self._rss())

    def __enter__(self) -> "Stopwatch":
        self.peak_rss = self._rss()
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, self._rss())
        self.wall_s = time.perf_counter() - self._wall0
        self.cpu_s = time.process_time() - self._cpu0

    def as_dict(self) -> dict[str, float]:
        return {"wall_s": round(self.wall_s, 3), "cpu_s": round(self.cpu_s, 3), "peak_rss_mb": round(self.peak_rss / 2**20, 1)}
