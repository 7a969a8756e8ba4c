"""What several 1.1 items share: settings, measuring a trained VAE the same way everywhere,
image grids, and the architecture checks against the handout."""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from harness.figure_text import fill  # noqa: F401 (items call common.fill)
from harness.train.evaluation import SAMPLE_SEED
from harness.words import concat, words

from experiments.evaluation.model_rows import EVALUATOR_ITEM, SCORE_KEYS, ModelRow, evaluator

from experiments.vae import models

W = words(__file__)

DIGIT_CMAP = "tab10"
Z90 = 1.6448536269514722  # Φ⁻¹(0.95): |z_i| < Z90 is the central 90 % of N(0, 1) per component


def settings(ctx: Any) -> dict[str, Any]:
    vae_settings = ctx.settings("vae")
    models.validate(vae_settings)
    return vae_settings


# ----------------------------------------------------------------- recording
class Check(NamedTuple):
    """A rubric check's outcome, computed; its two-language detail is recorded with it."""
    passed: bool
    expected: Any = None
    observed: Any = None
    not_graded: Any = None  # the reason (es/en) this profile cannot grade it, or None: graded


def record_metrics(ctx: Any, metrics: dict[str, Any], units: dict[str, str] | None = None,
                   notes: dict[str, Any] | None = None) -> None:
    """ctx.metric for each metric in the order given (an item's first three are its headline).
    A note may be a function of ctx, for the notes that quote the run's settings."""
    units, notes = units or {}, notes or {}
    for name, value in metrics.items():
        note = notes.get(name)
        ctx.metric(name, value, units.get(name), note=note(ctx) if callable(note) else note)


def record_checks(ctx: Any, checks: dict[str, Check], details: dict[str, Any]) -> None:
    """ctx.check for each check in the order given, with its detail from `details`."""
    for name, check in checks.items():
        ctx.check(name, check.passed, details[name], expected=check.expected, observed=check.observed,
                  not_graded=check.not_graded)


# ----------------------------------------------------------------- measuring a model
def measure(ctx: Any, vae: models.VAE, label: str, training: models.Training | None = None,
            train_s: float | None = None) -> dict[str, Any]:
    """Test likelihood (Bernoulli nats), sample quality in the MNIST evaluator's feature space,
    sampling rate and training cost of one trained VAE: one row of the VAE-versus-GAN
    comparison (experiments/README.md)."""
    eval_settings = ctx.settings("eval")
    vae_settings = ctx.settings("vae")
    x = ctx.data.x_test
    likelihood = models.test_likelihood(vae, x, k=eval_settings["iwae_k"], iwae_images=vae_settings["iwae_images"],
                                        seed=ctx.seed)
    samples, sample_ips = models.sample_images(vae, eval_settings["n_samples"], seed=SAMPLE_SEED)
    n_active, _ = models.active_units(vae, x)
    scores = evaluator(ctx).score(samples)
    row = ModelRow.scored(
        label, "vae", ctx.id, round(training.train_s if training else float(train_s or 0.0), 2), round(sample_ips, 1),
        scores, neg_elbo=likelihood["neg_elbo"], nll=likelihood["nll"],
        reconstruction=likelihood["reconstruction"], kl=likelihood["kl"], active_units=n_active,
        latent_dim=vae.latent_dim, params=int(vae.count_params()),
        images_per_s=round(training.images_per_s, 1) if training else None,
        nll_se=likelihood["nll_se"], iwae_k=likelihood["iwae_k"], iwae_images=likelihood["iwae_images"],
        class_hist=scores["class_hist"], n=scores["n"],
        **(steady_timing(training) if training else {}),
    ).as_dict()
    row["_samples"] = samples
    return row


def uncertainties(prefix: str, row: dict[str, Any]) -> dict[str, float]:
    """The standard errors a comparison of this model is judged by: FID-MNIST's bootstrap over
    the samples and the IWAE bound's over the test images."""
    return {f"{prefix}_fid_se": row["fid_se"], f"{prefix}_test_nll_iwae_se": row["nll_se"]}


def steady_timing(training: models.Training) -> dict[str, float]:
    """Training time as every table quotes it: seconds per epoch at steady state, and the
    one-off warm-up (the first epoch's compilation) apart (harness.train.timing)."""
    timing = training.timing
    return {"s_per_epoch": round(timing.per_unit_s, 2), "warmup_s": round(timing.warmup_s, 2),
            "steady_train_s": round(timing.steady_s, 2)}


def base_row(ctx: Any, vae: models.VAE) -> dict[str, Any]:
    """1.1e's row as 1.1e measured it (the same numbers in every comparison), plus fresh samples
    for the figures: the base model is never measured twice."""
    row = dict(ctx.input("1.1e").value("model_rows")[0])
    row["_samples"], _ = models.sample_images(vae, ctx.settings("eval")["n_samples"], seed=SAMPLE_SEED)
    return row


def public_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the arrays they carry for figures (what model_rows stores)."""
    return [{key: value for key, value in row.items() if not key.startswith("_")} for row in rows]


COMPARE_COLUMNS = W.list("compare_columns")


def compare_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[row["model"], round(row["neg_elbo"], 2), round(row["reconstruction"], 2), round(row["kl"], 2),
             round(row["nll"], 2), row["active_units"], row["params"], row["train_s"], row["sample_ips"],
             round(row["fid"], 2), round(row["precision"], 3), round(row["recall"], 3), row["classes_under_2pct"]]
            for row in rows]


LIKELIHOOD_NOTE = W("likelihood_note")
FID_NOTE = W("fid_note")


def likelihood_note(ctx: Any) -> dict[str, str]:
    eval_settings, n_test = ctx.settings("eval"), len(ctx.data.x_test)
    return fill(LIKELIHOOD_NOTE, iwae_k=eval_settings["iwae_k"], n_test=n_test, n_samples=eval_settings["n_samples"],
                iwae_images=min(ctx.settings("vae")["iwae_images"], n_test))


def fid_note(ctx: Any) -> dict[str, str]:
    return fill(FID_NOTE, n_samples=ctx.settings("eval")["n_samples"])


def with_likelihood_note(caption: dict[str, str], ctx: Any) -> dict[str, str]:
    """A comparison table's caption followed by how its likelihoods and sample scores were measured."""
    note = likelihood_note(ctx)
    return {lang: text + note[lang] for lang, text in caption.items()}


# ----------------------------------------------------------------- pictures
def tile(images: np.ndarray, cols: int) -> np.ndarray:
    """(n, 28, 28, 1) -> one 2-D mosaic, row-major, cols images per row."""
    images = images[..., 0] if images.ndim == 4 else images
    n, h, w = images.shape
    rows = -(-n // cols)
    canvas = np.ones((rows * h, cols * w), dtype="float32")
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * h:(r + 1) * h, c * w:(c + 1) * w] = img
    return canvas


def show_mosaic(ax: Any, images: np.ndarray, cols: int, title: str, row_labels: list[str] | None = None) -> None:
    ax.imshow(tile(images, cols), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    if row_labels:
        ax.set_yticks([28 * i + 14 for i in range(len(row_labels))], row_labels, fontsize=9)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
    else:
        ax.axis("off")


def reconstructions(vae: models.VAE, x: np.ndarray) -> np.ndarray:
    """Decoded posterior means: the deterministic reconstruction of each image."""
    z_mean = vae.encoder.predict(x, verbose=0)[0]
    return vae.decoder.predict(z_mean, verbose=0)


def first_of_each_digit(labels: np.ndarray) -> np.ndarray:
    return np.array([int(np.flatnonzero(labels == digit)[0]) for digit in range(10) if (labels == digit).any()])


# ----------------------------------------------------------------- architecture checks
def check_layers(ctx: Any, part: str, model: Any) -> None:
    """Layer-by-layer comparison with the handout, then the hand-computed parameter count."""
    spec = models.handout_layers(**models.HANDOUT)[part]
    built = models.describe(model)
    fields = ("name", "type", "filters/units", "kernel", "stride", "activation")
    wrong = [f"{ours[0] if ours else '-'}: {field} {observed} != {handout}"
             for handout, ours in zip(spec, built)
             for field, expected, observed in zip(fields, handout, ours) if expected != observed]
    if len(spec) != len(built):
        wrong.append(f"{len(built)} layers, the handout has {len(spec)}")
    ctx.check(f"{part}_layers_match_handout", not wrong,
              concat(W("check_layers", "layers_match"), W.fill("check_layers", "differences", wrong="; ".join(wrong)) if wrong else None),
              expected=[list(map(str, layer)) for layer in spec], observed=[list(map(str, layer)) for layer in built])
    expected = models.expected_parameters(**models.HANDOUT)[part]
    ctx.check(f"{part}_parameters_match_handout", int(model.count_params()) == expected,
              W("check_layers", "check"),
              expected=expected, observed=int(model.count_params()))


def check_latent_dim(ctx: Any, latent_dim: int) -> None:
    ctx.check("latent_dim_is_2", latent_dim == 2,
              W("check_latent_dim", "check_latent_dim_is_2"), expected=2, observed=latent_dim)
