"""1.2e: new digits from the trained G, and the GAN against the VAE.

Samples come from U(-1, 1), the law G was trained with. The VAE of 1.1e is
sampled from its N(0, I) prior and scored by the same evaluator on as many
images, so quality (FID-MNIST, class coverage), sampling speed and training
time compare on equal terms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import experiments.vae.models  # noqa: F401  registers the VAE class, so a worker process (--jobs) can load 1.1e's model
from experiments.evaluation.model_rows import MODEL, PRECISION, RECALL
from experiments.evaluation.model_rows import draws_no_digits
from experiments.gan.figures import (class_histogram_figure, comparison_grids, image_grid, interpolate, interpolation_figure,
                                    latent_grid, manifold_figure)
from experiments.gan.models import sample_noise
from experiments.gan.costs import FID_SE_NOTE, costs, record_costs
from experiments.gan.training import (TABLE_SCORES, EVALUATOR_ITEM, evaluator, follows_law, generate, n_eval_samples,
                                      score)
from harness.train.evaluation import SAMPLE_SEED
from harness.train.timing import SAMPLE_BATCH, TIMED_CALLS
from harness.registry import item
from harness.words import words

W = words(__file__)

VAE_ITEM = "1.1e"
MANIFOLD_N = 20
INTERP_PAIRS, INTERP_STEPS = 6, 10
NOISE_DRAWS = 10000  # draws of the sampler G's images come from, whose range and moments the check tests

CHECKS = W.table("checks")
NOTES = W.table("notes")
TITLES = W.table("titles")

CAPTIONS = {**W.table("captions"), "latent_manifold": W.fill("captions", "latent_manifold", n=MANIFOLD_N)}
TABLE_COLUMNS = [MODEL, "FID-MNIST", W("table_columns"),
                 W("table_columns_2"), W("table_columns_3"),
                 PRECISION, RECALL, W("table_columns_4"),
                 W("table_columns_5")]


def vae_samples(vae: Any, n: int) -> np.ndarray:
    """n images decoded from the 1.1e VAE's N(0, I) prior, the draw 1.1e scored."""
    z = np.random.default_rng(SAMPLE_SEED).standard_normal((n, vae.latent_dim)).astype("float32")  # as 1.1e
    return np.asarray(vae.decoder.predict(z, batch_size=1000, verbose=0))


def labelled(scorer, images: np.ndarray) -> list[str]:
    digits, conf = scorer.classify(images)
    return [f"{d} ({c:.0%})" for d, c in zip(digits, conf)]


@dataclass
class Generation:
    """G's samples next to the VAE's, both scored by the evaluator."""

    z16: np.ndarray                 # the handout's cell: 16 draws of U(-1, 1)
    few: np.ndarray                 # G(z16)
    few_labels: list[str]           # the evaluator's digit and confidence for each
    gan_images: np.ndarray          # eval.n_samples images, the draw 1.2d was scored on
    manifold: np.ndarray | None     # G over a regular grid of [-1, 1]², when z is 2-D
    vae_images: np.ndarray
    gan_scores: dict[str, Any]
    vae_scores: dict[str, Any]
    walks: np.ndarray | None = None         # (pairs, steps, 28, 28, 1): G along straight lines in z
    walk_labels: np.ndarray | None = None   # the evaluator's digit at every point of them

    @property
    def n(self) -> int:
        return len(self.gan_images)


def generate_and_compare(generator: Any, vae: Any, scorer: Any, noise: str, dim: int, n: int, seed: int) -> Generation:
    # The handout's cell: noise U(-1, 1), G.predict, a 4x4 subplot grid (it draws N = 10 and leaves 6 cells empty; we fill all 16).
    z16 = sample_noise(noise, 16, dim, seed)
    few = generate(generator, z16)
    few_labels = labelled(scorer, few)
    gan_images = generate(generator, sample_noise(noise, n, dim, SAMPLE_SEED))
    manifold = generate(generator, latent_grid(MANIFOLD_N, -1, 1)) if dim == 2 else None
    vae_images = vae_samples(vae, n)
    walks, walk_labels = interpolation(generator, scorer, noise, dim, seed)
    return Generation(z16, few, few_labels, gan_images, manifold, vae_images,
                      score(scorer, gan_images), score(scorer, vae_images), walks, walk_labels)


def interpolation(generator: Any, scorer: Any, noise: str, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """G along the straight line between pairs of z drawn from its own law, and the evaluator's digit at each point."""
    path = interpolate(sample_noise(noise, INTERP_PAIRS, dim, seed + 1), sample_noise(noise, INTERP_PAIRS, dim, seed + 2),
                       INTERP_STEPS)
    images = generate(generator, path.reshape(-1, dim))
    digits, _ = scorer.classify(images)
    return images.reshape(INTERP_PAIRS, INTERP_STEPS, *images.shape[1:]), np.asarray(digits).reshape(INTERP_PAIRS, -1)


@item("1.2e", "Generating digits with G, compared with the VAE", needs=("1.2d", VAE_ITEM, EVALUATOR_ITEM), config=("gan", "eval"),
      shows=("gan_samples",))
def generation(ctx):
    gan_cfg = ctx.settings("gan")
    base, vae_run = ctx.input("1.2d"), ctx.input(VAE_ITEM)
    generator = base.model("generator")
    vae = vae_run.model("vae")
    result = generate_and_compare(generator, vae, evaluator(ctx), gan_cfg["noise"], gan_cfg["noise_dim"],
                                  n_eval_samples(ctx), ctx.seed)
    record(ctx, result, gan_cfg["noise"], int(generator.count_params()),
           cost=costs(base, vae_run, base.model("discriminator"), generator, vae, gan_cfg["batch_size"]))


def record(ctx, result: Generation, noise: str, gan_params: int, cost: dict[str, float]) -> None:
    n = result.n
    # The sampler the 16 cells and the scored images come from, drawn often enough for its moments to mean something.
    z = sample_noise(noise, NOISE_DRAWS, result.z16.shape[1], 0)
    ctx.check("noise_uniform_in_range", noise == "uniform" and follows_law(z, "uniform"), CHECKS["noise_uniform_in_range"],
              expected=["uniform", -1, 1, 0.0, 0.577],
              observed=[noise, float(z.min()), float(z.max()), round(float(z.mean()), 3), round(float(z.std()), 3)])
    ctx.figure("samples_4x4", image_grid(result.few, 4, 4, "G(z), z ~ U(-1, 1)", size=1.2, labels=result.few_labels),
               CAPTIONS["samples_4x4"])
    ctx.figure("samples_10x10",
               lambda lang: image_grid(result.gan_images[:100], 10, 10, TITLES["samples_10x10"], size=0.8, lang=lang),
               CAPTIONS["samples_10x10"])
    if result.manifold is not None:
        ctx.figure("latent_manifold",
                   lambda lang: manifold_figure(result.manifold, MANIFOLD_N, -1, 1, TITLES["latent_manifold"], lang),
                   CAPTIONS["latent_manifold"])

    if result.walks is not None:
        ends = [(str(row[0]), str(row[-1])) for row in result.walk_labels]
        ctx.figure("interpolation", interpolation_figure(result.walks, ends), CAPTIONS["interpolation"])
        ctx.metric("interp_digit_changes", float((np.diff(result.walk_labels, axis=1) != 0).sum(1).mean()),
                   note=NOTES["interp_digit_changes"])

    gan_scores, vae_scores = result.gan_scores, result.vae_scores
    samples_note = {lang: text.format(n=n) for lang, text in NOTES["n_samples"].items()}
    ctx.metric("gan_fid", gan_scores["fid"], note=samples_note)
    ctx.metric("vae_fid", vae_scores["fid"], note=samples_note)
    ctx.metric("gan_fid_se", gan_scores["fid_se"], note=FID_SE_NOTE)
    ctx.metric("vae_fid_se", vae_scores["fid_se"], note=FID_SE_NOTE)
    ctx.metric("gan_params", gan_params)
    record_costs(ctx, cost)
    for key, unit in (("coverage_entropy", "nats"), ("classes_under_2pct", None), ("mean_confidence", None),
                      ("density", None), ("coverage", None), ("precision", None), ("recall", None)):
        ctx.metric(f"gan_{key}", gan_scores[key], unit)
        ctx.metric(f"vae_{key}", vae_scores[key], unit)
    ctx.metric("n_samples", n)
    ctx.save_value("no_digits", {"gan": draws_no_digits(ctx, gan_scores), "vae": draws_no_digits(ctx, vae_scores)})

    rows = [["GAN (1.2d)", *(round(float(gan_scores[k]), 3) for k in TABLE_SCORES), round(cost["gan_sample_ips"]),
             round(cost["gan_steady_train_s"], 1)],
            ["VAE (1.1e)", *(round(float(vae_scores[k]), 3) for k in TABLE_SCORES), round(cost["vae_sample_ips"]),
             round(cost["vae_steady_train_s"], 1)]]
    ctx.table("gan_vs_vae", TABLE_COLUMNS, rows,
              W.fill("captions", "gan_vs_vae_table", n=n, timed_calls=TIMED_CALLS, sample_batch=SAMPLE_BATCH))
    ctx.figure("gan_vs_vae", comparison_grids({"GAN": result.gan_images[:10], "VAE": result.vae_images[:10]}, 10),
               CAPTIONS["gan_vs_vae"])
    hists = {"GAN": gan_scores["class_hist"], "VAE": vae_scores["class_hist"]}
    ctx.figure("class_histogram", lambda lang: class_histogram_figure(hists, TITLES["class_histogram"], lang),
               CAPTIONS["class_histogram"])
