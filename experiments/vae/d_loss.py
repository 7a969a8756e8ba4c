"""1.1d: the loss, reconstruction plus KL to the N(0, I) prior; BCE (1.1e's model) against MSE."""
from __future__ import annotations

import numpy as np

import keras

from harness.errors import ConfigError
from harness.registry import item

from experiments.vae import common
from experiments.vae import models


def loss_checks(ctx, vae: models.VAE, x: np.ndarray) -> None:
    """The loss terms measured against their definitions on real images."""
    x_hat = vae.predict(x, verbose=0)
    ours = np.asarray(models.reconstruction_nats(x, x_hat, "bce"))
    handout = models.PIXELS * np.asarray(keras.losses.binary_crossentropy(x.reshape(len(x), -1), x_hat.reshape(len(x), -1)))
    ctx.check("reconstruction_is_784_times_mean_bce", bool(np.allclose(ours, handout, rtol=1e-4)),
              {"es": "Reconstrucción = 28·28·1 × BCE media del enunciado = BCE sumada sobre los 784 píxeles.",
               "en": "Reconstruction = the handout's 28·28·1 × mean BCE = BCE summed over the 784 pixels."},
              expected=handout[:4], observed=ours[:4])

    z_mean, z_log_var = (np.asarray(t, dtype="float64") for t in vae.encoder.predict(x, verbose=0))
    analytic = np.asarray(vae.prior.kl(z_mean, z_log_var, z_mean))
    rng = np.random.default_rng(ctx.seed)
    z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal((4000, *z_mean.shape))
    log_ratio = np.asarray(models.gaussian_log_density(z, z_mean, z_log_var) - models.Prior().log_prob(z))
    standard_error = log_ratio.std() / np.sqrt(log_ratio.size)
    agree = abs(analytic.mean() - log_ratio.mean()) < 4 * standard_error + 1e-3
    ctx.check("prior_is_standard_normal", vae.prior_name == "normal" and bool(agree),
              {"es": "p(z) = N(0, I): la KL analítica media coincide con una estimación Monte Carlo de "
                     "E_q[log q − log N(z; 0, I)] (4000 muestras por imagen, tolerancia 4 errores estándar).",
               "en": "p(z) = N(0, I): the mean analytic KL matches a Monte Carlo estimate of "
                     "E_q[log q − log N(z; 0, I)] (4000 draws per image, 4 standard errors of tolerance)."},
              expected=round(float(log_ratio.mean()), 4), observed=round(float(analytic.mean()), 4))


def compare_figure(x, bce_rec, mse_rec, bce_samples, mse_samples):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12, 6.4))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 2.2])
    ax = fig.add_subplot(grid[0, :])
    common.show_mosaic(ax, np.concatenate([x, bce_rec, mse_rec]), len(x),
                       "reconstrucciones / reconstructions", row_labels=["test", "BCE", "MSE"])
    common.show_mosaic(fig.add_subplot(grid[1, 0]), bce_samples[:64], 8, "muestras BCE / BCE samples, z ~ N(0, I)")
    common.show_mosaic(fig.add_subplot(grid[1, 1]), mse_samples[:64], 8, "muestras MSE / MSE samples, z ~ N(0, I)")
    fig.tight_layout()
    return fig


@item("1.1d", "VAE loss: reconstruction plus KL (BCE versus MSE)", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "eval"))
def loss(ctx):
    s = common.settings(ctx)
    base = ctx.input("1.1e")
    bce = base.model("vae")
    if bce.loss_name != "bce":
        raise ConfigError("1.1d compares BCE with MSE and takes BCE from 1.1e: run with vae.loss=bce")
    mse = models.build_vae(s, loss="mse", seed=ctx.seed, name="vae_mse")
    run = models.fit_vae(ctx, mse, s, "VAE z=2 MSE")

    rows = [common.base_row(ctx, bce),
            common.measure(ctx, mse, "VAE z=2 MSE", training=run)]
    b, m = rows
    # Its own objective on the test set: the last epoch's validation pass (Keras's evaluate would
    # call test_step with the JAX trainer's stateless signature).
    own_objective = {key: run.history["val_" + key][-1] for key in ("reconstruction_loss", "kl_loss")}

    ctx.metric("bce_test_neg_elbo", b["neg_elbo"], "nats", note=common.likelihood_note(ctx))
    ctx.metric("mse_test_neg_elbo", m["neg_elbo"], "nats", note={
        "es": "el modelo MSE medido con el mismo decoder de Bernoulli", "en": "the MSE model measured with the same Bernoulli decoder"})
    ctx.metric("bce_test_kl", b["kl"], "nats")
    ctx.metric("mse_test_kl", m["kl"], "nats")
    ctx.metric("bce_test_reconstruction", b["reconstruction"], "nats")
    ctx.metric("mse_test_reconstruction", m["reconstruction"], "nats")
    ctx.metric("bce_test_nll_iwae", b["nll"], "nats")
    ctx.metric("mse_test_nll_iwae", m["nll"], "nats")
    ctx.metric("mse_own_reconstruction", own_objective["reconstruction_loss"], note={
        "es": "suma de errores cuadráticos por imagen (su propio objetivo)", "en": "summed squared error per image (its own objective)"})
    ctx.metric("mse_own_kl", own_objective["kl_loss"], "nats")
    ctx.metric("bce_active_units", b["active_units"])
    ctx.metric("mse_active_units", m["active_units"])
    ctx.metric("mse_train_s", run.train_s, "s")
    ctx.metric("bce_fid", b["fid"], note=common.fid_note(ctx))
    ctx.metric("mse_fid", m["fid"], note=common.fid_note(ctx))
    ctx.metric("bce_mean_confidence", b["mean_confidence"])
    ctx.metric("mse_mean_confidence", m["mean_confidence"])

    ctx.table("bce_vs_mse", common.COMPARE_COLUMNS, common.compare_rows(rows), {
        "es": "Ambos modelos medidos en nats con un decoder de Bernoulli (BCE); mismo presupuesto que 1.1e. " + common.likelihood_note(ctx)["es"],
        "en": "Both models measured in nats under a Bernoulli decoder (BCE); same budget as 1.1e. " + common.likelihood_note(ctx)["en"]})
    idx = common.first_of_each_digit(ctx.data.y_test)
    x = ctx.data.x_test[idx]
    ctx.figure("bce_vs_mse", compare_figure(x, common.reconstructions(bce, x), common.reconstructions(mse, x),
                                            b["_samples"], m["_samples"]), {
        "es": "Arriba: un dígito de test de cada clase y sus reconstrucciones (decodificando μ). Abajo: muestras del prior.",
        "en": "Top: one test digit per class and its reconstructions (decoding μ). Bottom: samples from the prior."})
    ctx.save_value("model_rows", common.public_rows([m]))

    loss_checks(ctx, bce, ctx.data.x_test[:256])
    ctx.check("same_budget_as_1.1e", len(run.history["loss"]) == base.metrics["epochs"],
              {"es": "El modelo MSE se entrena con las mismas épocas y batch que 1.1e.",
               "en": "The MSE model trains with 1.1e's epochs and batch."},
              expected=base.metrics["epochs"], observed=len(run.history["loss"]))
    common.check_latent_dim(ctx, mse.latent_dim)
