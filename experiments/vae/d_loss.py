"""1.1d: the loss, reconstruction plus KL to the N(0, I) prior; BCE (1.1e's model) against MSE."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import keras

from harness.errors import ConfigError
from harness.registry import item
from harness.words import words

from experiments.vae import common
from experiments.vae import models
from experiments.vae.common import Check

W = words(__file__)

UNITS = {name: "nats" for name in (
    "bce_test_neg_elbo", "mse_test_neg_elbo", "bce_test_kl", "mse_test_kl", "bce_test_reconstruction",
    "mse_test_reconstruction", "bce_test_nll_iwae", "mse_test_nll_iwae", "mse_own_kl")} | {"mse_train_s": "s"}
NOTES = {
    "bce_test_neg_elbo": common.likelihood_note,
    "mse_test_neg_elbo": W("notes", "mse_test_neg_elbo"),
    "mse_own_reconstruction": W("notes", "mse_own_reconstruction"),
    "bce_fid": common.fid_note,
    "mse_fid": common.fid_note,
}
CAPTIONS = W.table("captions")
CHECKS = W.table("checks")


@dataclass
class LossComparison:
    rows: list[dict[str, Any]]      # BCE (1.1e's row), then MSE
    metrics: dict[str, Any]         # in report order
    digits: np.ndarray              # one test image per digit
    bce_reconstructions: np.ndarray
    mse_reconstructions: np.ndarray
    checks: dict[str, Check]
    latent_dim: int


def loss_terms(vae: models.VAE, x: np.ndarray, seed: int) -> dict[str, Check]:
    """The loss terms measured against their definitions on real images."""
    x_hat = vae.predict(x, verbose=0)
    ours = np.asarray(models.reconstruction_nats(x, x_hat, "bce"))
    handout = models.PIXELS * np.asarray(
        keras.losses.binary_crossentropy(x.reshape(len(x), -1), x_hat.reshape(len(x), -1)))

    z_mean, z_log_var = (np.asarray(t, dtype="float64") for t in vae.encoder.predict(x, verbose=0))
    analytic = np.asarray(vae.prior.kl(z_mean, z_log_var, z_mean))
    rng = np.random.default_rng(seed)
    z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal((4000, *z_mean.shape))
    log_ratio = np.asarray(models.gaussian_log_density(z, z_mean, z_log_var) - models.Prior().log_prob(z))
    standard_error = log_ratio.std() / np.sqrt(log_ratio.size)
    agree = abs(analytic.mean() - log_ratio.mean()) < 4 * standard_error + 1e-3
    return {
        "reconstruction_is_784_times_mean_bce": Check(bool(np.allclose(ours, handout, rtol=1e-4)),
                                                      handout[:4], ours[:4]),
        "prior_is_standard_normal": Check(vae.prior_name == "normal" and bool(agree),
                                          round(float(log_ratio.mean()), 4), round(float(analytic.mean()), 4)),
    }


def compare_losses(ctx, bce: models.VAE, mse: models.VAE, run: models.Training, base_epochs: int) -> LossComparison:
    """Both models measured the same way (Bernoulli nats, evaluator scores), and the loss terms checked."""
    rows = [common.base_row(ctx, bce),
            common.measure(ctx, mse, "VAE z=2 MSE", training=run)]
    bce_row, mse_row = rows
    # Its own objective on the test set: the last epoch's validation pass (Keras's evaluate would
    # call test_step with the JAX trainer's stateless signature).
    own_objective = {key: run.history["val_" + key][-1] for key in ("reconstruction_loss", "kl_loss")}
    metrics = {
        "bce_test_neg_elbo": bce_row["neg_elbo"],
        "mse_test_neg_elbo": mse_row["neg_elbo"],
        "bce_test_kl": bce_row["kl"],
        "mse_test_kl": mse_row["kl"],
        "bce_test_reconstruction": bce_row["reconstruction"],
        "mse_test_reconstruction": mse_row["reconstruction"],
        "bce_test_nll_iwae": bce_row["nll"],
        "mse_test_nll_iwae": mse_row["nll"],
        "mse_own_reconstruction": own_objective["reconstruction_loss"],
        "mse_own_kl": own_objective["kl_loss"],
        "bce_active_units": bce_row["active_units"],
        "mse_active_units": mse_row["active_units"],
        "mse_train_s": run.train_s,
        "bce_fid": bce_row["fid"],
        "mse_fid": mse_row["fid"],
        "bce_mean_confidence": bce_row["mean_confidence"],
        "mse_mean_confidence": mse_row["mean_confidence"],
        **common.uncertainties("bce", bce_row),
        **common.uncertainties("mse", mse_row),
    }
    digits = ctx.data.x_test[common.first_of_each_digit(ctx.data.y_test)]
    bce_reconstructions = common.reconstructions(bce, digits)
    mse_reconstructions = common.reconstructions(mse, digits)
    epochs = len(run.history["loss"])
    checks = {**loss_terms(bce, ctx.data.x_test[:256], ctx.seed),
              "same_budget_as_1.1e": Check(epochs == base_epochs, base_epochs, epochs)}
    return LossComparison(rows, metrics, digits, bce_reconstructions, mse_reconstructions, checks, mse.latent_dim)


def record(ctx, result: LossComparison) -> None:
    bce_row, mse_row = result.rows
    common.record_metrics(ctx, result.metrics, UNITS, NOTES)
    ctx.table("bce_vs_mse", common.COMPARE_COLUMNS, common.compare_rows(result.rows),
              common.with_likelihood_note(CAPTIONS["bce_vs_mse (table)"], ctx))
    ctx.figure("bce_vs_mse", lambda lang: compare_figure(result.digits, result.bce_reconstructions, result.mse_reconstructions,
                                                         bce_row["_samples"], mse_row["_samples"], lang),
               CAPTIONS["bce_vs_mse (figure)"])
    ctx.save_value("model_rows", common.public_rows([mse_row]))
    common.record_checks(ctx, result.checks, CHECKS)
    common.check_latent_dim(ctx, result.latent_dim)


FIGURE_WORDS = W("figure_words")


def compare_figure(x, bce_rec, mse_rec, bce_samples, mse_samples, lang: str):
    import matplotlib.pyplot as plt

    w = FIGURE_WORDS[lang]
    fig = plt.figure(figsize=(12, 6.4))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 2.2])
    ax = fig.add_subplot(grid[0, :])
    common.show_mosaic(ax, np.concatenate([x, bce_rec, mse_rec]), len(x),
                       w["reconstructions"], row_labels=["test", "BCE", "MSE"])
    common.show_mosaic(fig.add_subplot(grid[1, 0]), bce_samples[:64], 8, w["samples"].format(loss="BCE"))
    common.show_mosaic(fig.add_subplot(grid[1, 1]), mse_samples[:64], 8, w["samples"].format(loss="MSE"))
    fig.tight_layout()
    return fig


@item("1.1d", "VAE loss: reconstruction plus KL (BCE versus MSE)", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "eval"))
def loss(ctx):
    settings = common.settings(ctx)
    base = ctx.input("1.1e")
    bce = base.model("vae")
    if bce.loss_name != "bce":
        raise ConfigError("1.1d compares BCE with MSE and takes BCE from 1.1e: run with vae.loss=bce")
    mse = models.build_vae(settings, loss="mse", seed=ctx.seed, name="vae_mse")
    run = models.fit_vae(ctx, mse, settings, "VAE z=2 MSE")
    record(ctx, compare_losses(ctx, bce, mse, run, base.metrics["epochs"]))
