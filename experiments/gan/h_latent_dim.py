"""1.2h: the size of z, swept at 1.2d's budget (the point z = 2 is 1.2d's own model).

The VAE's sweep of 1.1i is the counterpart: the same question, asked of a
model that is trained to reconstruct rather than to fool a critic.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from experiments.gan.figures import class_histogram_figure, comparison_grids
from experiments.gan.training import (CODE, EVALUATOR_ITEM, evaluate, evaluator, model_row, train_one, train_settings)
from harness.registry import item

VAE_SWEEP = "1.1i"
SCORE_KEYS = ("fid", "coverage_entropy", "classes_under_2pct", "mean_confidence", "precision", "recall")


def sweep_figure(points: list[dict[str, Any]], vae_rows: list[dict[str, Any]]) -> Any:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    dims = [p["dim"] for p in points]
    axes[0].plot(dims, [p["fid"] for p in points], "o-", color="#e76f51", label="GAN (1.2h)")
    axes[1].plot(dims, [p["coverage_entropy"] for p in points], "o-", color="#e76f51", label="GAN (1.2h)")
    vae = [r for r in vae_rows if r.get("latent_dim") is not None and r.get("fid") is not None]
    if vae:
        vdims = [r["latent_dim"] for r in vae]
        axes[0].plot(vdims, [r["fid"] for r in vae], "s--", color="#3a86ff", label="VAE (1.1i)")
        if all(r.get("coverage_entropy") is not None for r in vae):
            axes[1].plot(vdims, [r["coverage_entropy"] for r in vae], "s--", color="#3a86ff", label="VAE (1.1i)")
    axes[1].axhline(np.log(10), color="#555", ls="--", lw=0.8, label="ln 10 (all digits equal)")
    for ax, title in zip(axes, ("FID-MNIST (lower is better)", "class entropy, nats (higher is better)")):
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(dims + [r["latent_dim"] for r in vae])))
        ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
        ax.get_xaxis().set_minor_formatter(plt.NullFormatter())  # only the swept dimensions are labelled
        ax.set_xlabel("dimension of z")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def vae_sweep_rows(ctx) -> list[dict[str, Any]]:
    """1.1i's whole sweep (its own models and 1.1e's point), scored by the same evaluator."""
    rows = ctx.input(VAE_SWEEP).value("sweep")
    keep = [r for r in rows if r.get("latent_dim") is not None and r.get("fid") is not None]
    return sorted(keep, key=lambda r: r["latent_dim"])


@item("1.2h", "Latent dimension of the GAN", needs=("1.2d", VAE_SWEEP, EVALUATOR_ITEM), config=("gan", "gan_compare", "eval"), extra_code=CODE)
def latent_dim(ctx):
    gan_cfg = ctx.settings("gan")
    dims = sorted(set(int(d) for d in ctx.settings("gan_compare")["noise_dims"]))
    base = ctx.input("1.2d")
    ev = evaluator(ctx)
    points, samples, rows = [], {}, []
    for i, dim in enumerate(dims):
        ctx.log(f"z = {dim} ({i + 1}/{len(dims)})")
        if dim == gan_cfg["noise_dim"]:
            generator, train_s, ms, reused = base.model("generator"), base.metrics["train_s"], base.metrics["ms_per_step"], True
            stuck = base.metrics["d_acc_stuck_frac"]
        else:
            gan, history, train_s = train_one(ctx, train_settings(ctx, noise_dim=dim), f"GAN z={dim}")
            generator, ms, reused, stuck = gan.generator, history.ms_per_step, False, history.stuck_fraction()
        scores, images, ips = evaluate(ctx, ev, generator, gan_cfg["noise"], dim)
        points.append({"dim": dim, "reused_1.2d": reused, "train_s": train_s, "ms_per_step": ms, "sample_ips": ips,
                       "g_params": int(generator.count_params()), "d_acc_stuck_frac": stuck,
                       "class_hist": scores["class_hist"], **{k: float(scores[k]) for k in SCORE_KEYS},
                       "classes_under_2pct": int(scores["classes_under_2pct"])})
        samples[f"z={dim}"] = images[:10]
        rows.append(model_row(f"GAN z={dim} {gan_cfg['noise']}", "1.2d" if reused else ctx.id, train_s, ips, scores))

    best = min(points, key=lambda p: p["fid"])
    ctx.metric("best_dim_by_fid", best["dim"])
    ctx.metric("best_fid", best["fid"])
    for p in points:
        ctx.metric(f"fid_z{p['dim']}", p["fid"])
        ctx.metric(f"coverage_entropy_z{p['dim']}", p["coverage_entropy"], "nats")
        ctx.metric(f"classes_under_2pct_z{p['dim']}", p["classes_under_2pct"])
        ctx.metric(f"train_s_z{p['dim']}", p["train_s"], "s")
    ctx.metric("n_dims", len(points))
    ctx.metric("fid_first_dim", points[0]["fid"])
    ctx.metric("fid_last_dim", points[-1]["fid"])
    ctx.metric("first_dim", points[0]["dim"])
    ctx.metric("last_dim", points[-1]["dim"])
    ctx.check("reuses_1.2d", any(p["reused_1.2d"] for p in points) or gan_cfg["noise_dim"] not in dims,
              {"es": f"el punto z = {gan_cfg['noise_dim']} es el modelo de 1.2d, no se reentrena",
               "en": f"the point z = {gan_cfg['noise_dim']} is 1.2d's model, not retrained"},
              expected=gan_cfg["noise_dim"], observed=[p["dim"] for p in points if p["reused_1.2d"]])
    ctx.check("sweep_covers_handout_range", ctx.profile != "full" or {2, 10, 100} <= set(dims),
              {"es": "en el perfil full el barrido incluye 2, 10 y 100", "en": "at profile full the sweep includes 2, 10 and 100"},
              expected=[2, 10, 100], observed=dims)

    vae_rows = vae_sweep_rows(ctx)
    ctx.metric("vae_points", len(vae_rows))
    ctx.save_value("vae_sweep", [{"dim": r["latent_dim"], "fid": r["fid"], "coverage_entropy": r.get("coverage_entropy"),
                                  "classes_under_2pct": r.get("classes_under_2pct")} for r in vae_rows])
    if vae_rows:
        vae_best = min(vae_rows, key=lambda r: r["fid"])
        ctx.metric("vae_best_dim_by_fid", vae_best["latent_dim"])
        ctx.metric("vae_best_fid", vae_best["fid"])
    ctx.table("sweep", [{"es": "dim. de z", "en": "z dim."}, "FID-MNIST", {"es": "entropía de clases", "en": "class entropy"},
                        {"es": "clases < 2 %", "en": "classes < 2 %"}, "precision", "recall",
                        {"es": "parámetros de G", "en": "G parameters"}, {"es": "entrenamiento s", "en": "training s"},
                        {"es": "origen", "en": "source"}],
              [[p["dim"], round(p["fid"], 2), round(p["coverage_entropy"], 3), p["classes_under_2pct"], round(p["precision"], 3),
                round(p["recall"], 3), p["g_params"], round(p["train_s"], 1), "1.2d" if p["reused_1.2d"] else "1.2h"] for p in points],
              {"es": f"Barrido de la dimensión de z, {n_samples(points)} muestras por punto",
               "en": f"Sweep of the dimension of z, {n_samples(points)} samples per point"})
    ctx.figure("sweep", sweep_figure(points, vae_rows), {
        "es": "FID-MNIST y entropía de clases según la dimensión de z" + (" (GAN y VAE)" if vae_rows else ""),
        "en": "FID-MNIST and class entropy against the dimension of z" + (" (GAN and VAE)" if vae_rows else "")})
    ctx.figure("samples", comparison_grids(samples, 10), {
        "es": "Diez muestras por dimensión de z", "en": "Ten samples per dimension of z"})
    ctx.figure("class_histogram", class_histogram_figure({k: p["class_hist"] for k, p in zip(samples, points)},
                                                         "Digits generated for each dimension of z"), {
        "es": "Cobertura de clases por dimensión de z", "en": "Class coverage per dimension of z"})
    ctx.save_value("points", points)
    ctx.save_value("model_rows", [r for r, p in zip(rows, points) if not p["reused_1.2d"]])


def n_samples(points: list[dict[str, Any]]) -> int:
    return int(sum(points[0]["class_hist"]))
