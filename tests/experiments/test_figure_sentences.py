"""A sentence about a figure is bound to a measurement of that figure: 1.2g's latent plane."""
from __future__ import annotations

import numpy as np

from experiments.gan.g_latent_distribution import plane_reading

N = 20


class FakeScorer:
    """An evaluator whose confidence and labels over an N×N plane are given, cell by cell."""

    def __init__(self, confidence: np.ndarray, labels: np.ndarray) -> None:
        self.confidence, self.labels = confidence, labels

    def classify(self, images):
        assert len(images) == N * N
        return self.labels.reshape(-1), self.confidence.reshape(-1)


def plane(centre_conf: float, border_conf: float, one_class: bool = False):
    rng = np.random.default_rng(0)
    half = (N - 1) / 2
    idx = np.abs(np.arange(N) - half) / half
    centre = np.maximum(idx[:, None], idx[None, :]) <= 0.5
    conf = np.where(centre, centre_conf, border_conf) + rng.normal(0, 0.02, (N, N))
    labels = np.zeros((N, N), int) if one_class else rng.integers(0, 10, (N, N))
    return plane_reading(FakeScorer(conf, labels), np.zeros((N * N, 28, 28, 1)), N)


def test_the_centre_is_said_to_hold_the_better_digits_only_when_the_evaluator_measures_it():
    better_centre = plane(0.95, 0.6)
    assert better_centre["better"] == "centre" and better_centre["no_digits"] is None
    assert better_centre["centre"] > better_centre["border"]
    assert plane(0.6, 0.95)["better"] == "border"  # the opposite figure gets the opposite sentence
    assert plane(0.8, 0.8)["better"] is None       # no clear difference: "no se aprecia"


def test_a_plane_of_one_class_is_said_to_draw_no_digits_whatever_its_confidence():
    grey = plane(0.99, 0.5, one_class=True)
    assert grey["no_digits"] == "one_class" and grey["better"] is None and grey["one_class_share"] == 1.0


# The answers' sentences about 1.1f's scatter and histograms and 1.1g's grids, rendered from their
# answer files with made-up measurements: each sentence follows its measurement both ways.
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from harness.report.answers import render_answer_text, variables  # noqa: E402
from harness.result import Result  # noqa: E402

ANSWERS = Path(__file__).resolve().parents[2] / "experiments" / "vae" / "answers"
F_BASE = {"knn_accuracy": 0.9, "mu_mean_z1": 0.0, "mu_mean_z2": 0.0, "inside_90_region": 0.8, "mu_std_z1": 1.0,
          "mu_std_z2": 1.0, "median_var_z1": 0.05, "median_var_z2": 0.05, "aggregate_var_z1": 1.0, "aggregate_var_z2": 1.0}
G_BASE = {"grid_n": 15, "central_digits_present": 10, "changes_along_z1": 3.0, "changes_along_z2": 2.0, "ink_corr_z1": 0.1,
          "ink_corr_z2": 0.7, "extreme_range": 4.4, "beyond_90_share": 0.5, "central_confidence": 0.9,
          "beyond_90_confidence": 0.6, "corner_confidence": 0.5, "beyond_90_digits_present": 6, "beyond_90_top_digit": 1,
          "beyond_90_top_digit_share": 0.3, "beyond_90_sharpness": 0.8, "central_sharpness": 0.7,
          "beyond_90_nn_distance": 9.0, "central_nn_distance": 6.0, "beyond_90_ink": 0.2, "central_ink": 0.1, "test_ink": 0.13}


def answer(item_id: str, metrics: dict, lang: str) -> str:
    result = Result(item_id, metrics={k: {"value": v} for k, v in metrics.items()})
    text = (ANSWERS / lang / f"{item_id}.md").read_text(encoding="utf-8")
    return render_answer_text(text, variables(item_id, {item_id: result}, {"vae": {"latent_dim": 2}}, "smoke"), item_id, lang)


@pytest.mark.parametrize("lang, separated, overlapping", [
    ("es", "los dígitos forman regiones propias", "los dígitos todavía se solapan mucho"),
    ("en", "digits form regions of their own", "The digits still overlap a lot")])
def test_the_scatter_is_said_to_separate_the_digits_only_when_the_neighbours_vote_says_so(lang, separated, overlapping):
    clear = answer("1.1f", F_BASE, lang)
    mixed = answer("1.1f", {**F_BASE, "knn_accuracy": 0.3}, lang)
    assert separated in clear and overlapping not in clear
    assert overlapping in mixed and separated not in mixed


@pytest.mark.parametrize("lang, near, far", [
    ("es", "cerca de 1 en ambas componentes", "no es 1 en ambas componentes"),
    ("en", "close to 1 in both components", "not 1 in both components")])
def test_the_codes_are_said_to_fill_the_prior_only_when_the_aggregate_variance_is_near_one(lang, near, far):
    assert near in answer("1.1f", F_BASE, lang)
    spread = answer("1.1f", {**F_BASE, "aggregate_var_z2": 2.5}, lang)
    assert far in spread and near not in spread


@pytest.mark.parametrize("lang, less, not_less", [
    ("es", "Las celdas exteriores son entonces menos reconocibles", "las celdas exteriores no son menos reconocibles"),
    ("en", "The outer cells are therefore less recognisable", "The outer cells are not less recognisable")])
def test_the_outer_cells_are_said_to_be_less_recognisable_only_when_the_evaluator_is_less_sure_there(lang, less, not_less):
    worse = answer("1.1g", G_BASE, lang)
    same = answer("1.1g", {**G_BASE, "beyond_90_confidence": 0.95}, lang)
    assert less in worse and not_less not in worse
    assert not_less in same and less not in same
