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
