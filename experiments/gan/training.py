"""The handout's training loop (1.2d), done right, and what every GAN item shares:
the per-step record, the divergence guard, sampling speed, evaluation and figures.

The handout's `train_on_steps` returns inside its loop (so it trains one step)
and loops over the global `train_steps` instead of its `steps` argument. Here
the loop runs `steps` iterations, each one the GAN's fused `train_step` on a
batch drawn with replacement from the training set, as the handout draws it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import keras
import numpy as np
from keras import ops

from experiments.gan.models import GAN, GanSettings, build_gan, current_lr, sample_noise
from experiments.evaluation.model_rows import EVALUATOR_ITEM, ModelRow, evaluator
from harness.errors import ItemFailed
from harness.train.evaluation import SAMPLE_SEED
from harness.train.steps import backend, compiled_scan
from harness.train.timing import TrainingTime, sampling_speed, split_training
from harness.words import words

W = words(__file__)

COLUMNS = ("d_loss", "d_acc", "g_loss", "g_acc")
STUCK_TAIL = 0.2   # D accuracy at 1.0 over this last fraction of steps means G lost the game
HANDOUT_STEPS = 5000  # the handout's budget: checks of a trained GAN's quality are graded from here on
# Filled with the steps trained: why a quality check is not graded at a reduced budget.
QUALITY_NOT_GRADED = W("quality_not_graded")
# Mean and standard deviation of each law of z: U(-1, 1) has sd 1/√3; N(0, 1) has sd 1.
LAW_MOMENTS = {"uniform": (0.0, 1 / np.sqrt(3)), "gaussian": (0.0, 1.0)}
MOMENT_TOLERANCE = 0.05  # on 10,000 draws the sampling error of either moment is under 0.01


def quality_not_graded(steps: int) -> dict[str, str] | None:
    """The reason a check of training quality cannot be graded at this budget, or None: graded."""
    if steps >= HANDOUT_STEPS:
        return None
    return {lang: text.format(handout=HANDOUT_STEPS, steps=steps) for lang, text in QUALITY_NOT_GRADED.items()}


def follows_law(z: np.ndarray, noise: str) -> bool:
    """Do these draws have the law's mean and spread (and, for U(-1, 1), stay inside [-1, 1])?
    The range alone lets U(0, 1) through; the mean catches it, the spread catches N(0, 1)."""
    mean, std = LAW_MOMENTS[noise]
    inside = noise != "uniform" or (float(z.min()) >= -1.0 and float(z.max()) <= 1.0)
    return bool(inside and abs(float(z.mean()) - mean) < MOMENT_TOLERANCE
                and abs(float(z.std()) - std) < MOMENT_TOLERANCE)


@dataclass
class History:
    """Every step's (d_loss, d_acc, g_loss, g_acc), as the handout's history["d"], history["g"]."""

    values: np.ndarray          # (steps, 4)
    seconds: float              # wall time of the timed steps: all but the first call (graph tracing)
    first_step_s: float         # the first call: graph tracing plus its step(s)
    timed_steps: int = 0        # steps inside `seconds`
    watched_s: float = 0.0      # time spent looking at the GAN mid-training (snapshots), excluded above

    @property
    def steps(self) -> int:
        return int(self.values.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.values[:, COLUMNS.index(name)]

    @property
    def ms_per_step(self) -> float:
        if self.timed_steps > 0:
            return 1000.0 * self.seconds / self.timed_steps
        return 1000.0 * self.first_step_s / max(self.steps, 1)

    @property
    def timing(self) -> TrainingTime:
        """Steady seconds per step, and the first call's compile time set apart (harness.train.timing)."""
        return split_training(self.first_step_s, self.seconds, self.steps, first_units=self.steps - self.timed_steps)

    def tail(self, name: str, fraction: float = 0.1) -> float:
        col = self.column(name)
        k = max(1, int(round(len(col) * fraction)))
        return float(col[-k:].mean())

    def head(self, name: str, fraction: float = 0.1) -> float:
        col = self.column(name)
        return float(col[:max(1, int(round(len(col) * fraction)))].mean())

    def stuck_fraction(self) -> float:
        """Share of the last STUCK_TAIL of steps where D classified every image right."""
        acc = self.column("d_acc")
        k = max(1, int(round(len(acc) * STUCK_TAIL)))
        return float(np.mean(acc[-k:] >= 1.0))


def divergence_message(step: int, values: np.ndarray, settings: GanSettings | None) -> str:
    d_loss, d_acc, g_loss, g_acc = (float(v) for v in values)
    hint = (f"; the learning rates (gan.d_lr={settings.d_lr}, gan.g_lr={settings.g_lr}) are the settings likely at fault"
            if settings else "")
    return (f"GAN training diverged at step {step}: a loss is not finite "
            f"(d_loss={d_loss}, d_acc={d_acc}, g_loss={g_loss}, g_acc={g_acc}){hint}")


def steps_per_call() -> int:
    """Handout iterations per compiled call. TensorFlow on a CPU: one (the fused step measured
    fastest so, and the record is checked every step). JAX, meant for a GPU: 50, so that the
    host dispatches and syncs once per 50 steps instead of every few milliseconds."""
    return 1 if backend() == "tensorflow" else 50


def step_function(gan: GAN, x: np.ndarray, batch_size: int, k: int = 1) -> Callable[[], np.ndarray]:
    """k handout iterations as one compiled call: each samples a real batch with replacement, then
    a D step and a G step. Returns the (k, 4) record of those steps.

    The images stay in one tensor and each batch is gathered inside the compiled loop, so a step
    copies nothing from the host.
    """
    images = ops.convert_to_tensor(x)
    n = int(x.shape[0])
    picks = keras.random.SeedGenerator()

    def one(_):
        idx = keras.random.randint((batch_size,), 0, n, seed=picks)
        logs = gan.train_step(ops.take(images, idx, axis=0))
        return ops.stack([ops.cast(logs[c], "float32") for c in COLUMNS])

    run = compiled_scan(one, gan.state() + [picks.state])
    counter = np.zeros((k,), "int32")
    return lambda: np.asarray(run(counter), dtype=np.float64)


class Watcher(Protocol):
    """Looks at the GAN at chosen steps of training (1.2d's snapshots); its time is not training time."""

    def steps(self) -> set[int]: ...

    def __call__(self, step: int) -> None: ...


def train_gan(gan: GAN, x: np.ndarray, steps: int, batch_size: int,
              progress: Callable[[int, int], None] | None = None,
              settings: GanSettings | None = None, k: int | None = None, watch: Watcher | None = None) -> History:
    """Run `steps` iterations, recording each; NaN or inf in a loss stops with ItemFailed.

    `watch` is called after the first call that reaches each of its steps (and before training
    for step 0); the step it gets is the one actually reached (a multiple of k under JAX)."""
    k = max(1, min(k or steps_per_call(), steps))
    calls = {size: step_function(gan, x, batch_size, size) for size in {k, steps % k} if size}
    values = np.empty((steps, len(COLUMNS)), dtype=np.float64)
    every = max(1, steps // 100)
    pending, watched = sorted(watch.steps()) if watch else [], 0.0
    if pending and pending[0] <= 0:
        w0 = time.perf_counter()
        watch(0)
        pending, watched = [s for s in pending if s > 0], time.perf_counter() - w0
    watched_before_start = watched
    t0 = time.perf_counter()
    first, done = 0.0, 0
    while done < steps:
        size = min(k, steps - done)
        values[done:done + size] = calls[size]()
        bad = np.flatnonzero(~np.all(np.isfinite(values[done:done + size]), axis=1))
        if bad.size:
            raise ItemFailed(divergence_message(done + int(bad[0]) + 1, values[done + int(bad[0])], settings))
        if done == 0:
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
        before, done = done, done + size
        if pending and done >= pending[0]:
            w0 = time.perf_counter()
            watch(done)
            pending = [s for s in pending if s > done]
            watched += time.perf_counter() - w0
        if progress and (done // every > before // every or done == steps):
            progress(done, steps)
    timed = steps - min(k, steps)
    seconds = time.perf_counter() - t0 - (watched - watched_before_start) if timed else 0.0
    return History(values, seconds, first, timed, watched)


def train_settings(ctx: Any, **changes: Any) -> GanSettings:
    return GanSettings.from_config(ctx.settings("gan"), **changes)


def train_one(ctx: Any, settings: GanSettings, label: str,
              watch: Callable[[GAN], Watcher] | None = None) -> tuple[GAN, History, float]:
    """Build and train one GAN at 1.2d's budget; returns the model, its history and the wall seconds
    (`watch` builds a Watcher of the new GAN: its looks are not counted in those seconds)."""
    gan_cfg = ctx.settings("gan")
    gan = build_gan(settings)
    watcher = watch(gan) if watch else None
    n, steps, batch = len(ctx.data.x_train), gan_cfg["steps"], gan_cfg["batch_size"]
    ctx.log(W.fill("train_log", label=label, steps=steps, batch=batch, n=n))
    ctx.phase("compile")  # the first step builds D's and G's graphs: seconds before any progress
    t0 = time.perf_counter()
    history = train_gan(gan, ctx.data.x_train, gan_cfg["steps"], gan_cfg["batch_size"],
                        progress=lambda d, t: ctx.progress(d, t, "step"), settings=settings, watch=watcher)
    return gan, history, time.perf_counter() - t0 - history.watched_s


def final_lrs(gan: GAN) -> tuple[float, float]:
    return current_lr(gan.d_optimizer), current_lr(gan.g_optimizer)


# -- sampling ---------------------------------------------------------------------------
PREDICT_BATCH = 1000   # images G makes per predict batch (the speed is timed by harness.train.timing)


def generate(generator: keras.Model, z: np.ndarray) -> np.ndarray:
    return np.asarray(generator.predict(z, batch_size=PREDICT_BATCH, verbose=0))


def sample_images(generator: keras.Model, noise: str, dim: int, n: int, seed: int,
                  std: float = 1.0) -> tuple[np.ndarray, float]:
    """n images from G and its rate in images per second (harness.train.timing: the one method
    every model's speed is measured by)."""
    z = sample_noise(noise, n, dim, seed, std)
    return generate(generator, z), sampling_speed(generator, z).images_per_s


# -- evaluation (FID-MNIST, class coverage) ------------------------------------------------
def n_eval_samples(ctx: Any) -> int:
    return int(ctx.settings("eval")["n_samples"])


def score(scorer: Any, images: np.ndarray) -> dict[str, Any]:
    """The evaluator's scores; a fully collapsed histogram's entropy prints as 0, not -0."""
    scores = scorer.score(images)
    scores["coverage_entropy"] = abs(float(scores["coverage_entropy"]))
    return scores


def evaluate(ctx: Any, scorer: Any, generator: keras.Model, noise: str, dim: int) -> tuple[dict[str, Any], np.ndarray, float]:
    """The evaluator's scores of eval.n_samples images from G, those images, and G's sampling rate."""
    images, ips = sample_images(generator, noise, dim, n_eval_samples(ctx), SAMPLE_SEED)
    return score(scorer, images), images, ips


# The evaluator's scores the GAN items' tables show, in this order (kl_uniform is in the model rows).
TABLE_SCORES = ("fid", "coverage_entropy", "classes_under_2pct", "mean_confidence", "precision", "recall")

def model_row(label: str, item_id: str, train_s: float, ips: float, scores: dict[str, Any] | None,
              timing: TrainingTime | None = None) -> dict[str, Any]:
    """A GAN's row of the comparison (experiments.evaluation.model_rows), as a run stores it; with
    its training's steady time and compile warm-up apart when the item has them."""
    steady = {"steady_train_s": round(timing.steady_s, 2), "warmup_s": round(timing.warmup_s, 2)} if timing else {}
    return ModelRow.scored(label, "gan", item_id, train_s, ips, scores, **steady).as_dict()


def record_scores(ctx: Any, scores: dict[str, Any], prefix: str = "") -> None:
    n = scores.get("n")
    note = W.fill("scores_over", n=n) if n else None
    ctx.metric(f"{prefix}fid", float(scores["fid"]), note=note)
    ctx.metric(f"{prefix}fid_se", float(scores["fid_se"]),
               note=W("record_scores", "metric", "note"))
    ctx.metric(f"{prefix}coverage_entropy", float(scores["coverage_entropy"]), "nats", note=note)
    ctx.metric(f"{prefix}classes_under_2pct", int(scores["classes_under_2pct"]))
    ctx.metric(f"{prefix}precision", float(scores["precision"]))
    ctx.metric(f"{prefix}recall", float(scores["recall"]))
