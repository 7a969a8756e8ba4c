"""Figures of section 1.2: training curves, image grids and the class histogram."""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib
from harness.words import words

W = words(__file__)

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from harness.context import Text
from harness.figure_text import pick

WORDS = W("words")


def smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (same length: the first points average what exists so far)."""
    if window <= 1:
        return np.asarray(y, dtype=float)
    cumulative = np.cumsum(np.insert(np.asarray(y, dtype=float), 0, 0.0))
    out = np.empty(len(y))
    for i in range(len(y)):
        lo = max(0, i + 1 - window)
        out[i] = (cumulative[i + 1] - cumulative[lo]) / (i + 1 - lo)
    return out


def smoothing_window(steps: int) -> int:
    return max(1, min(200, steps // 25))


def curves_figure(history: Any, title: Text, lang: str) -> Any:
    """Loss and accuracy of D and of G (through D) per step, raw and smoothed."""
    steps = np.arange(1, history.steps + 1)
    window = smoothing_window(history.steps)
    w = WORDS[lang]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, kind in zip(axes, ("loss", "acc")):
        for net, colour in (("d", "#1f77b4"), ("g", "#d62728")):
            y = history.column(f"{net}_{kind}")
            label = f"{w[net]}, {w['smoothed'].format(window=window)}"
            ax.plot(steps, y, color=colour, alpha=0.25, lw=0.7)
            ax.plot(steps, smooth(y, window), color=colour, lw=1.8, label=label)
        ax.set_xlabel(w["step"])
        ax.set_ylabel(w["bce"] if kind == "loss" else w["acc"])
        if kind == "loss":
            ax.set_yscale("log")  # spikes of 10+ and plateaus near 0.001 both stay readable
            ax.axhline(np.log(2), color="#888", lw=0.6, ls="--", label=w["ln2"])
        if kind == "acc":
            ax.set_ylim(-0.03, 1.03)
            ax.axhline(0.5, color="#888", lw=0.6, ls="--")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title(w["loss_title"])
    axes[1].set_title(w["acc_title"])
    fig.suptitle(pick(title, lang), fontsize=10)
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, rows: int, cols: int, title: Text = "", size: float = 1.0,
               labels: Sequence[str] | None = None, lang: str = "en") -> Any:
    """Images in a rows x cols grid like the handout's plt.subplot(4, 4, i + 1) loop
    (`lang` picks the title's language; a grid with no title has no words)."""
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size + (0.4 if title else 0)))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i].reshape(images.shape[1], images.shape[2]), cmap="gray", vmin=0, vmax=1)
            if labels is not None:
                ax.set_title(labels[i], fontsize=7, pad=1)
    if title:
        fig.suptitle(pick(title, lang), fontsize=10)
    fig.tight_layout()
    return fig


def latent_grid(n: int, lo: float, hi: float) -> np.ndarray:
    """n x n points of the square [lo, hi]², row by row from the top, as manifold_figure tiles them."""
    axis = np.linspace(lo, hi, n, dtype="float32")
    return np.array([[x, y] for y in axis[::-1] for x in axis], dtype="float32")


def manifold_figure(images: np.ndarray, n: int, lo: float, hi: float, title: Text, lang: str) -> Any:
    """The n x n images of a regular grid over a 2-D latent square, tiled into one picture."""
    side = images.shape[1]
    canvas = np.zeros((n * side, n * side))
    for k, img in enumerate(images):
        r, c = divmod(k, n)
        canvas[r * side:(r + 1) * side, c * side:(c + 1) * side] = img[..., 0]
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, extent=(lo, hi, lo, hi))
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(pick(title, lang), fontsize=10)
    fig.tight_layout()
    return fig


def class_histogram_figure(hists: dict[str, Sequence[float]], title: Text, lang: str) -> Any:
    """Share of generated images per predicted digit: a collapsed G piles onto a few bars."""
    w = WORDS[lang]
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    width = 0.8 / max(len(hists), 1)
    digits = np.arange(10)
    for j, (label, hist) in enumerate(hists.items()):
        counts = np.asarray(hist, dtype=float)
        shares = counts / counts.sum() if counts.sum() > 0 else counts
        ax.bar(digits - 0.4 + width * (j + 0.5), shares, width, label=label)
    ax.axhline(0.1, color="#555", ls="--", lw=0.8, label=w["uniform"])
    ax.axhline(0.02, color="#c00", ls=":", lw=0.8, label=w["threshold"])
    ax.set_xticks(digits)
    ax.set_xlabel(w["predicted"])
    ax.set_ylabel(w["share"])
    ax.set_title(pick(title, lang), fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def comparison_grids(samples: dict[str, np.ndarray], n: int = 8, title: Text = "", lang: str = "en") -> Any:
    """One row of n samples per model, to compare models by eye next to their scores
    (rows are labelled with the models' names, the same in both languages)."""
    rows = len(samples)
    fig, axes = plt.subplots(rows, n, figsize=(n * 0.9, rows * 0.95 + 0.4), squeeze=False)
    for r, (label, images) in enumerate(samples.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.axis("off")
            ax.imshow(images[c, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[r, 0].text(-0.15, 0.5, label, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(pick(title, lang), fontsize=10)
    fig.tight_layout()
    return fig


def snapshots_figure(grids: dict[int, np.ndarray], lang: str) -> Any:
    """One row per training step, the same z in every column: how G's samples change as it trains."""
    w = WORDS[lang]
    steps = sorted(grids)
    n = len(grids[steps[0]])
    fig, axes = plt.subplots(len(steps), n, figsize=(n * 0.85, len(steps) * 0.9 + 0.2), squeeze=False)
    for r, step in enumerate(steps):
        for c in range(n):
            axes[r, c].axis("off")
            axes[r, c].imshow(grids[step][c, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[r, 0].text(-0.15, 0.5, w["step_n"].format(step=step), transform=axes[r, 0].transAxes,
                        ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig


def probes_figure(probes: np.ndarray, lang: str) -> Any:
    """The share of images the same D calls real: real ones, and G's fakes in each BatchNorm mode."""
    w = WORDS[lang]
    # Taller than the other step curves: its legend goes under the axes on a slide, and a
    # wide, short drawing left the curves a strip there.
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    step = probes[:, 0]
    for col, key, style in ((1, "on_real", "k-"), (2, "fooled_inference", "b-o"), (3, "fooled_training", "r-s")):
        ax.plot(step, probes[:, col], style, ms=3, lw=1.3, label=w[key])
    ax.set_ylim(-0.03, 1.03)
    ax.axhline(0.5, color="#888", lw=0.6, ls="--")
    ax.set_xlabel(w["step"])
    ax.set_ylabel(w["called_real"])
    ax.set_title(w["probe_title"], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def interpolation_figure(rows: np.ndarray, ends: Sequence[tuple[str, str]] | None = None) -> Any:
    """rows: (pairs, steps, 28, 28, 1), each row a straight walk between two latent points.
    `ends` labels each row's two ends (digits, the same in every language); no other words."""
    pairs, steps = rows.shape[:2]
    fig, axes = plt.subplots(pairs, steps, figsize=(steps * 0.8, pairs * 0.85), squeeze=False)
    for r in range(pairs):
        for c in range(steps):
            axes[r, c].axis("off")
            axes[r, c].imshow(rows[r, c, ..., 0], cmap="gray", vmin=0, vmax=1)
        if ends is not None:
            axes[r, 0].set_title(ends[r][0], fontsize=7, pad=1)
            axes[r, -1].set_title(ends[r][1], fontsize=7, pad=1)
    fig.tight_layout()
    return fig


def interpolate(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """(pairs, steps, dim): the straight line from each a to each b, ends included. A segment
    between two points of the box [-1, 1]^d stays inside it, so G is only fed z it trained on."""
    t = np.linspace(0.0, 1.0, steps, dtype="float32")[None, :, None]
    return (a[:, None, :] * (1 - t) + b[:, None, :] * t).astype("float32")
