"""1.1c: the sampling layer that joins encoder and decoder, and the complete VAE."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import keras

from harness.train import architecture
from harness.registry import item
from harness.words import words

from experiments.vae import common
from experiments.vae import models
from experiments.vae.common import Check

W = words(__file__)

# A posterior with unequal variances, so a variance used as a standard deviation shows.
Z_MEAN = np.array([1.0, -2.0], dtype="float32")
Z_LOG_VAR = np.log(np.array([0.25, 4.0], dtype="float32"))
DRAWS = 200_000

NOTES = W.table("notes")
CAPTIONS = W.table("captions")
CHECKS = W.table("checks")


def full_graph(vae: models.VAE) -> keras.Model:
    """x -> encoder layers -> z -> decoder layers as one flat functional graph (the same layer
    objects, so the same weights), for the layer table and drawing: one input, no nested models."""
    x = keras.Input(shape=(28, 28, 1), name="x")
    h = x
    for layer in vae.encoder.layers[1:]:
        if layer.name in ("z_mean", "z_log_var"):
            continue
        h = layer(h)
    z = vae.sampling([vae.encoder.get_layer("z_mean")(h), vae.encoder.get_layer("z_log_var")(h)])
    x_hat = z
    for layer in vae.decoder.layers[1:]:
        x_hat = layer(x_hat)
    return keras.Model(x, x_hat, name="vae")


def draw(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """DRAWS samples of z from the Sampling layer, and the handout's formula on the same epsilon."""
    layer = models.Sampling(seed=seed)
    mean = np.tile(Z_MEAN, (DRAWS, 1))
    log_var = np.tile(Z_LOG_VAR, (DRAWS, 1))
    ours = np.asarray(layer([mean, log_var]))
    epsilon = (ours - mean) / np.exp(0.5 * log_var)  # recover the very epsilon the layer drew
    return ours, models.handout_sampling(mean, log_var, epsilon)


SAMPLING_WORDS = W("sampling_words")


def sampling_figure(ours: np.ndarray, handout: np.ndarray, lang: str):
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    w = SAMPLING_WORDS[lang]
    sigma = np.exp(0.5 * Z_LOG_VAR)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, ax in enumerate(axes):
        lo, hi = Z_MEAN[i] - 4 * max(sigma[i], np.exp(Z_LOG_VAR[i])), Z_MEAN[i] + 4 * max(sigma[i], np.exp(Z_LOG_VAR[i]))
        bins = np.linspace(lo, hi, 80)
        ax.hist(ours[:, i], bins, density=True, alpha=0.55, color="tab:blue",
                label=f"σ = exp(½·log σ²): std {ours[:, i].std():.3f}")
        ax.hist(handout[:, i], bins, density=True, alpha=0.45, color="tab:red",
                label=f"{w['handout']} exp(log σ²): std {handout[:, i].std():.3f}")
        grid = np.linspace(lo, hi, 400)
        ax.plot(grid, norm.pdf(grid, Z_MEAN[i], sigma[i]), "k--", lw=1.2, label=f"N({Z_MEAN[i]:g}, {sigma[i]:g}²)")
        ax.set_title(f"z{i + 1}: μ = {Z_MEAN[i]:g}, σ² = {math.exp(Z_LOG_VAR[i]):g}", fontsize=10)
        ax.set_xlabel(f"z{i + 1}")
        ax.legend(fontsize=7.5, loc="upper right")
    axes[0].set_ylabel(w["density"])
    fig.tight_layout()
    return fig


@dataclass
class SamplingCheck:
    graph: keras.Model              # the complete VAE as one flat graph
    layers: tuple[list, list]       # its layer table: (columns, rows)
    ours: np.ndarray                # DRAWS samples of z from the Sampling layer
    handout: np.ndarray             # the handout's formula on the same epsilon
    metrics: dict[str, Any]         # in report order
    checks: dict[str, Check]
    latent_dim: int


def check_sampling(vae: models.VAE, seed: int) -> SamplingCheck:
    """The complete VAE's graph and parameters, and z drawn both ways against N(μ, σ²)."""
    graph = full_graph(vae)
    counts = models.expected_parameters(**models.HANDOUT)

    ours, handout = draw(seed)
    sigma = np.exp(0.5 * Z_LOG_VAR)
    std_ours, std_handout = ours.std(axis=0), handout.std(axis=0)
    mean_ours = ours.mean(axis=0)
    metrics = {
        "parameters": int(vae.count_params()),
        "std_ratio_ours_z1": float(std_ours[0] / sigma[0]),
        "std_ratio_ours_z2": float(std_ours[1] / sigma[1]),
        "std_handout_z1": float(std_handout[0]),
        "std_handout_z2": float(std_handout[1]),
        "predicted_std_z1": float(sigma[0]),
        "predicted_std_z2": float(sigma[1]),
        "draws": DRAWS,
    }
    tolerance_mean = 5 * sigma / math.sqrt(DRAWS)
    proper = isinstance(vae.sampling, keras.layers.Layer) and not any(
        type(layer).__name__ == "Lambda" for layer in architecture.flat_layers(graph))
    checks = {
        "sampled_mean_is_z_mean": Check(bool(np.all(np.abs(mean_ours - Z_MEAN) < tolerance_mean)), Z_MEAN, mean_ours),
        "sampled_std_is_exp_half_log_var": Check(bool(np.all(np.abs(std_ours / sigma - 1) < 0.01)), sigma, std_ours),
        "handout_sampling_is_wrong": Check(bool(np.all(np.abs(std_handout / np.exp(Z_LOG_VAR) - 1) < 0.01)
                                                and np.all(np.abs(std_handout / sigma - 1) > 0.4)),
                                           np.exp(Z_LOG_VAR), std_handout),
        "vae_parameters_match_handout": Check(int(vae.count_params()) == counts["vae"], counts["vae"],
                                              int(vae.count_params())),
        "sampling_is_a_layer": Check(proper, True, proper),
    }
    return SamplingCheck(graph, architecture.layer_table(graph), ours, handout, metrics, checks, vae.latent_dim)


def record(ctx, result: SamplingCheck) -> None:
    common.record_metrics(ctx, result.metrics, notes=NOTES)
    ctx.table("vae_layers", *result.layers, CAPTIONS["vae_layers"], detail=True)
    ctx.figure("sampling_check", lambda lang: sampling_figure(result.ours, result.handout, lang),
               common.fill(CAPTIONS["sampling_check"], draws=DRAWS))
    ctx.figure("vae_graph", lambda lang: architecture.graph_figure(result.graph, "VAE (1.1c)", lang), CAPTIONS["vae_graph"])
    common.record_checks(ctx, result.checks, CHECKS)
    common.check_latent_dim(ctx, result.latent_dim)


@item("1.1c", "VAE sampling layer and complete model", config=("vae",), uses_data=False)
def sampling(ctx):
    settings = common.settings(ctx)
    vae = models.build_vae(settings, seed=ctx.seed)
    record(ctx, check_sampling(vae, ctx.seed))
