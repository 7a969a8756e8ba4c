"""1.1h: the same VAE with another latent prior, trained fully and compared with N(0, I)."""
from __future__ import annotations

import numpy as np

from harness.registry import item

from experiments.vae import common
from experiments.vae import models


def prior_checks(ctx, prior: models.Prior, vae: models.VAE) -> None:
    """The prior is a density (integrates to 1) and its KL is the KL (analytic = Monte Carlo)."""
    side = np.linspace(-12, 12, 1201, dtype="float64")
    z1, z2 = np.meshgrid(side, side)
    plane = np.stack([z1.ravel(), z2.ravel()], axis=1)
    mass = float(np.exp(np.asarray(prior.log_prob(plane))).sum() * (side[1] - side[0]) ** 2)
    ctx.check("prior_density_integrates_to_1", abs(mass - 1) < 0.01,
              {"es": f"∫ p(z) dz sobre [−12, 12]² para el prior '{prior.name}' (2 componentes).",
               "en": f"∫ p(z) dz over [−12, 12]² for the '{prior.name}' prior (2 components)."},
              expected=1.0, observed=round(mass, 5))
    x = ctx.data.x_test[:256]
    z_mean, z_log_var = (np.asarray(t, dtype="float64") for t in vae.encoder.predict(x, verbose=0))
    z = z_mean + np.exp(0.5 * z_log_var) * np.random.default_rng(ctx.seed).standard_normal((2000, *z_mean.shape))
    log_ratio = np.asarray(models.gaussian_log_density(z, z_mean, z_log_var) - prior.log_prob(z))
    kl = np.asarray(prior.kl(z_mean, z_log_var, z[0]))
    if prior.analytic_kl:
        se = log_ratio.std() / np.sqrt(log_ratio.size)
        ok = abs(kl.mean() - log_ratio.mean()) < 4 * se + 1e-3
        detail = "la KL analítica coincide con Monte Carlo (2000 muestras, 4 errores estándar)"
        detail_en = "the analytic KL matches Monte Carlo (2000 draws, 4 standard errors)"
    else:
        ok = abs(kl.mean() - log_ratio.mean()) < 4 * log_ratio[0].std() / np.sqrt(len(kl)) + 1e-3
        detail = "la KL de una muestra es insesgada: su media coincide con la de 2000 muestras"
        detail_en = "the one-draw KL is unbiased: its mean matches that of 2000 draws"
    ctx.check("prior_kl_is_correct", bool(ok), {"es": f"Prior '{prior.name}': {detail}.", "en": f"'{prior.name}' prior: {detail_en}."},
              expected=round(float(log_ratio.mean()), 3), observed=round(float(kl.mean()), 3))


def compare_figure(mu_normal, mu_other, y, samples_normal, samples_other, prior_name):
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm

    fig, axes = plt.subplots(2, 2, figsize=(11, 10.5))
    norm = BoundaryNorm(np.arange(-0.5, 10.5), 10)
    for ax, mu, title in ((axes[0, 0], mu_normal, "N(0, I)"), (axes[0, 1], mu_other, prior_name)):
        points = ax.scatter(mu[:, 0], mu[:, 1], c=y, cmap=common.DIGIT_CMAP, norm=norm, s=3, alpha=0.7)
        ax.set_title(f"μ(x), prior {title}", fontsize=10)
        ax.set_xlabel("μ₁")
        ax.set_ylabel("μ₂")
    fig.colorbar(points, ax=axes[0, :].tolist(), ticks=range(10), shrink=0.8, label="dígito / digit")
    common.show_mosaic(axes[1, 0], samples_normal[:100], 10, "muestras / samples, z ~ N(0, I)")
    common.show_mosaic(axes[1, 1], samples_other[:100], 10, f"muestras / samples, z ~ {prior_name}")
    return fig


@item("1.1h", "VAE with another latent prior", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "vae_compare", "eval"))
def prior(ctx):
    s = common.settings(ctx)
    name = ctx.settings("vae_compare")["prior"]
    other_prior = models.get_prior(name)  # an unknown name stops here, before training
    base = ctx.input("1.1e")
    normal = base.model("vae")
    other = models.build_vae(s, prior=name, seed=ctx.seed, name=f"vae_{name}")
    run = models.fit_vae(ctx, other, s, f"VAE z=2 prior {name}")

    rows = [common.base_row(ctx, normal),
            common.measure(ctx, other, f"VAE z=2 {name}", training=run)]
    g, o = rows
    ctx.metric("prior_test_neg_elbo", o["neg_elbo"], "nats", note=common.likelihood_note(ctx))
    ctx.metric("normal_test_neg_elbo", g["neg_elbo"], "nats")
    ctx.metric("prior_test_nll_iwae", o["nll"], "nats")
    ctx.metric("normal_test_nll_iwae", g["nll"], "nats")
    ctx.metric("prior_test_kl", o["kl"], "nats")
    ctx.metric("normal_test_kl", g["kl"], "nats")
    ctx.metric("prior_test_reconstruction", o["reconstruction"], "nats")
    ctx.metric("normal_test_reconstruction", g["reconstruction"], "nats")
    ctx.metric("prior_train_s", run.train_s, "s")
    ctx.metric("prior_active_units", o["active_units"])
    ctx.metric("analytic_kl", int(other_prior.analytic_kl))
    ctx.metric("prior_fid", o["fid"], note=common.fid_note(ctx))
    ctx.metric("normal_fid", g["fid"], note=common.fid_note(ctx))
    ctx.metric("prior_classes_under_2pct", o["classes_under_2pct"])
    ctx.metric("normal_classes_under_2pct", g["classes_under_2pct"])

    ctx.table("priors", common.COMPARE_COLUMNS, common.compare_rows(rows), {
        "es": f"N(0, I) (modelo de 1.1e) frente al prior '{name}', mismo presupuesto. " + common.likelihood_note(ctx)["es"],
        "en": f"N(0, I) (1.1e's model) against the '{name}' prior, same budget. " + common.likelihood_note(ctx)["en"]})
    mu_g = normal.encoder.predict(ctx.data.x_test, batch_size=1000, verbose=0)[0]
    mu_o = other.encoder.predict(ctx.data.x_test, batch_size=1000, verbose=0)[0]
    ctx.figure("prior_comparison", compare_figure(mu_g, mu_o, ctx.data.y_test, g["_samples"], o["_samples"], name), {
        "es": f"Arriba: el test en el espacio latente con cada prior. Abajo: imágenes generadas muestreando cada prior ('{name}' a la derecha).",
        "en": f"Top: the test set in latent space under each prior. Bottom: images generated by sampling each prior ('{name}' on the right)."})
    ctx.save_value("model_rows", common.public_rows([o]))
    ctx.save_model(f"vae_{name}", other)
    prior_checks(ctx, other_prior, other)
    ctx.check("same_budget_as_1.1e", len(run.history["loss"]) == base.metrics["epochs"],
              {"es": "Mismas épocas y batch que 1.1e.", "en": "Same epochs and batch as 1.1e."},
              expected=base.metrics["epochs"], observed=len(run.history["loss"]))
