"""1.1i: the latent dimension swept at 1.1e's budget (1.1e's own model is the 2-D point).

Each other dimension is a unit (harness.registry.Units): trained and measured as a task of its own,
cached on its own, and gathered here into the sweep's table and figures."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.figure_text import series
from harness.registry import Units, item
from harness.words import words

from experiments.vae import common
from experiments.vae import models
from experiments.vae.common import Check

W = words(__file__)

PANELS = ("neg_elbo", "nll", "reconstruction", "kl", "active_units", "train_s")
PANEL_TITLES = W("panel_titles")

UNITS = {name: "nats" for name in (
    "best_test_neg_elbo", "smallest_dim_test_neg_elbo", "largest_dim_test_neg_elbo", "largest_dim_kl",
    "smallest_dim_kl", "largest_dim_reconstruction", "smallest_dim_reconstruction", "gain_vs_smallest")}
NOTES = {
    "best_latent_dim": W("notes", "best_latent_dim"),
    "best_test_neg_elbo": common.likelihood_note,
    "best_fid_latent_dim": common.fid_note,
}
CAPTIONS = W.table("captions")
CHECKS = W.table("checks")
BASE_NOT_SWEPT = W("base_not_swept")


@dataclass
class Sweep:
    rows: list[dict[str, Any]]      # one model row per latent dimension, smallest first
    metrics: dict[str, Any]         # in report order
    trained_here: list[dict[str, Any]]  # the rows of the models this item trained
    checks: dict[str, Check]


def summarise(rows: list[dict[str, Any]], dims: list[int], base_dim: int, item_id: str) -> Sweep:
    """The sweep's best, smallest and largest points, from the model rows in order of dimension."""
    best = min(rows, key=lambda row: row["neg_elbo"])
    best_fid = min(rows, key=lambda row: row["fid"])
    best_nll = min(rows, key=lambda row: row["nll"])   # the fair likelihood comparison: the IWAE bound
    smallest, largest = rows[0], rows[-1]
    metrics = {
        "best_latent_dim": best["latent_dim"],
        "best_test_neg_elbo": best["neg_elbo"],
        "smallest_dim_test_neg_elbo": smallest["neg_elbo"],
        "smallest_dim": smallest["latent_dim"],
        "largest_dim": largest["latent_dim"],
        "largest_dim_test_neg_elbo": largest["neg_elbo"],
        "largest_dim_active_units": largest["active_units"],
        "max_active_units": max(row["active_units"] for row in rows),
        "largest_dim_kl": largest["kl"],
        "smallest_dim_kl": smallest["kl"],
        "largest_dim_reconstruction": largest["reconstruction"],
        "smallest_dim_reconstruction": smallest["reconstruction"],
        "gain_vs_smallest": smallest["neg_elbo"] - best["neg_elbo"],
        "dims_trained": len(dims) - int(base_dim in dims),
        "best_fid_latent_dim": best_fid["latent_dim"],
        "best_fid": best_fid["fid"],
        "smallest_dim_fid": smallest["fid"],
        "largest_dim_fid": largest["fid"],
        "best_fid_se": best_fid["fid_se"],
        "smallest_dim_fid_se": smallest["fid_se"],
        "largest_dim_fid_se": largest["fid_se"],
        "best_nll_latent_dim": best_nll["latent_dim"],
        "best_nll": best_nll["nll"],
        "best_nll_se": best_nll["nll_se"],
        "smallest_dim_nll": smallest["nll"],
        "smallest_dim_nll_se": smallest["nll_se"],
        "smallest_dim_s_per_epoch": smallest["s_per_epoch"],
        "largest_dim_s_per_epoch": largest["s_per_epoch"],
    }
    reused = any(row["item"] == "1.1e" for row in rows)
    absent = None if base_dim in dims else common.fill(BASE_NOT_SWEPT, dim=base_dim)  # nothing to reuse: not graded
    checks = {"sweep_reuses_1.1e": Check(reused, True, reused, not_graded=absent)}
    return Sweep(rows, metrics, [row for row in rows if row["item"] == item_id], checks)


def record(ctx, result: Sweep) -> None:
    common.record_metrics(ctx, result.metrics, UNITS, NOTES)
    ctx.table("sweep", common.COMPARE_COLUMNS, common.compare_rows(result.rows),
              common.with_likelihood_note(CAPTIONS["sweep"], ctx))
    ctx.figure("sweep_chart", lambda lang: sweep_chart(result.rows, lang), CAPTIONS["sweep_chart"])
    ctx.figure("sweep_samples", samples_figure(result.rows), CAPTIONS["sweep_samples"])
    ctx.save_value("model_rows", common.public_rows(result.trained_here))
    ctx.save_value("sweep", common.public_rows(result.rows))
    common.record_checks(ctx, result.checks, CHECKS)


def sweep_chart(rows, lang: str):
    import matplotlib.pyplot as plt

    dims = [row["latent_dim"] for row in rows]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, key in zip(axes.ravel(), PANELS):
        series(ax, dims, [row[key] for row in rows], "o-", lang)
        if key == "active_units":
            ax.plot(dims, dims, "k:", lw=1, label="= dim")
            ax.legend(fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(dims, [str(dim) for dim in dims])
        ax.set_xlabel("dim z")
        ax.set_title(PANEL_TITLES[lang][key], fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def samples_figure(rows):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(3.3 * len(rows), 3.6))
    for ax, row in zip(np.atleast_1d(axes), rows):
        common.show_mosaic(ax, row["_samples"][:64], 8, f"dim z = {row['latent_dim']}")
    fig.tight_layout()
    return fig


def sweep_points(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """1.1i's units: one training per latent dimension of the sweep but 1.1e's, each its own task."""
    base = settings["vae"]["latent_dim"]
    return {f"z{dim}": {"latent_dim": dim} for dim in sorted(set(settings["vae_compare"]["latent_dims"])) if dim != base}


def train_point(ctx, latent_dim: int) -> None:
    """One point of the sweep: a VAE with `latent_dim` latent variables at 1.1e's budget, measured as
    every VAE is; its row and 64 of its samples are what the item gathers."""
    settings = common.settings(ctx)
    vae = models.build_vae(settings, latent_dim=latent_dim, seed=ctx.seed, name=f"vae_z{latent_dim}")
    run = models.fit_vae(ctx, vae, settings, f"VAE z={latent_dim}")
    row = common.measure(ctx, vae, f"VAE z={latent_dim} BCE", training=run)
    ctx.save_array("samples", row.pop("_samples")[:64])
    ctx.save_value("row", row)


def trained_row(unit) -> dict[str, Any]:
    row = dict(unit.value("row"))
    row["_samples"] = unit.array("samples")
    return row


@item("1.1i", "VAE latent dimension sweep", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "vae_compare", "eval"),
      units=Units(sweep_points, train_point, needs=(common.EVALUATOR_ITEM,), config=("vae", "eval")))
def latent_dim(ctx):
    settings = common.settings(ctx)
    dims = sorted(set(ctx.settings("vae_compare")["latent_dims"]))
    base = ctx.input("1.1e")
    rows = []
    for dim in dims:
        if dim == settings["latent_dim"]:  # 1.1e trained exactly this model: reuse it, never train it twice
            rows.append(common.base_row(ctx, base.model("vae")))
        else:
            rows.append(trained_row(ctx.unit(f"z{dim}")))
    record(ctx, summarise(rows, dims, settings["latent_dim"], ctx.id))
