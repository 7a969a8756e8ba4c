"""1.1i: the latent dimension swept at 1.1e's budget (1.1e's own model is the 2-D point)."""
from __future__ import annotations

import numpy as np

from harness.registry import item

from experiments.vae import common
from experiments.vae import models

PANELS = (("neg_elbo", "−ELBO test (nats)"), ("nll", "NLL IWAE (nats)"), ("reconstruction", "reconstrucción / reconstruction"),
          ("kl", "KL (nats)"), ("active_units", "unidades activas / active units"), ("train_s", "entrenamiento / training (s)"))


def sweep_chart(rows):
    import matplotlib.pyplot as plt

    dims = [r["latent_dim"] for r in rows]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (key, title) in zip(axes.ravel(), PANELS):
        ax.plot(dims, [r[key] for r in rows], "o-")
        if key == "active_units":
            ax.plot(dims, dims, "k:", lw=1, label="= dim")
            ax.legend(fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(dims, [str(d) for d in dims])
        ax.set_xlabel("dim z")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def samples_figure(rows):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(3.3 * len(rows), 3.6))
    for ax, r in zip(np.atleast_1d(axes), rows):
        common.show_mosaic(ax, r["_samples"][:64], 8, f"dim z = {r['latent_dim']}")
    fig.tight_layout()
    return fig


@item("1.1i", "VAE latent dimension sweep", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "vae_compare", "eval"))
def latent_dim(ctx):
    s = common.settings(ctx)
    dims = sorted(set(ctx.settings("vae_compare")["latent_dims"]))
    base = ctx.input("1.1e")
    rows = []
    for d in dims:
        if d == s["latent_dim"]:  # 1.1e trained exactly this model: reuse it, never train it twice
            vae = base.model("vae")
            row = common.base_row(ctx, vae)
        else:
            vae = models.build_vae(s, latent_dim=d, seed=ctx.seed, name=f"vae_z{d}")
            run = models.fit_vae(ctx, vae, s, f"VAE z={d}")
            row = common.measure(ctx, vae, f"VAE z={d} BCE", training=run)
        rows.append(row)

    best = min(rows, key=lambda r: r["neg_elbo"])
    low = rows[0]
    ctx.metric("best_latent_dim", best["latent_dim"], note={"es": "menor −ELBO de test", "en": "lowest test −ELBO"})
    ctx.metric("best_test_neg_elbo", best["neg_elbo"], "nats", note=common.likelihood_note(ctx))
    ctx.metric("smallest_dim_test_neg_elbo", low["neg_elbo"], "nats")
    ctx.metric("smallest_dim", low["latent_dim"])
    ctx.metric("largest_dim", rows[-1]["latent_dim"])
    ctx.metric("largest_dim_test_neg_elbo", rows[-1]["neg_elbo"], "nats")
    ctx.metric("largest_dim_active_units", rows[-1]["active_units"])
    ctx.metric("max_active_units", max(r["active_units"] for r in rows))
    ctx.metric("largest_dim_kl", rows[-1]["kl"], "nats")
    ctx.metric("smallest_dim_kl", low["kl"], "nats")
    ctx.metric("largest_dim_reconstruction", rows[-1]["reconstruction"], "nats")
    ctx.metric("smallest_dim_reconstruction", low["reconstruction"], "nats")
    ctx.metric("gain_vs_smallest", low["neg_elbo"] - best["neg_elbo"], "nats")
    ctx.metric("dims_trained", len(dims) - int(s["latent_dim"] in dims))
    best_fid = min(rows, key=lambda r: r["fid"])
    ctx.metric("best_fid_latent_dim", best_fid["latent_dim"], note=common.fid_note(ctx))
    ctx.metric("best_fid", best_fid["fid"])
    ctx.metric("smallest_dim_fid", low["fid"])
    ctx.metric("largest_dim_fid", rows[-1]["fid"])

    ctx.table("sweep", common.COMPARE_COLUMNS, common.compare_rows(rows), {
        "es": "Una fila por dimensión latente, mismo presupuesto que 1.1e (z=2 es el modelo de 1.1e). "
              "Unidad activa: Var_x(E_q[z_i]) > 0.01. " + common.likelihood_note(ctx)["es"],
        "en": "One row per latent dimension, 1.1e's budget (z=2 is 1.1e's model). "
              "Active unit: Var_x(E_q[z_i]) > 0.01. " + common.likelihood_note(ctx)["en"]})
    ctx.figure("sweep_chart", sweep_chart(rows), {
        "es": "−ELBO, NLL, sus dos términos, unidades activas y tiempo frente a la dimensión de z (escala log₂).",
        "en": "−ELBO, NLL, its two terms, active units and time against the dimension of z (log₂ scale)."})
    ctx.figure("sweep_samples", samples_figure(rows), {
        "es": "64 muestras de N(0, I) decodificadas por cada modelo.", "en": "64 draws from N(0, I) decoded by each model."})
    ctx.save_value("model_rows", common.public_rows([r for r in rows if r["item"] == ctx.id]))
    ctx.save_value("sweep", common.public_rows(rows))
    ctx.check("sweep_reuses_1.1e", s["latent_dim"] not in dims or any(r["item"] == "1.1e" for r in rows),
              {"es": "El punto z=2 es el modelo de 1.1e, no se entrena de nuevo.",
               "en": "The z=2 point is 1.1e's model, not trained again."}, expected=True,
              observed=any(r["item"] == "1.1e" for r in rows))
