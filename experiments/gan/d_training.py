"""1.2d: the handout's alternating training, every step recorded.

The base GAN of section 1.2: 1.2e samples from it, 1.2f-h compare against it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.gan.figures import class_histogram_figure, curves_figure, image_grid, probes_figure, snapshots_figure
from experiments.gan.snapshots import PROBE_COLUMNS, TrainingWatch, early_phase, mode_gap
from experiments.gan.models import GAN, GanSettings
from harness.train.hardware import resolve_precision
from experiments.gan.training import (COLUMNS, EVALUATOR_ITEM, HANDOUT_STEPS, LAW_MOMENTS, STUCK_TAIL, History,
                                      evaluate, evaluator, follows_law, model_row, quality_not_graded, record_scores,
                                      train_one, train_settings)
from harness.figure_text import fill
from harness.registry import item
from harness.locale import LANGS, pct
from harness.words import words

W = words(__file__)

HANDOUT_BATCH = 64
LABEL = "GAN z=2 U(−1, 1)"  # as the answers write the uniform law
NOISE_DRAWS = 10000  # draws of the GAN's own sampler whose range and moments noise_uniform_in_range checks

# Filled with the handout's steps and batch; below the full profile the steps are not graded.
BUDGET_DETAIL = W("budget_detail")
BUDGET_REDUCED = W("budget_reduced")
TAIL = {lang: pct(STUCK_TAIL, 0, lang) for lang in LANGS}
NOTES = {**W.table("notes"), "d_acc_stuck_frac": W.fill("notes", "d_acc_stuck_frac", tail=TAIL)}
CHECKS = {**W.table("checks"), "d_not_stuck_at_1": W.fill("checks", "d_not_stuck_at_1", tail=TAIL)}
TITLES = W.table("titles")

CAPTIONS = W.table("captions")
PROBE_NOTES = W.table("probe_notes")


@dataclass
class TrainedGan:
    """1.2d's GAN after training: its record, its scores and what its sampler really draws."""

    config: dict[str, Any]      # the gan settings section
    settings: GanSettings
    gan: GAN
    history: History
    train_s: float
    scores: dict[str, Any]      # the evaluator's, on eval.n_samples images
    images: np.ndarray          # those images
    sample_ips: float
    z_draws: np.ndarray         # NOISE_DRAWS draws of the GAN's in-graph sampler
    watch: TrainingWatch        # G's samples at several steps and D's probes against both modes of G


def sampler_draws(gan: GAN) -> np.ndarray:
    """What the GAN really feeds G: draws of its own in-graph sampler."""
    return np.asarray(gan.sample_z(NOISE_DRAWS))


@item("1.2d", "GAN training, step by step", needs=(EVALUATOR_ITEM,), config=("gan", "eval"),
      shows=("gan_explorer",))
def training(ctx):
    gan_cfg = ctx.settings("gan")
    settings = train_settings(ctx)
    budget_checks(ctx, gan_cfg)

    watches: list[TrainingWatch] = []

    def watch(gan: GAN) -> TrainingWatch:
        watches.append(TrainingWatch.of(gan, ctx.data.x_train, gan_cfg["steps"], settings.noise, settings.noise_std,
                                        ctx.seed))
        return watches[-1]

    gan, history, train_s = train_one(ctx, settings, LABEL, watch=watch)
    scorer = evaluator(ctx)
    scores, images, ips = evaluate(ctx, scorer, gan.generator, settings.noise, settings.noise_dim)
    record(ctx, TrainedGan(gan_cfg, settings, gan, history, train_s, scores, images, ips, sampler_draws(gan), watches[0]))
    record_snapshot_digits(ctx, watches[0], scorer)


def budget_checks(ctx, gan_cfg: dict) -> None:
    steps, batch = gan_cfg["steps"], gan_cfg["batch_size"]
    reduced = None if ctx.profile == "full" else fill(BUDGET_REDUCED, profile=ctx.profile, steps=steps)
    ctx.check("handout_budget", steps == HANDOUT_STEPS, fill(BUDGET_DETAIL, steps=HANDOUT_STEPS, batch=HANDOUT_BATCH),
              expected=[HANDOUT_STEPS, HANDOUT_BATCH], observed=[steps, batch], not_graded=reduced)
    ctx.check("batch_64", batch == HANDOUT_BATCH, CHECKS["batch_64"], expected=HANDOUT_BATCH, observed=batch)


def record(ctx, result: TrainedGan) -> None:
    gan_cfg, settings, history, scores = result.config, result.settings, result.history, result.scores
    # The slide shows the first three metrics: the step's cost, then FID-MNIST and coverage.
    ctx.metric("ms_per_step", history.ms_per_step, "ms", note=NOTES["ms_per_step"])
    record_scores(ctx, scores)
    ctx.metric("train_s", result.train_s, "s")
    ctx.metric("steps", history.steps)
    noise_check(ctx, result.z_draws, settings)
    for name in COLUMNS:
        ctx.metric(f"{name}_last10", history.tail(name), note=NOTES["last10"])
        ctx.metric(f"{name}_first10", history.head(name))
    ctx.metric("first_step_s", history.first_step_s, "s")
    ctx.metric("warmup_s", history.timing.warmup_s, "s", note=NOTES["warmup_s"])
    ctx.metric("steady_train_s", history.timing.steady_s, "s", note=NOTES["steady_train_s"])
    ctx.metric("arithmetic", resolve_precision(settings.precision, "gan.precision"),
               note={lang: text.format(precision=settings.precision) for lang, text in NOTES["arithmetic"].items()})
    stuck_check(ctx, history)
    updates = [history.steps, int(result.gan.d_optimizer.iterations.numpy()), int(result.gan.g_optimizer.iterations.numpy())]
    ctx.check("trained_every_step", updates == [gan_cfg["steps"]] * 3, CHECKS["trained_every_step"],
              expected=[gan_cfg["steps"]] * 3, observed=updates)
    record_watch(ctx, result.watch, history)

    curves_title = fill(TITLES["curves"], label=LABEL, steps=history.steps, batch=gan_cfg["batch_size"])
    ctx.figure("curves", lambda lang: curves_figure(history, curves_title, lang), CAPTIONS["curves"])
    ctx.metric("sample_ips", result.sample_ips, "img/s")
    samples_title = fill(TITLES["samples"], label=LABEL, steps=history.steps)
    ctx.figure("samples", lambda lang: image_grid(result.images[:16], 4, 4, samples_title, lang=lang), CAPTIONS["samples"])
    hists = {LABEL: scores["class_hist"]}
    ctx.figure("class_histogram", lambda lang: class_histogram_figure(hists, TITLES["class_histogram"], lang),
               {lang: text.format(n=scores["n"]) for lang, text in CAPTIONS["class_histogram"].items()})

    ctx.save_array("history", history.values)
    ctx.save_value("history_columns", list(COLUMNS))
    ctx.save_value("class_hist", scores["class_hist"])
    ctx.save_model("generator", result.gan.generator)
    ctx.save_value("noise", {"law": gan_cfg["noise"], "dim": gan_cfg["noise_dim"]})  # the GAN explorer draws z from it
    ctx.save_model("discriminator", result.gan.discriminator)
    ctx.save_value("model_rows", [model_row(LABEL, ctx.id, result.train_s, result.sample_ips, scores,
                                                timing=result.history.timing)])


def noise_check(ctx, z: np.ndarray, settings: GanSettings) -> None:
    lo, hi, mean, std = float(z.min()), float(z.max()), float(z.mean()), float(z.std())
    ctx.metric("noise_min", lo)
    ctx.metric("noise_max", hi)
    ctx.metric("noise_mean", mean)
    ctx.metric("noise_std", std)
    uniform = settings.noise == "uniform" and follows_law(z, "uniform")
    ctx.check("noise_uniform_in_range", uniform and z.shape[1] == settings.noise_dim, CHECKS["noise_uniform_in_range"],
              expected=["uniform", -1.0, 1.0, *LAW_MOMENTS["uniform"]], observed=[settings.noise, lo, hi, mean, std])


def stuck_check(ctx, history: History) -> None:
    fraction = history.stuck_fraction()
    ctx.metric("d_acc_stuck_frac", fraction, note=NOTES["d_acc_stuck_frac"])
    ctx.check("d_not_stuck_at_1", fraction < 1.0, CHECKS["d_not_stuck_at_1"], expected="< 1.0", observed=fraction,
              not_graded=quality_not_graded(history.steps))


def record_watch(ctx, watch: TrainingWatch, history: History) -> None:
    """G's samples over training, and the two modes of G as the same D sees them."""
    for name, value in {**early_phase(history.column("d_loss"), history.column("d_acc")),
                        **mode_gap(watch.probe_array())}.items():
        ctx.metric(name, value, note=PROBE_NOTES.get(name))
    ctx.metric("probes", len(watch.probes))
    ctx.metric("probe_images", len(watch.real))
    ctx.metric("real_ink", float(np.mean(watch.real)), note=W("record_watch", "metric_real_ink", "note"))
    grids = dict(watch.grids)
    ctx.figure("snapshots", lambda lang: snapshots_figure(grids, lang), CAPTIONS["snapshots"])
    probes = watch.probe_array()
    ctx.figure("mode_probes", lambda lang: probes_figure(probes, lang),
               {lang: text.format(n=len(watch.real)) for lang, text in CAPTIONS["mode_probes"].items()})
    ctx.save_array("snapshots", np.stack([grids[s] for s in watch.grid_steps()]))
    ctx.save_value("snapshot_steps", watch.grid_steps())
    ctx.save_array("mode_probes", probes)
    ctx.save_value("mode_probe_columns", list(PROBE_COLUMNS))


def record_snapshot_digits(ctx, watch: TrainingWatch, scorer) -> None:
    """What the evaluator reads in each snapshot row: distinct digits and its mean confidence."""
    rows = []
    for step in watch.grid_steps():
        digits, confidence = scorer.classify(watch.grids[step])
        rows.append({"step": step, "digits": len(set(np.asarray(digits).tolist())),
                     "confidence": float(np.mean(confidence)), "ink": float(np.mean(watch.grids[step]))})
    ctx.save_value("snapshot_summary", rows)
