"""1.2h: the size of z, swept at 1.2d's budget (the point z = 2 is 1.2d's own model).

The VAE's sweep of 1.1i is the counterpart: the same question, asked of a
model that is trained to reconstruct rather than to fool a critic. Each other size of z is a
unit (harness.registry.Units), trained and scored as a task of its own, gathered here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from experiments.evaluation.model_rows import PRECISION, RECALL
from experiments.evaluation.model_rows import draws_no_digits
from experiments.gan.figures import class_histogram_figure, comparison_grids
from experiments.gan.models import sample_noise
from harness.train.timing import TrainingTime
from experiments.gan.training import (TABLE_SCORES, EVALUATOR_ITEM, evaluator, generate, model_row, n_eval_samples, sample_images, score,
                                      train_one, train_settings)
from harness.train.evaluation import SAMPLE_SEED
from harness.figure_text import fill, series
from harness.registry import Units, item
from harness.words import words

W = words(__file__)

VAE_SWEEP = "1.1i"
HANDOUT_DIMS = {2, 10, 100}

CHECKS = W.table("checks")
# Why a check does not apply to this run: filled with the profile, or with 1.2d's dimension.
NOT_GRADED = W.table("not_graded")
TITLES = W.table("titles")

CAPTIONS = W.table("captions")
TABLE_COLUMNS = [W("table_columns"), "FID-MNIST", W("table_columns_2"),
                 W("table_columns_3"), PRECISION, RECALL,
                 W("table_columns_4"), W("table_columns_5"),
                 W("table_columns_6")]


SWEEP_WORDS = W("sweep_words")


def sweep_figure(points: list[dict[str, Any]], vae_rows: list[dict[str, Any]], lang: str) -> Any:
    import matplotlib.pyplot as plt

    w = SWEEP_WORDS[lang]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    dims = [p["dim"] for p in points]
    series(axes[0], dims, [p["fid"] for p in points], "o-", lang, color="#e76f51", label="GAN (1.2h)")
    series(axes[1], dims, [p["coverage_entropy"] for p in points], "o-", lang, color="#e76f51", label="GAN (1.2h)")
    vae = [r for r in vae_rows if r.get("latent_dim") is not None and r.get("fid") is not None]
    if vae:
        vdims = [r["latent_dim"] for r in vae]
        series(axes[0], vdims, [r["fid"] for r in vae], "s--", lang, color="#3a86ff", label="VAE (1.1i)")
        if all(r.get("coverage_entropy") is not None for r in vae):
            series(axes[1], vdims, [r["coverage_entropy"] for r in vae], "s--", lang, color="#3a86ff", label="VAE (1.1i)")
    axes[1].axhline(np.log(10), color="#555", ls="--", lw=0.8, label=w["uniform"])
    for ax, title in zip(axes, (w["fid"], w["entropy"])):
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(dims + [r["latent_dim"] for r in vae])))
        ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
        ax.get_xaxis().set_minor_formatter(plt.NullFormatter())  # only the swept dimensions are labelled
        ax.set_xlabel(w["dim"])
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def vae_sweep_rows(ctx) -> list[dict[str, Any]]:
    """1.1i's whole sweep (its own models and 1.1e's point), scored by the same evaluator."""
    rows = ctx.input(VAE_SWEEP).value("sweep")
    keep = [r for r in rows if r.get("latent_dim") is not None and r.get("fid") is not None]
    return sorted(keep, key=lambda r: r["latent_dim"])


@dataclass
class Trained:
    """One point's generator and what its training cost (1.2d's own, when reused)."""

    generator: Any
    train_s: float
    ms_per_step: float
    stuck_fraction: float
    reused: bool
    sample_ips: float | None = None   # 1.2d's, when reused: each model is timed once
    timing: TrainingTime | None = None


@dataclass
class SweepPoint:
    point: dict[str, Any]       # the row saved in `points`
    samples: np.ndarray         # ten of its images
    scores: dict[str, Any]
    timing: TrainingTime | None = None


def score_point(dim: int, trained: Trained, scorer: Any, noise: str, n: int) -> SweepPoint:
    """G of one latent size scored on n images of its law, in the `points` format."""
    if trained.sample_ips is None:
        images, ips = sample_images(trained.generator, noise, dim, n, SAMPLE_SEED)
    else:
        images, ips = generate(trained.generator, sample_noise(noise, n, dim, SAMPLE_SEED)), trained.sample_ips
    scores = score(scorer, images)
    point = {"dim": dim, "reused_1.2d": trained.reused, "train_s": trained.train_s, "ms_per_step": trained.ms_per_step,
             "sample_ips": ips, "g_params": int(trained.generator.count_params()), "d_acc_stuck_frac": trained.stuck_fraction,
             "class_hist": scores["class_hist"], **{k: float(scores[k]) for k in TABLE_SCORES},
             "classes_under_2pct": int(scores["classes_under_2pct"]), "fid_se": float(scores["fid_se"])}
    if trained.timing:
        point.update(steady_train_s=trained.timing.steady_s, warmup_s=trained.timing.warmup_s)
    return SweepPoint(point, images[:10], scores, trained.timing)


@dataclass
class Sweep:
    dims: list[int]
    base_dim: int               # gan.noise_dim: the point taken from 1.2d
    noise: str
    points: list[SweepPoint]
    vae_rows: list[dict[str, Any]]


def sweep_points(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """1.2h's units: one training per size of z but 1.2d's, each its own task."""
    base = settings["gan"]["noise_dim"]
    return {f"z{dim}": {"noise_dim": dim} for dim in sorted(set(int(d) for d in settings["gan_compare"]["noise_dims"]))
            if dim != base}


def train_point(ctx, noise_dim: int) -> None:
    """One point of the sweep: G and D with a z of `noise_dim` at 1.2d's budget, scored on its law."""
    gan, history, train_s = train_one(ctx, train_settings(ctx, noise_dim=noise_dim), f"GAN z={noise_dim}")
    trained = Trained(gan.generator, train_s, history.ms_per_step, history.stuck_fraction(), reused=False,
                      timing=history.timing)
    scored = score_point(noise_dim, trained, evaluator(ctx), ctx.settings("gan")["noise"], n_eval_samples(ctx))
    ctx.save_value("point", scored.point)
    ctx.save_value("scores", scored.scores)
    ctx.save_value("timing", asdict(scored.timing))
    ctx.save_array("samples", scored.samples)


def trained_point(unit) -> SweepPoint:
    return SweepPoint(unit.value("point"), unit.array("samples"), unit.value("scores"), TrainingTime(**unit.value("timing")))


@item("1.2h", "Latent dimension of the GAN", needs=("1.2d", VAE_SWEEP, EVALUATOR_ITEM), config=("gan", "gan_compare", "eval"),
      units=Units(sweep_points, train_point, needs=(EVALUATOR_ITEM,), config=("gan", "eval")))
def latent_dim(ctx):
    gan_cfg = ctx.settings("gan")
    dims = sorted(set(int(d) for d in ctx.settings("gan_compare")["noise_dims"]))
    base = ctx.input("1.2d")
    scorer = evaluator(ctx)
    points = []
    for dim in dims:
        if dim == gan_cfg["noise_dim"]:  # 1.2d trained exactly this model: score it, never train it twice
            trained = Trained(base.model("generator"), base.metrics["train_s"], base.metrics["ms_per_step"],
                              base.metrics["d_acc_stuck_frac"], reused=True, sample_ips=base.metrics["sample_ips"])
            points.append(score_point(dim, trained, scorer, gan_cfg["noise"], n_eval_samples(ctx)))
        else:
            points.append(trained_point(ctx.unit(f"z{dim}")))
    record(ctx, Sweep(dims, gan_cfg["noise_dim"], gan_cfg["noise"], points, vae_sweep_rows(ctx)))


def record(ctx, sweep: Sweep) -> None:
    dims, points, vae_rows = sweep.dims, [p.point for p in sweep.points], sweep.vae_rows
    samples = {f"z={p['dim']}": sp.samples for p, sp in zip(points, sweep.points)}
    rows = [model_row(f"GAN z={p['dim']} {sweep.noise}", "1.2d" if p["reused_1.2d"] else ctx.id, p["train_s"], p["sample_ips"],
                      sp.scores, timing=sp.timing) for p, sp in zip(points, sweep.points)]

    for p in points:  # a point that draws no digits is ranked against nothing (harness.verdicts.degenerate)
        p["no_digits"] = draws_no_digits(ctx, p)
    drawing = [p for p in points if not p["no_digits"]]
    ctx.metric("n_dims_drawing", len(drawing))
    best = min(drawing or points, key=lambda p: p["fid"])
    ctx.metric("best_dim_by_fid", best["dim"])
    ctx.metric("best_fid", best["fid"])
    ctx.metric("best_fid_se", best["fid_se"])
    for p in points:
        ctx.metric(f"fid_z{p['dim']}", p["fid"])
        ctx.metric(f"coverage_entropy_z{p['dim']}", p["coverage_entropy"], "nats")
        ctx.metric(f"classes_under_2pct_z{p['dim']}", p["classes_under_2pct"])
        ctx.metric(f"train_s_z{p['dim']}", p["train_s"], "s")
    ctx.metric("n_dims", len(points))
    ctx.metric("fid_first_dim", points[0]["fid"])
    ctx.metric("fid_last_dim", points[-1]["fid"])
    ctx.metric("fid_first_dim_se", points[0]["fid_se"])
    ctx.metric("fid_last_dim_se", points[-1]["fid_se"])
    ctx.metric("first_dim", points[0]["dim"])
    ctx.metric("last_dim", points[-1]["dim"])
    no_digits = {"best": best["no_digits"], "first": points[0]["no_digits"], "last": points[-1]["no_digits"]}
    ctx.check("reuses_1.2d", any(p["reused_1.2d"] for p in points),
              {lang: text.format(dim=sweep.base_dim) for lang, text in CHECKS["reuses_1.2d"].items()},
              expected=sweep.base_dim, observed=[p["dim"] for p in points if p["reused_1.2d"]],
              not_graded=None if sweep.base_dim in dims else fill(NOT_GRADED["base_not_swept"], dim=sweep.base_dim))
    ctx.check("sweep_covers_handout_range", HANDOUT_DIMS <= set(dims),
              CHECKS["sweep_covers_handout_range"], expected=sorted(HANDOUT_DIMS), observed=dims,
              not_graded=None if ctx.profile == "full" else fill(NOT_GRADED["reduced_sweep"], profile=ctx.profile))

    ctx.metric("vae_points", len(vae_rows))
    vae_sweep = [{"dim": r["latent_dim"], "fid": r["fid"], "fid_se": r.get("fid_se"), "coverage_entropy": r.get("coverage_entropy"),
                  "classes_under_2pct": r.get("classes_under_2pct"), "no_digits": draws_no_digits(ctx, r)} for r in vae_rows]
    ctx.save_value("vae_sweep", vae_sweep)
    if vae_rows:
        vae_drawing = [r for r, w in zip(vae_rows, vae_sweep) if not w["no_digits"]]
        ctx.metric("vae_points_drawing", len(vae_drawing))
        vae_best = min(vae_drawing or vae_rows, key=lambda r: r["fid"])
        ctx.metric("vae_best_dim_by_fid", vae_best["latent_dim"])
        ctx.metric("vae_best_fid", vae_best["fid"])
        ctx.metric("vae_best_fid_se", vae_best.get("fid_se"))
        no_digits["vae_best"] = draws_no_digits(ctx, vae_best)
    ctx.save_value("no_digits", no_digits)  # the sides of the answer's comparisons (harness.verdicts.degenerate)
    ctx.table("sweep", TABLE_COLUMNS,
              [[p["dim"], round(p["fid"], 2), round(p["coverage_entropy"], 3), p["classes_under_2pct"], round(p["precision"], 3),
                round(p["recall"], 3), p["g_params"], round(p["train_s"], 1), "1.2d" if p["reused_1.2d"] else "1.2h"] for p in points],
              {lang: text.format(n=n_samples(points)) for lang, text in CAPTIONS["sweep_table"].items()})
    ctx.figure("sweep", lambda lang: sweep_figure(points, vae_rows, lang),
               {lang: text + (CAPTIONS["sweep_with_vae"][lang] if vae_rows else "") for lang, text in CAPTIONS["sweep"].items()})
    ctx.figure("samples", comparison_grids(samples, 10), CAPTIONS["samples"])
    hists = {k: p["class_hist"] for k, p in zip(samples, points)}
    ctx.figure("class_histogram", lambda lang: class_histogram_figure(hists, TITLES["class_histogram"], lang),
               CAPTIONS["class_histogram"])
    ctx.save_value("points", points)
    ctx.save_value("model_rows", [r for r, p in zip(rows, points) if not p["reused_1.2d"]])


def n_samples(points: list[dict[str, Any]]) -> int:
    return int(sum(points[0]["class_hist"]))
