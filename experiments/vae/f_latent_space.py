"""1.1f: where the test set lands in the 2-D latent space, and how wide q(z|x) is."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import norm

from harness.registry import item
from harness.words import words

from experiments.vae import common
from experiments.vae.common import Z90

W = words(__file__)

NOTES = W.table("notes")
PER_DIGIT_COLUMNS = W.list("per_digit_columns")
CAPTIONS = W.table("captions")


@dataclass
class LatentSpace:
    mu: np.ndarray                  # the test set's posterior means, (n, latent_dim)
    log_var: np.ndarray             # and log-variances
    labels: np.ndarray              # the test set's digits
    metrics: dict[str, Any]         # in report order
    per_digit: list[list[Any]]      # PER_DIGIT_COLUMNS


def locate_test_set(vae, data) -> LatentSpace:
    """Where q(z|x) puts the test set, how wide it is, and how well z separates the digits."""
    mu, log_var = vae.encoder.predict(data.x_test, batch_size=1000, verbose=0)
    var = np.exp(log_var)
    mu_train = vae.encoder.predict(data.x_train, batch_size=1000, verbose=0)[0]
    # How well the digits separate in z: 5-nearest-neighbour vote of training μ's for each test μ.
    _, near = cKDTree(mu_train).query(mu, k=5)
    votes = data.y_train[near]
    knn = np.array([np.bincount(vote, minlength=10).argmax() for vote in votes])
    inside = np.all(np.abs(mu) < Z90, axis=1)
    metrics = {"knn_accuracy": float((knn == data.y_test).mean()),
               "inside_90_region": float(inside.mean()),
               "mean_var_z1": float(var[:, 0].mean())}
    for i in range(2):
        metrics[f"mu_mean_z{i + 1}"] = float(mu[:, i].mean())
        metrics[f"mu_std_z{i + 1}"] = float(mu[:, i].std())
        metrics[f"median_var_z{i + 1}"] = float(np.median(var[:, i]))
    metrics["mean_var_z2"] = float(var[:, 1].mean())
    # Aggregate posterior variance = Var(μ) + E[σ²]: 1 per component if q(z) matched N(0, I) exactly.
    metrics["aggregate_var_z1"] = float(mu[:, 0].var() + var[:, 0].mean())
    metrics["aggregate_var_z2"] = float(mu[:, 1].var() + var[:, 1].mean())
    y = data.y_test
    per_digit = [[digit, round(float(mu[y == digit, 0].mean()), 2), round(float(mu[y == digit, 1].mean()), 2),
                  round(float(np.median(var[y == digit]).item()), 3), int((y == digit).sum())]
                 for digit in range(10) if (y == digit).any()]
    return LatentSpace(mu, log_var, y, metrics, per_digit)


WORDS = W("words")


def record(ctx, result: LatentSpace) -> None:
    common.record_metrics(ctx, result.metrics, notes=NOTES)
    ctx.figure("latent_scatter", lambda lang: scatter_figure(result.mu, result.labels, lang), CAPTIONS["latent_scatter"])
    ctx.figure("latent_histograms", lambda lang: histogram_figure(result.mu, np.exp(result.log_var), lang),
               CAPTIONS["latent_histograms"])
    ctx.table("per_digit", PER_DIGIT_COLUMNS, result.per_digit, CAPTIONS["per_digit"], detail=True)
    ctx.save_array("test_mu", result.mu)
    ctx.save_array("test_log_var", result.log_var)
    common.check_latent_dim(ctx, result.mu.shape[1])


def scatter_figure(mu: np.ndarray, y: np.ndarray, lang: str):
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm

    w = WORDS[lang]
    fig, ax = plt.subplots(figsize=(7.4, 6.2))
    bounds = np.arange(-0.5, 10.5)
    points = ax.scatter(mu[:, 0], mu[:, 1], c=y, cmap=common.DIGIT_CMAP, norm=BoundaryNorm(bounds, 10), s=3, alpha=0.7)
    bar = fig.colorbar(points, ax=ax, ticks=range(10))
    bar.set_label(w["digit"])
    ax.add_patch(plt.Rectangle((-Z90, -Z90), 2 * Z90, 2 * Z90, fill=False, ls="--", color="k", lw=1))
    ax.set_xlabel("μ₁ (z₁)")
    ax.set_ylabel("μ₂ (z₂)")
    ax.set_title(w["scatter"], fontsize=10)
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return fig


def histogram_figure(mu: np.ndarray, var: np.ndarray, lang: str):
    import matplotlib.pyplot as plt

    w = WORDS[lang]
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.4))
    grid = np.linspace(-4, 4, 300)
    for i in range(2):
        ax = axes[0, i]
        ax.hist(mu[:, i], bins=60, density=True, color="tab:blue", alpha=0.7, label="μ(x)")
        ax.plot(grid, norm.pdf(grid), "k--", lw=1, label="N(0, 1)")
        ax.set_title(w["mean"].format(i=i + 1, m=mu[:, i].mean(), s=mu[:, i].std()), fontsize=10)
        ax.legend(fontsize=8)
        ax.set_xlabel(f"μ{i + 1}")
        ax = axes[1, i]
        ax.hist(var[:, i], bins=60, color="tab:orange", alpha=0.8)
        ax.set_title(w["variance"].format(i=i + 1, median=np.median(var[:, i])), fontsize=10)
        ax.set_xlabel(f"σ²{i + 1}")
    axes[0, 0].set_ylabel(w["density"])
    axes[1, 0].set_ylabel(w["images"])
    fig.tight_layout()
    return fig


@item("1.1f", "VAE latent space of the test set", needs=("1.1e",), config=("vae",))
def latent_space(ctx):
    vae = ctx.input("1.1e").model("vae")
    record(ctx, locate_test_set(vae, ctx.data))
