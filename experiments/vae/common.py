"""What several 1.1 items share: settings, measuring a trained VAE the same way everywhere,
image grids, and the architecture checks against the handout."""
from __future__ import annotations

from typing import Any

import numpy as np

from harness.train.evaluation import SAMPLE_SEED

from experiments.evaluation.model_rows import EVALUATOR_ITEM, SCORE_KEYS, ModelRow, evaluator

from experiments.vae import models as M

DIGIT_CMAP = "tab10"
Z90 = 1.6448536269514722  # Φ⁻¹(0.95): |z_i| < Z90 is the central 90 % of N(0, 1) per component


def settings(ctx: Any) -> dict[str, Any]:
    s = ctx.settings("vae")
    M.validate(s)
    return s


# ----------------------------------------------------------------- measuring a model
def measure(ctx: Any, vae: M.VAE, label: str, training: M.Training | None = None,
            train_s: float | None = None) -> dict[str, Any]:
    """Test likelihood (Bernoulli nats), sample quality in the MNIST evaluator's feature space,
    sampling rate and training cost of one trained VAE: one row of the VAE-versus-GAN
    comparison (experiments/README.md)."""
    ev = ctx.settings("eval")
    s = ctx.settings("vae")
    x = ctx.data.x_test
    lik = M.test_likelihood(vae, x, k=ev["iwae_k"], iwae_images=s["iwae_images"], seed=ctx.seed)
    samples, ips = M.sample_images(vae, ev["n_samples"], seed=SAMPLE_SEED)
    n_active, _ = M.active_units(vae, x)
    scores = evaluator(ctx).score(samples)
    row = ModelRow.scored(
        label, "vae", ctx.id, round(training.train_s if training else float(train_s or 0.0), 2), round(ips, 1),
        scores, neg_elbo=lik["neg_elbo"], nll=lik["nll"],
        reconstruction=lik["reconstruction"], kl=lik["kl"], active_units=n_active,
        latent_dim=vae.latent_dim, params=int(vae.count_params()),
        images_per_s=round(training.images_per_s, 1) if training else None,
        nll_se=lik["nll_se"], iwae_k=lik["iwae_k"], iwae_images=lik["iwae_images"],
        class_hist=scores["class_hist"], n=scores["n"],
    ).as_dict()
    row["_samples"] = samples
    return row


def base_row(ctx: Any, vae: M.VAE) -> dict[str, Any]:
    """1.1e's row as 1.1e measured it (the same numbers in every comparison), plus fresh samples
    for the figures: the base model is never measured twice."""
    row = dict(ctx.input("1.1e").value("model_rows")[0])
    row["_samples"], _ = M.sample_images(vae, ctx.settings("eval")["n_samples"], seed=SAMPLE_SEED)
    return row


def public_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the arrays they carry for figures (what model_rows stores)."""
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


COMPARE_COLUMNS = [
    {"es": "modelo", "en": "model"},
    {"es": "−ELBO test (nats)", "en": "test −ELBO (nats)"},
    {"es": "reconstrucción", "en": "reconstruction"},
    {"es": "KL", "en": "KL"},
    {"es": "NLL IWAE", "en": "IWAE NLL"},
    {"es": "unidades activas", "en": "active units"},
    {"es": "parámetros", "en": "parameters"},
    {"es": "entrenamiento (s)", "en": "training (s)"},
    {"es": "muestreo (img/s)", "en": "sampling (img/s)"},
    "FID-MNIST",
    {"es": "precisión", "en": "precision"},
    {"es": "exhaustividad", "en": "recall"},
    {"es": "clases < 2 %", "en": "classes < 2 %"},
]


def compare_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[r["model"], round(r["neg_elbo"], 2), round(r["reconstruction"], 2), round(r["kl"], 2),
             round(r["nll"], 2), r["active_units"], r["params"], r["train_s"], r["sample_ips"],
             round(r["fid"], 2), round(r["precision"], 3), round(r["recall"], 3), r["classes_under_2pct"]] for r in rows]


def likelihood_note(ctx: Any) -> dict[str, str]:
    s, ev = ctx.settings("vae"), ctx.settings("eval")
    n = min(s["iwae_images"], len(ctx.data.x_test))
    return {"es": f"IWAE con k = {ev['iwae_k']} sobre {n} imágenes de test (error estándar en la fila del modelo); "
                  f"−ELBO sobre {len(ctx.data.x_test)}; "
                  f"FID-MNIST, precisión y exhaustividad sobre {ev['n_samples']} muestras.",
            "en": f"IWAE with k = {ev['iwae_k']} over {n} test images (standard error in the model's row); "
                  f"−ELBO over {len(ctx.data.x_test)}; "
                  f"FID-MNIST, precision and recall over {ev['n_samples']} samples."}


def fid_note(ctx: Any) -> dict[str, str]:
    n = ctx.settings("eval")["n_samples"]
    return {"es": f"FID-MNIST de {n} muestras del prior contra el test (menor es mejor)",
            "en": f"FID-MNIST of {n} prior samples against the test set (lower is better)"}


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


def reconstructions(vae: M.VAE, x: np.ndarray) -> np.ndarray:
    """Decoded posterior means: the deterministic reconstruction of each image."""
    z_mean = vae.encoder.predict(x, verbose=0)[0]
    return vae.decoder.predict(z_mean, verbose=0)


def first_of_each_digit(y: np.ndarray) -> np.ndarray:
    return np.array([int(np.flatnonzero(y == d)[0]) for d in range(10) if (y == d).any()])


# ----------------------------------------------------------------- architecture checks
def check_layers(ctx: Any, part: str, model: Any) -> None:
    """Layer-by-layer comparison with the handout, then the hand-computed parameter count."""
    spec = M.handout_layers(**M.HANDOUT)[part]
    built = M.describe(model)
    fields = ("name", "type", "filters/units", "kernel", "stride", "activation")
    wrong = [f"{b[0] if b else '-'}: {f} {o} != {e}"
             for e, b in zip(spec, built) for f, e_v, o in zip(fields, e, b) if e_v != o]
    if len(spec) != len(built):
        wrong.append(f"{len(built)} layers, the handout has {len(spec)}")
    ctx.check(f"{part}_layers_match_handout", not wrong,
              {"es": "Capa por capa (tipo, filtros o unidades, kernel, stride, activación) igual al enunciado."
                     + (" Diferencias: " + "; ".join(wrong) if wrong else ""),
               "en": "Layer by layer (type, filters or units, kernel, stride, activation) as in the handout."
                     + (" Differences: " + "; ".join(wrong) if wrong else "")},
              expected=[list(map(str, e)) for e in spec], observed=[list(map(str, b)) for b in built])
    expected = M.expected_parameters(**M.HANDOUT)[part]
    ctx.check(f"{part}_parameters_match_handout", int(model.count_params()) == expected,
              {"es": "Parámetros contados a mano desde el código del enunciado (ver models.expected_parameters).",
               "en": "Parameters counted by hand from the handout's code (see models.expected_parameters)."},
              expected=expected, observed=int(model.count_params()))


def check_latent_dim(ctx: Any, latent_dim: int) -> None:
    ctx.check("latent_dim_is_2", latent_dim == 2,
              {"es": "El enunciado usa 2 variables latentes en 1.1a–g.",
               "en": "The handout uses 2 latent variables in 1.1a–g."}, expected=2, observed=latent_dim)
