"""1.1g: decode a grid of the latent plane: the central 90 % and out to the extreme tails."""
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

CENTRAL = (0.05, 0.95)
EXTREME = (0.000005, 0.999995)

NOTES = W.table("notes")
GRID_TITLES = {"latent_grid": "{n}×{n}: z = Φ⁻¹(linspace(0.05, 0.95))",
               "latent_grid_extreme": "{n}×{n}: z = Φ⁻¹(linspace(0.000005, 0.999995))"}
GRID_WORDS = W("grid_words")
CAPTIONS = W.table("captions")
DIGITS_BY_REGION_COLUMNS = W.list("digits_by_region_columns")
CHECKS = W.table("checks")


def latent_grid(n: int, span: tuple[float, float], latent_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse normal CDF of evenly spaced probabilities: the grid is evenly spaced in probability.
    Rows run z2 from high (top) to low, columns z1 from low to high, like a plot's axes.
    Components past the second stay at 0, the prior's mode."""
    values = norm.ppf(np.linspace(*span, n))
    z1, z2 = np.meshgrid(values, values[::-1])
    z = np.zeros((n * n, latent_dim), dtype="float32")
    z[:, 0], z[:, 1] = z1.ravel(), z2.ravel()
    return values, z


def grid_figure(images: np.ndarray, values: np.ndarray, title: str):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = len(values)
    fig, ax = plt.subplots(figsize=(10, 10))
    ax.imshow(common.tile(images, n), cmap="gnuplot2", vmin=0, vmax=1)
    step = max(1, n // 10)  # at most ~10 labels per axis: 30 would overlap
    ticks = np.arange(0, n, step)
    pos = 28 * ticks + 14
    ax.set_xticks(pos, [f"{values[i]:.2f}" for i in ticks], rotation=45)
    ax.set_yticks(pos, [f"{values[::-1][i]:.2f}" for i in ticks])
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    if values[-1] > Z90:  # mark the central 90 % on the extreme grid
        lo, hi = 28 * np.interp([-Z90, Z90], values, np.arange(n)) + 14
        ax.add_patch(Rectangle((lo, lo), hi - lo, hi - lo, fill=False, ls="--", color="w", lw=1.5))
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def pixel_evidence(images: np.ndarray, x_test: np.ndarray) -> dict[str, np.ndarray]:
    """Per decoded image: ink (mean intensity), sharpness (share of pixels decided, < 0.1 or > 0.9)
    and the distance to the nearest real test image (how digit-like it is, in pixel space)."""
    flat = images.reshape(len(images), -1)
    distance, _ = cKDTree(x_test.reshape(len(x_test), -1)).query(flat, k=1)
    return {"ink": flat.mean(1), "sharp": ((flat < 0.1) | (flat > 0.9)).mean(1), "nn_distance": distance}


@dataclass
class Grid:
    """One grid over the latent plane, decoded and judged by the MNIST evaluator."""
    values: np.ndarray              # the z value of each row and column
    z: np.ndarray                   # (n·n, latent_dim), row-major
    images: np.ndarray
    evidence: dict[str, np.ndarray]  # pixel_evidence
    labels: np.ndarray | None = None      # the evaluator's digit per cell
    confidence: np.ndarray | None = None  # and its confidence


@dataclass
class GridExploration:
    central: Grid                   # the central 90 % of each component
    extreme: Grid                   # out to the extreme tails
    central_digits: np.ndarray      # cells per digit, central grid
    beyond_digits: np.ndarray       # cells per digit, extreme grid beyond the 90 % region
    metrics: dict[str, Any]         # in report order
    grid_n: int
    latent_dim: int
    interpolation: "Interpolation | None" = None


# Walks between the codes of two real test digits: each pair is (from, to).
INTERP_PAIRS = ((0, 6), (1, 7), (3, 8), (4, 9), (2, 5), (5, 0))
INTERP_STEPS = 10


@dataclass
class Interpolation:
    images: np.ndarray              # (pairs, steps, 28, 28, 1)
    ends: list[tuple[str, str]]     # the evaluator's digit at each end
    labels: np.ndarray              # (pairs, steps): the evaluator's digit along each walk
    pairs: list[tuple[int, int]]


def interpolate_digits(vae, x_test: np.ndarray, y_test: np.ndarray, judge) -> Interpolation | None:
    """Decode the straight line between the means q(z|x) gives two real test digits of different classes.
    Pairs whose digits the test split lacks are skipped; None if none is left."""
    from experiments.gan.figures import interpolate

    pairs = [(a, b) for a, b in INTERP_PAIRS if (y_test == a).any() and (y_test == b).any()]
    if not pairs:
        return None
    first = lambda d: x_test[np.flatnonzero(y_test == d)[0]]  # noqa: E731
    z_a, z_b = (np.asarray(vae.encoder.predict(np.stack([first(p[i]) for p in pairs]), verbose=0)[0]) for i in (0, 1))
    path = interpolate(z_a, z_b, INTERP_STEPS)
    images = np.asarray(vae.decoder.predict(path.reshape(-1, path.shape[-1]), verbose=0))
    labels, _ = judge.classify(images)
    labels = np.asarray(labels).reshape(len(pairs), INTERP_STEPS)
    ends = [(str(row[0]), str(row[-1])) for row in labels]
    return Interpolation(images.reshape(len(pairs), INTERP_STEPS, *images.shape[1:]), ends, labels, pairs)


def record_interpolation(ctx, interp: Interpolation | None) -> None:
    if interp is None:
        return
    from experiments.gan.figures import interpolation_figure

    changes = (np.diff(interp.labels, axis=1) != 0).sum(1)
    others = [np.mean([d not in pair for d in row[1:-1]]) for row, pair in zip(interp.labels, interp.pairs)]
    ctx.metric("interp_digit_changes", float(changes.mean()), note=NOTES["interp_digit_changes"])
    ctx.metric("interp_other_digit_share", float(np.mean(others)), note=NOTES["interp_other_digit_share"])
    ctx.figure("interpolation", interpolation_figure(interp.images, interp.ends), CAPTIONS["interpolation"])


def decode_grid(vae, grid_n: int, span: tuple[float, float], batch: int, x_test: np.ndarray) -> Grid:
    values, z = latent_grid(grid_n, span, vae.latent_dim)
    images = vae.decoder.predict(z, batch_size=max(batch, grid_n * grid_n), verbose=0)  # the whole grid in one call
    return Grid(values, z, images, pixel_evidence(images, x_test))


def explore_grid(vae, grid_n: int, batch: int, x_test: np.ndarray, judge) -> GridExploration:
    """Decode the central and the extreme grid, and measure how digit-like each region is."""
    central = decode_grid(vae, grid_n, CENTRAL, batch, x_test)
    extreme = decode_grid(vae, grid_n, EXTREME, batch, x_test)
    outside = np.any(np.abs(extreme.z[:, :2]) > Z90, axis=1)
    far = np.all(np.abs(extreme.z[:, :2]) > 3.0, axis=1)  # the four corners, beyond 3 sigma in both

    central.labels, central.confidence = judge.classify(central.images)
    extreme.labels, extreme.confidence = judge.classify(extreme.images)
    central_digits = np.bincount(central.labels, minlength=10)
    beyond_digits = np.bincount(extreme.labels[outside], minlength=10)

    grid_labels = central.labels.reshape(grid_n, grid_n)
    ink_grid = central.evidence["ink"].reshape(grid_n, grid_n)
    z1_grid, z2_grid = central.z[:, 0].reshape(grid_n, grid_n), central.z[:, 1].reshape(grid_n, grid_n)
    metrics = {
        "central_digits_present": int((central_digits > 0).sum()),
        "central_confidence": float(central.confidence.mean()),
        "beyond_90_confidence": float(extreme.confidence[outside].mean()),
        "corner_confidence": float(extreme.confidence[far].mean()) if far.any() else float("nan"),
        "beyond_90_digits_present": int((beyond_digits > 0).sum()),
        "beyond_90_top_digit": int(beyond_digits.argmax()),
        "beyond_90_top_digit_share": float(beyond_digits.max() / max(1, beyond_digits.sum())),
        "changes_along_z1": float((np.diff(grid_labels, axis=1) != 0).sum(1).mean()),
        "changes_along_z2": float((np.diff(grid_labels, axis=0) != 0).sum(0).mean()),
        "ink_corr_z1": float(np.corrcoef(ink_grid.ravel(), z1_grid.ravel())[0, 1]),
        "ink_corr_z2": float(np.corrcoef(ink_grid.ravel(), z2_grid.ravel())[0, 1]),
        "grid_n": grid_n,
        "central_nn_distance": float(central.evidence["nn_distance"].mean()),
        "beyond_90_nn_distance": float(extreme.evidence["nn_distance"][outside].mean()),
        "corner_nn_distance": float(extreme.evidence["nn_distance"][far].mean()) if far.any() else float("nan"),
        "central_ink": float(central.evidence["ink"].mean()),
        "beyond_90_ink": float(extreme.evidence["ink"][outside].mean()),
        "test_ink": float(x_test.mean()),
        "central_sharpness": float(central.evidence["sharp"].mean()),
        "beyond_90_sharpness": float(extreme.evidence["sharp"][outside].mean()),
        "extreme_range": float(extreme.values[-1]),
        "beyond_90_share": float(outside.mean()),
    }
    return GridExploration(central, extreme, central_digits, beyond_digits, metrics, grid_n, vae.latent_dim)


def record(ctx, result: GridExploration) -> None:
    central, extreme, grid_n = result.central, result.extreme, result.grid_n
    common.record_metrics(ctx, result.metrics, notes=NOTES)
    ctx.figure("latent_grid", grid_figure(central.images, central.values, GRID_TITLES["latent_grid"].format(n=grid_n)),
               common.fill(CAPTIONS["latent_grid"], n=grid_n))
    ctx.figure("latent_grid_extreme", grid_figure(extreme.images, extreme.values,
                                                  GRID_TITLES["latent_grid_extreme"].format(n=grid_n)),
               CAPTIONS["latent_grid_extreme"])
    ctx.figure("extreme_evidence", lambda lang: evidence_figure(extreme.values, extreme.evidence, lang),
               CAPTIONS["extreme_evidence"])
    ctx.figure("grid_labels", lambda lang: labels_figure(central.values, central.labels, central.confidence,
                                                         extreme.values, extreme.labels, extreme.confidence, lang),
               CAPTIONS["grid_labels"])
    ctx.table("digits_by_region", DIGITS_BY_REGION_COLUMNS,
              [[digit, int(result.central_digits[digit]), int(result.beyond_digits[digit])] for digit in range(10)],
              CAPTIONS["digits_by_region"], detail=True)
    record_interpolation(ctx, result.interpolation)
    ctx.save_value("central_digits", result.central_digits.tolist())
    ctx.save_value("beyond_90_digits", result.beyond_digits.tolist())
    ctx.save_array("grid_images", central.images)
    common.check_latent_dim(ctx, result.latent_dim)
    # From the coordinates the grids were decoded at, against the handout's recipe written out here:
    # norm.ppf(np.linspace(0.05, 0.95, n)) for the grid, and its last line's extreme one.
    for name, grid, span in (("grid_is_the_inverse_cdf", central, (0.05, 0.95)),
                             ("extreme_grid_is_the_inverse_cdf", extreme, (0.000005, 0.999995))):
        want = norm.ppf(np.linspace(*span, grid_n))
        ctx.check(name, grid_matches(grid.values, want), CHECKS[name],
                  expected=[round(float(v), 4) for v in want[[0, grid_n // 2, -1]]],
                  observed=[round(float(v), 4) for v in np.asarray(grid.values)[[0, len(grid.values) // 2, -1]]]
                  if len(grid.values) else [])


def grid_matches(values, want) -> bool:
    values = np.asarray(values, dtype=float)
    return values.shape == want.shape and bool(np.allclose(values, want, rtol=1e-5, atol=1e-6))


@item("1.1g", "VAE generation over a latent grid", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "vae_compare"),
      shows=("vae_samples",))
def generation(ctx):
    vae = ctx.input("1.1e").model("vae")
    grid_n = ctx.settings("vae_compare")["grid_n"]
    batch = ctx.settings("vae")["batch_size"]
    judge = common.evaluator(ctx)
    result = explore_grid(vae, grid_n, batch, ctx.data.x_test, judge)
    result.interpolation = interpolate_digits(vae, ctx.data.x_test, ctx.data.y_test, judge)
    record(ctx, result)


def z_axes(ax, values: np.ndarray, box: bool) -> None:
    """Axes in cell units labelled with the z values (the grid is even in probability, not in z);
    the dashed box is |z1|, |z2| < 1.645, the central 90 % of each component."""
    n = len(values)
    ticks = np.arange(0, n, max(1, n // 8))
    ax.set_xticks(ticks, [f"{values[i]:.2f}" for i in ticks], rotation=45)
    ax.set_yticks(ticks, [f"{values[::-1][i]:.2f}" for i in ticks])
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    if box and values[-1] > Z90:
        lo, hi = np.interp([-Z90, Z90], values, np.arange(n))
        ax.add_patch(plt_rectangle(lo, hi))


def plt_rectangle(lo: float, hi: float):
    from matplotlib.patches import Rectangle

    return Rectangle((lo, lo), hi - lo, hi - lo, fill=False, ls="--", color="k", lw=1.3)


def evidence_figure(values: np.ndarray, evidence: dict[str, np.ndarray], lang: str):
    import matplotlib.pyplot as plt

    w = GRID_WORDS[lang]
    n = len(values)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4))
    for ax, key in zip(axes, ("nn_distance", "ink")):
        im = ax.imshow(evidence[key].reshape(n, n), cmap="viridis")
        fig.colorbar(im, ax=ax, shrink=0.85)
        z_axes(ax, values, box=True)
        ax.set_title(w[key], fontsize=10)
    fig.tight_layout()
    return fig


def labels_figure(values, labels, confidence, ext_values, ext_labels, ext_confidence, lang: str):
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm

    fig, axes = plt.subplots(1, 2, figsize=(13, 6))
    cmap, norm = plt.get_cmap(common.DIGIT_CMAP), BoundaryNorm(np.arange(-0.5, 10.5), 10)
    for ax, vals, lab, conf, title in ((axes[0], values, labels, confidence, "Φ⁻¹(0.05 … 0.95)"),
                                       (axes[1], ext_values, ext_labels, ext_confidence, "Φ⁻¹(0.000005 … 0.999995)")):
        n = len(vals)
        rgba = cmap(norm(lab.reshape(n, n)))
        rgba[..., 3] = 0.15 + 0.85 * conf.reshape(n, n)  # faint = the classifier is unsure
        ax.imshow(rgba)
        if n <= 20:  # the digit itself reads only when the cells are big enough
            for (r, c), d in np.ndenumerate(lab.reshape(n, n)):
                ax.text(c, r, str(d), ha="center", va="center", fontsize=7)
        z_axes(ax, vals, box=True)
        ax.set_title(title, fontsize=10)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes.tolist(), ticks=range(10), shrink=0.8,
                 label=GRID_WORDS[lang]["predicted"])
    return fig
