"""1.1h: the same VAE with another latent prior, trained fully and compared with N(0, I)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.registry import item
from harness.words import names, words

from experiments.vae import common
from experiments.vae import models
from experiments.vae.common import Check

W = words(__file__)

UNITS = {name: "nats" for name in (
    "prior_test_neg_elbo", "normal_test_neg_elbo", "prior_test_nll_iwae", "normal_test_nll_iwae", "prior_test_kl",
    "normal_test_kl", "prior_test_reconstruction", "normal_test_reconstruction")} | {"prior_train_s": "s"}
NOTES = {"prior_test_neg_elbo": common.likelihood_note, "prior_fid": common.fid_note, "normal_fid": common.fid_note}
CAPTIONS = W.table("captions")
CHECKS = W.table("checks")
KL_TESTS = {  # by whether the prior's KL is analytic
    True: W("kl_tests", "True"),
    False: W("kl_tests", "False"),
}


@dataclass
class PriorComparison:
    prior: models.Prior
    model: models.VAE               # trained under `prior`
    rows: list[dict[str, Any]]      # N(0, I) (1.1e's row), then the other prior
    metrics: dict[str, Any]         # in report order
    mu_normal: np.ndarray           # the test set's μ(x) under each prior
    mu_other: np.ndarray
    labels: np.ndarray              # the test set's digits
    checks: dict[str, Check]


def prior_facts(prior: models.Prior, vae: models.VAE, x: np.ndarray, seed: int) -> dict[str, Check]:
    """The prior is a density (integrates to 1) and its KL is the KL (analytic = Monte Carlo)."""
    side = np.linspace(-12, 12, 1201, dtype="float64")
    z1, z2 = np.meshgrid(side, side)
    plane = np.stack([z1.ravel(), z2.ravel()], axis=1)
    mass = float(np.exp(np.asarray(prior.log_prob(plane))).sum() * (side[1] - side[0]) ** 2)
    z_mean, z_log_var = (np.asarray(t, dtype="float64") for t in vae.encoder.predict(x, verbose=0))
    z = z_mean + np.exp(0.5 * z_log_var) * np.random.default_rng(seed).standard_normal((2000, *z_mean.shape))
    log_ratio = np.asarray(models.gaussian_log_density(z, z_mean, z_log_var) - prior.log_prob(z))
    kl = np.asarray(prior.kl(z_mean, z_log_var, z[0]))
    if prior.analytic_kl:
        standard_error = log_ratio.std() / np.sqrt(log_ratio.size)
        kl_ok = abs(kl.mean() - log_ratio.mean()) < 4 * standard_error + 1e-3
    else:
        kl_ok = abs(kl.mean() - log_ratio.mean()) < 4 * log_ratio[0].std() / np.sqrt(len(kl)) + 1e-3
    return {
        "prior_density_integrates_to_1": Check(abs(mass - 1) < 0.01, 1.0, round(mass, 5)),
        "prior_kl_is_correct": Check(bool(kl_ok), round(float(log_ratio.mean()), 3), round(float(kl.mean()), 3)),
    }


def compare_priors(ctx, normal: models.VAE, other: models.VAE, prior: models.Prior, run: models.Training,
                   base_epochs: int) -> PriorComparison:
    """Both models measured the same way, where each puts the test set, and the prior checked."""
    rows = [common.base_row(ctx, normal),
            common.measure(ctx, other, f"VAE z=2 {prior.name}", training=run)]
    normal_row, other_row = rows
    metrics = {
        "prior_test_neg_elbo": other_row["neg_elbo"],
        "normal_test_neg_elbo": normal_row["neg_elbo"],
        "prior_test_nll_iwae": other_row["nll"],
        "normal_test_nll_iwae": normal_row["nll"],
        "prior_test_kl": other_row["kl"],
        "normal_test_kl": normal_row["kl"],
        "prior_test_reconstruction": other_row["reconstruction"],
        "normal_test_reconstruction": normal_row["reconstruction"],
        "prior_train_s": run.train_s,
        "prior_s_per_epoch": other_row["s_per_epoch"],
        "prior_active_units": other_row["active_units"],
        "analytic_kl": int(prior.analytic_kl),
        "prior_fid": other_row["fid"],
        "normal_fid": normal_row["fid"],
        "prior_classes_under_2pct": other_row["classes_under_2pct"],
        "normal_classes_under_2pct": normal_row["classes_under_2pct"],
        **common.uncertainties("prior", other_row),
        **common.uncertainties("normal", normal_row),
    }
    mu_normal = normal.encoder.predict(ctx.data.x_test, batch_size=1000, verbose=0)[0]
    mu_other = other.encoder.predict(ctx.data.x_test, batch_size=1000, verbose=0)[0]
    epochs = len(run.history["loss"])
    checks = {**prior_facts(prior, other, ctx.data.x_test[:256], ctx.seed),
              "same_budget_as_1.1e": Check(epochs == base_epochs, base_epochs, epochs)}
    return PriorComparison(prior, other, rows, metrics, mu_normal, mu_other, ctx.data.y_test, checks)


def record(ctx, result: PriorComparison) -> None:
    name = result.prior.name
    normal_row, other_row = result.rows
    common.record_metrics(ctx, result.metrics, UNITS, NOTES)
    ctx.table("priors", common.COMPARE_COLUMNS, common.compare_rows(result.rows),
              common.with_likelihood_note(common.fill(CAPTIONS["priors"], prior=name), ctx))
    ctx.figure("prior_comparison", lambda lang: compare_figure(result.mu_normal, result.mu_other, result.labels,
                                                               normal_row["_samples"], other_row["_samples"], name, lang),
               common.fill(CAPTIONS["prior_comparison"], prior=name))
    ctx.save_value("model_rows", common.public_rows([other_row]))
    ctx.save_model(f"vae_{name}", result.model)
    kl_test = KL_TESTS[bool(result.prior.analytic_kl)]
    common.record_checks(ctx, result.checks,
                         {check: common.fill(text, prior=name, kl_test=kl_test) for check, text in CHECKS.items()})


FIGURE_WORDS = W("figure_words")


def compare_figure(mu_normal, mu_other, y, samples_normal, samples_other, prior_name, lang: str):
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm

    w, prior_name = FIGURE_WORDS[lang], names(prior_name, lang)  # Laplace, as the reader names it
    fig, axes = plt.subplots(2, 2, figsize=(11, 10.5))
    norm = BoundaryNorm(np.arange(-0.5, 10.5), 10)
    for ax, mu, title in ((axes[0, 0], mu_normal, "N(0, I)"), (axes[0, 1], mu_other, prior_name)):
        points = ax.scatter(mu[:, 0], mu[:, 1], c=y, cmap=common.DIGIT_CMAP, norm=norm, s=3, alpha=0.7)
        ax.set_title(w["latent"].format(prior=title), fontsize=10)
        ax.set_xlabel("μ₁")
        ax.set_ylabel("μ₂")
    fig.colorbar(points, ax=axes[0, :].tolist(), ticks=range(10), shrink=0.8, label=w["digit"])
    common.show_mosaic(axes[1, 0], samples_normal[:100], 10, w["samples"].format(prior="N(0, I)"))
    common.show_mosaic(axes[1, 1], samples_other[:100], 10, w["samples"].format(prior=prior_name))
    return fig


@item("1.1h", "VAE with another latent prior", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "vae_compare", "eval"))
def prior(ctx):
    settings = common.settings(ctx)
    name = ctx.settings("vae_compare")["prior"]
    other_prior = models.get_prior(name)  # an unknown name stops here, before training
    base = ctx.input("1.1e")
    normal = base.model("vae")
    other = models.build_vae(settings, prior=name, seed=ctx.seed, name=f"vae_{name}")
    run = models.fit_vae(ctx, other, settings, f"VAE z=2 prior {name}")
    record(ctx, compare_priors(ctx, normal, other, other_prior, run, base.metrics["epochs"]))
