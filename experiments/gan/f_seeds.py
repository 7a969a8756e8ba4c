"""1.2f's bookkeeping over seeds: per-model summaries, the "beyond the spread" rule, tables and figures.

Same-seed GAN runs at the handout's budget differ by tens of FID points (benchmarks/RESULTS.md),
so one run per model says little. A model counts as better than another only when the gap of
their mean FID exceeds the sum of their standard deviations over seeds; with one seed there is
no spread to compare against, and nothing counts as better.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.evaluation.model_rows import PRECISION, RECALL
from harness.words import words

W = words(__file__)

MIN_DIGIT_SHARE = 0.05   # the aim: every digit in at least 5 % of a model's samples


@dataclass
class SeedScores:
    """One model's evaluator scores, one entry per seed."""

    fid: np.ndarray
    classes_under_2pct: np.ndarray
    min_digit_share: np.ndarray     # the rarest digit's share of the samples
    coverage_entropy: np.ndarray
    precision: np.ndarray
    recall: np.ndarray

    @classmethod
    def of(cls, scores: list[dict[str, Any]]) -> "SeedScores":
        col = lambda key: np.array([float(s[key]) for s in scores])  # noqa: E731
        shares = np.array([np.min(s["class_hist"]) / max(1, np.sum(s["class_hist"])) for s in scores])
        return cls(col("fid"), col("classes_under_2pct"), shares, col("coverage_entropy"), col("precision"), col("recall"))


def sd(values: np.ndarray) -> float:
    """Sample standard deviation; 0 with one seed (and then beyond_spread refuses to decide)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summary(s: SeedScores) -> dict[str, float]:
    return {"seeds": len(s.fid), "fid_mean": float(s.fid.mean()), "fid_sd": sd(s.fid),
            "fid_min": float(s.fid.min()), "fid_max": float(s.fid.max()),
            "classes_under_2pct_mean": float(s.classes_under_2pct.mean()),
            "min_digit_share_mean": float(s.min_digit_share.mean()), "min_digit_share_min": float(s.min_digit_share.min()),
            "seeds_all_digits_5pct": int(np.sum(s.min_digit_share >= MIN_DIGIT_SHARE)),
            "coverage_entropy_mean": float(s.coverage_entropy.mean()),
            "precision_mean": float(s.precision.mean()), "recall_mean": float(s.recall.mean())}


def beyond_spread(a: dict[str, float], b: dict[str, float]) -> bool:
    """True when a's mean FID is lower than b's by more than their two standard deviations together."""
    if a["seeds"] < 2 or b["seeds"] < 2:
        return False
    return b["fid_mean"] - a["fid_mean"] > a["fid_sd"] + b["fid_sd"]


SUMMARY_COLUMNS = [W("summary_columns"), W("summary_columns_2"), "FID-MNIST",
                   W("summary_columns_3"), W("summary_columns_4"),
                   W("summary_columns_5"), W("summary_columns_6"),
                   PRECISION, RECALL]
SEED_COLUMNS = W.list("seed_columns")
TARGET = {"D": "D", "G": "G", "procedure": "(*)", None: "—"}   # (*): the caption says it changes the procedure


def summary_rows(models: list[str], stats: dict[str, dict[str, float]], variants: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for m in models:
        s = stats[m]
        target = variants[m][1] if m in variants else None
        rows.append([m, TARGET[target], f"{s['fid_mean']:.1f} ± {s['fid_sd']:.1f}", f"{s['fid_min']:.1f}–{s['fid_max']:.1f}",
                     f"{s['classes_under_2pct_mean']:.1f}", f"{100 * s['min_digit_share_mean']:.1f} %",
                     f"{s['seeds_all_digits_5pct']}/{s['seeds']}", round(s["precision_mean"], 3), round(s["recall_mean"], 3)])
    return rows


def seed_rows(runs: list[Any]) -> list[list[Any]]:
    rows = []
    for r in runs:
        hist = np.asarray(r.scores["class_hist"], dtype=float)
        rows.append([r.model, r.seed, round(float(r.scores["fid"]), 1), int(r.scores["classes_under_2pct"]),
                     f"{100 * hist.min() / max(1.0, hist.sum()):.1f} %", round(float(r.train_s), 1)])
    return rows


WORDS = W("words")


def seed_figure(fids: dict[str, list[float]], lang: str) -> Any:
    import matplotlib.pyplot as plt

    w = WORDS[lang]
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(fids), 3.4))
    for x, (model, values) in enumerate(fids.items()):
        ax.scatter(np.full(len(values), x) + np.linspace(-0.08, 0.08, len(values)), values, s=22, zorder=3)
        ax.hlines(np.mean(values), x - 0.25, x + 0.25, color="k", lw=2, label=w["mean"] if x == 0 else None)
    ax.set_xticks(range(len(fids)), list(fids), fontsize=8)
    ax.set_ylabel("FID-MNIST")
    ax.set_title(w["title"], fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def dynamics_figure(histories: dict[str, np.ndarray], lang: str) -> Any:
    """D's accuracy and G's loss per step (moving average), one line per model."""
    import matplotlib.pyplot as plt

    from experiments.gan.figures import smooth, smoothing_window

    w = WORDS[lang]
    window = smoothing_window(len(next(iter(histories.values()))))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for ax, col, title in ((axes[0], 1, w["d_acc"]), (axes[1], 2, w["g_loss"])):
        for label, values in histories.items():
            ax.plot(np.arange(1, len(values) + 1), smooth(values[:, col], window), label=label)
        ax.set_title(w["average"].format(title=title, window=window), fontsize=10)
        ax.set_xlabel(w["step"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
