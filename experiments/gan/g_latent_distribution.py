"""1.2g: the same GAN with another latent law, trained at 1.2d's budget and compared.

The change is two lines of the handout: np.random.uniform(-1, 1, ...) becomes
np.random.normal(0, 1, ...) both where G is trained (noise_gen, noise_tr) and
where it is sampled (1.2e). Here it is the GAN's in-graph sampler.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.evaluation.model_rows import PRECISION, RECALL
from experiments.evaluation.model_rows import draws_no_digits
from experiments.gan.figures import class_histogram_figure, comparison_grids, curves_figure, latent_grid, manifold_figure
from experiments.gan.models import GAN, sample_noise
from experiments.gan.training import (TABLE_SCORES, EVALUATOR_ITEM, LAW_MOMENTS, History, evaluator, follows_law, generate,
                                      model_row, n_eval_samples, record_scores, sample_images, score, train_one,
                                      train_settings)
from harness.errors import ConfigError
from harness.figure_text import fill
from harness.registry import item
from harness.train.evaluation import SAMPLE_SEED
from harness.verdicts import degenerate, verdict
from harness.words import words

W = words(__file__)

MANIFOLD_N = 20
UNIFORM_STD = 3 ** -0.5   # U(-1, 1) has variance 1/3: the matched Gaussian is N(0, 1/3)
GAUSS_SPAN = 2.5   # the manifold of a N(0, 1) latent is drawn over [-2.5, 2.5]², 99 % of each coordinate
NOISE_DRAWS = 10000  # draws of the new GAN's own sampler whose moments latent_law_used checks

NOTES = W.table("notes")
CHECKS = W.table("checks")
TITLES = W.table("titles")

CAPTIONS = W.table("captions")
TABLE_COLUMNS = ["z", "FID-MNIST", W("table_columns"),
                 W("table_columns_2"), W("table_columns_3"),
                 PRECISION, RECALL]


@dataclass
class LawComparison:
    """The new GAN and 1.2d's, each sampled from its own law of z and scored by the same evaluator."""

    base_noise: str
    noise: str
    label: str
    gan: GAN
    history: History
    train_s: float
    base_steps: int
    scores: dict[str, Any]
    images: np.ndarray
    sample_ips: float
    base_scores: dict[str, Any]
    base_images: np.ndarray
    z_draws: np.ndarray             # NOISE_DRAWS draws of the new GAN's in-graph sampler
    manifold: np.ndarray | None     # the new G over [-GAUSS_SPAN, GAUSS_SPAN]², when z is 2-D
    plane: dict[str, Any] | None = None   # what the evaluator reads in the manifold (plane_reading)
    matched: "MatchedRun | None" = None   # the Gaussian again, with U(-1, 1)'s variance


@dataclass
class MatchedRun:
    """The same training with z ~ N(0, 1/3): it separates the law's shape from its spread."""

    history: History
    train_s: float
    scores: dict[str, Any]
    images: np.ndarray
    z_draws: np.ndarray


def compare_laws(gan: GAN, base_generator: Any, scorer: Any, noise: str, base_noise: str, n: int) -> dict[str, Any]:
    """Both generators scored on n images of their own law; the new GAN's sampler draws and latent manifold."""
    dim = gan.noise_dim
    images, ips = sample_images(gan.generator, noise, dim, n, SAMPLE_SEED)
    scores = score(scorer, images)
    base_images = generate(base_generator, sample_noise(base_noise, n, dim, SAMPLE_SEED))  # 1.2d timed it
    base_scores = score(scorer, base_images)
    z_draws = np.asarray(gan.sample_z(NOISE_DRAWS))
    manifold = generate(gan.generator, latent_grid(MANIFOLD_N, -GAUSS_SPAN, GAUSS_SPAN)) if dim == 2 else None
    return {"scores": scores, "images": images, "sample_ips": ips, "base_scores": base_scores, "base_images": base_images,
            "z_draws": z_draws, "manifold": manifold,
            "plane": plane_reading(scorer, manifold, MANIFOLD_N) if manifold is not None else None}


CENTRE = 0.5  # a cell is in the centre when its largest |z| coordinate is within half the span


def plane_reading(scorer: Any, images: np.ndarray, n: int) -> dict[str, Any]:
    """What the answer may say about the latent-plane figure, measured on it: the evaluator's mean
    confidence over the centre cells against the border cells (each ± its standard error over cells),
    which of the two it recognises better (harness.verdicts.verdict, or None: no clear difference),
    and whether the plane draws digits at all (≥ 90 % of the cells in one class: "one_class")."""
    labels, confidence = scorer.classify(images)
    confidence = np.asarray(confidence, dtype=float).reshape(n, n)
    half = (n - 1) / 2
    idx = np.abs(np.arange(n) - half) / half
    centre = np.maximum(idx[:, None], idx[None, :]) <= CENTRE
    c, b = confidence[centre], confidence[~centre]
    se = lambda x: float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")  # noqa: E731
    hist = np.bincount(np.asarray(labels).reshape(-1), minlength=10).tolist()
    why = degenerate({"class_hist": hist}, None)
    v = verdict(float(c.mean()), se(c), float(b.mean()), se(b), lower_is_better=False)
    return {"centre": float(c.mean()), "centre_se": se(c), "border": float(b.mean()), "border_se": se(b),
            "one_class_share": max(hist) / max(sum(hist), 1), "no_digits": why,
            "better": None if why else {"a": "centre", "b": "border"}.get(v.winner)}


@item("1.2g", "Another latent distribution for z", needs=("1.2d", EVALUATOR_ITEM), config=("gan", "gan_compare", "eval"))
def latent_distribution(ctx):
    gan_cfg, cmp_cfg = ctx.settings("gan"), ctx.settings("gan_compare")
    noise = cmp_cfg["noise"]
    if noise == gan_cfg["noise"]:
        raise ConfigError(f"setting 'gan_compare.noise' = '{noise}' equals 'gan.noise': 1.2g needs a different law (e.g. gaussian)")
    settings = train_settings(ctx, noise=noise)
    label = f"GAN z={settings.noise_dim} {noise}"

    gan, history, train_s = train_one(ctx, settings, label)
    base = ctx.input("1.2d")
    scorer = evaluator(ctx)
    compared = compare_laws(gan, base.model("generator"), scorer, noise, gan_cfg["noise"], n_eval_samples(ctx))
    matched = matched_run(ctx, scorer) if (noise, gan_cfg["noise"]) == ("gaussian", "uniform") else None
    record(ctx, LawComparison(gan_cfg["noise"], noise, label, gan, history, train_s, base.metrics["steps"], **compared,
                              matched=matched))


def matched_run(ctx, scorer: Any) -> MatchedRun:
    """The Gaussian GAN trained again with σ = 1/√3: if it does as the uniform does, 1.2g's gap was
    the spread of N(0, 1) (three times the variance G was built for), not the Gaussian's shape."""
    settings = train_settings(ctx, noise="gaussian", noise_std=UNIFORM_STD)
    gan, history, train_s = train_one(ctx, settings, f"GAN z={settings.noise_dim} N(0, 1/3)")
    images, _ = sample_images(gan.generator, "gaussian", settings.noise_dim, n_eval_samples(ctx), SAMPLE_SEED,
                              std=UNIFORM_STD)
    return MatchedRun(history, train_s, score(scorer, images), images, np.asarray(gan.sample_z(NOISE_DRAWS)))


def record(ctx, result: LawComparison) -> None:
    noise, base_noise, history = result.noise, result.base_noise, result.history
    scores, base_scores, z = result.scores, result.base_scores, result.z_draws
    ctx.metric("fid", scores["fid"], note={lang: text.format(noise=noise) for lang, text in NOTES["fid"].items()})
    ctx.metric("base_fid", base_scores["fid"], note=NOTES["base_fid"])
    ctx.metric("fid_change", scores["fid"] - base_scores["fid"], note=NOTES["fid_change"])
    record_scores(ctx, scores, prefix="new_")
    record_scores(ctx, base_scores, prefix="base_")
    ctx.metric("train_s", result.train_s, "s")
    ctx.metric("ms_per_step", history.ms_per_step, "ms")
    ctx.metric("z_mean", float(z.mean()))
    ctx.metric("z_std", float(z.std()))
    ctx.metric("z_outside_unit_box", float(np.mean(np.any(np.abs(z) > 1, axis=1))), note=NOTES["z_outside_unit_box"])
    ctx.metric("d_acc_stuck_frac", history.stuck_fraction())
    no_digits = {"new": draws_no_digits(ctx, scores), "base": draws_no_digits(ctx, base_scores)}
    if result.matched is not None:
        no_digits["matched"] = draws_no_digits(ctx, result.matched.scores)
    ctx.save_value("no_digits", no_digits)
    if result.plane is not None:
        ctx.save_value("plane", result.plane)
    ctx.check("latent_law_used", follows_law(z, noise) and noise != base_noise, CHECKS["latent_law_used"],
              expected=[noise, *LAW_MOMENTS[noise]], observed=[noise, float(z.mean()), float(z.std())])
    ctx.check("same_budget_as_1.2d", history.steps == result.base_steps, CHECKS["same_budget_as_1.2d"],
              expected=result.base_steps, observed=history.steps)

    base_label, new_label, matched_label = f"{base_noise} (1.2d)", f"{noise} (1.2g)", "gaussian σ²=1/3 (1.2g)"
    rows = [[base_label, *(round(float(base_scores[k]), 3) for k in TABLE_SCORES)],
            [new_label, *(round(float(scores[k]), 3) for k in TABLE_SCORES)]]
    matched = result.matched
    if matched is not None:
        record_matched(ctx, matched)
        rows.append([matched_label, *(round(float(matched.scores[k]), 3) for k in TABLE_SCORES)])
    ctx.table("comparison", TABLE_COLUMNS, rows,
              {lang: text.format(n=scores["n"]) for lang, text in CAPTIONS["comparison"].items()})
    curves_title = fill(TITLES["curves"], label=result.label, steps=history.steps)
    ctx.figure("curves", lambda lang: curves_figure(history, curves_title, lang), CAPTIONS["curves"])
    grids = {base_noise: result.base_images[:10], noise: result.images[:10]}
    hists = {base_label: base_scores["class_hist"], new_label: scores["class_hist"]}
    if matched is not None:
        grids["σ²=1/3"] = matched.images[:10]
        hists[matched_label] = matched.scores["class_hist"]
    ctx.figure("samples", comparison_grids(grids, 10), CAPTIONS["samples"])
    ctx.figure("class_histogram", lambda lang: class_histogram_figure(hists, TITLES["class_histogram"], lang),
               CAPTIONS["class_histogram"])
    if result.manifold is not None:
        manifold_title = fill(TITLES["latent_manifold"], span=GAUSS_SPAN)
        ctx.figure("latent_manifold", lambda lang: manifold_figure(result.manifold, MANIFOLD_N, -GAUSS_SPAN, GAUSS_SPAN,
                                                                   manifold_title, lang),
                   CAPTIONS["latent_manifold"])

    ctx.save_array("history", history.values)
    ctx.save_model("generator", result.gan.generator)
    ctx.save_value("model_rows", [model_row(result.label, ctx.id, result.train_s, result.sample_ips, scores,
                                                timing=result.history.timing)])


def record_matched(ctx, matched: MatchedRun) -> None:
    z = matched.z_draws
    ctx.metric("matched_fid", matched.scores["fid"], note=NOTES["matched_fid"])
    ctx.metric("matched_classes_under_2pct", int(matched.scores["classes_under_2pct"]))
    ctx.metric("matched_coverage_entropy", float(matched.scores["coverage_entropy"]), "nats")
    ctx.metric("matched_precision", float(matched.scores["precision"]))
    ctx.metric("matched_recall", float(matched.scores["recall"]))
    ctx.metric("matched_z_std", float(z.std()))
    ctx.metric("matched_z_outside_unit_box", float(np.mean(np.any(np.abs(z) > 1, axis=1))),
               note=NOTES["matched_z_outside_unit_box"])
    ctx.metric("matched_train_s", matched.train_s, "s")
    ctx.metric("matched_d_acc_stuck_frac", matched.history.stuck_fraction())
    ctx.save_value("matched_class_hist", matched.scores["class_hist"])
