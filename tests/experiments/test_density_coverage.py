"""Density and coverage (Naeem et al. 2020) on synthetic feature clouds whose answer is known,
and the reference bounds a metric must meet before the comparison quotes it (issue 19)."""
import numpy as np
import pytest

from experiments.evaluation import references
from harness.train.evaluation import DC_K, density_coverage, knn_radii, neighbourhood_counts, precision_recall

N, D = 1000, 8
CENTRES = 6.0 * np.random.default_rng(99).normal(size=(10, D))  # ten 'digits', far apart for unit spread


def ten_clusters(rng, n=N):
    """Points of ten well-separated Gaussian clusters, and each point's cluster."""
    labels = rng.integers(0, 10, size=n)
    return CENTRES[labels] + rng.normal(size=(n, D)), labels


@pytest.fixture
def real():
    return ten_clusters(np.random.default_rng(0))


def with_outlier(cloud: np.ndarray) -> np.ndarray:
    """The cloud with its last point moved far away: an atypical real sample with a huge k-NN ball."""
    out = cloud.copy()
    out[-1] = 40.0
    return out


def test_real_against_real_scores_high_on_both(real):
    fake, _ = ten_clusters(np.random.default_rng(1))
    density, coverage = density_coverage(real[0], fake)
    assert 0.8 < density < 1.2       # about 1 when the fakes follow the real law
    assert coverage > 0.9            # 1 - 2^-k of the real balls on average, for k = 5


def test_noise_inside_an_outliers_ball_scores_low_though_precision_is_fooled(real):
    rng = np.random.default_rng(2)
    cloud = with_outlier(real[0])
    noise = 40.0 + 0.01 * rng.normal(size=(N, D))  # a tight cluster where only the outlier's ball reaches
    # The failure issue 19 measured on MNIST: precision calls every noise sample real.
    assert precision_recall(cloud, noise)[0] == 1.0
    density, coverage = density_coverage(cloud, noise)
    assert density <= references.NOISE_MAX and coverage <= references.NOISE_MAX
    # Without the cap, one ball still vouches for every sample: density 1/k, above the bound.
    uncapped, _ = density_coverage(cloud, noise, cap=None)
    assert uncapped == pytest.approx(1 / DC_K)


def test_noise_cluster_in_a_few_overlapping_outlier_balls_stays_low():
    # Several atypical reals share the region (issue 19: noise sat in six balls at once). A pile in
    # b balls scores b * DENSITY_CAP / N, so this needs the thousands of samples a quick run scores.
    n = 4000
    rng = np.random.default_rng(3)
    cloud = ten_clusters(rng, n)[0]
    cloud[-6:] = 25.0 + rng.normal(scale=3.0, size=(6, D))
    noise = 25.0 + 0.1 * rng.normal(size=(n, D))
    assert (neighbourhood_counts(cloud, noise, knn_radii(cloud, DC_K)) > 0).sum() == 6
    density, coverage = density_coverage(cloud, noise)
    assert density <= references.NOISE_MAX and coverage <= references.NOISE_MAX
    assert density_coverage(cloud, noise, cap=None)[0] > 1.0  # the paper's estimator calls it real


def test_a_collapsed_generator_keeps_density_but_loses_coverage(real):
    cloud, labels = real
    fake, fake_labels = ten_clusters(np.random.default_rng(4), n=10 * N)
    ones = fake[fake_labels == 1][:N]  # every sample from one cluster: realistic, not diverse
    density, coverage = density_coverage(cloud, ones)
    assert coverage <= references.ONE_DIGIT_MAX
    assert coverage == pytest.approx((labels == 1).mean(), abs=0.03)
    assert density > 0.7  # each sample is as real as any: the cap leaves a crowded mode alone


def test_blank_images_one_point_repeated_score_zero(real):
    blank = np.zeros((N, D))  # far from every cluster centre
    assert density_coverage(real[0], blank) == (0.0, 0.0)


def test_neighbourhood_counts_match_a_direct_count_over_blocks(real, monkeypatch):
    from harness.train import evaluation

    cloud = real[0]
    fake = ten_clusters(np.random.default_rng(5))[0]
    radii = knn_radii(cloud, DC_K)
    direct = ((fake[:, None, :] - cloud[None, :, :]) ** 2).sum(-1) <= radii[None, :]
    monkeypatch.setattr(evaluation, "DISTANCE_BLOCK_BYTES", 8 * N * 7)  # 7 rows per block
    assert (neighbourhood_counts(cloud, fake, radii) == direct.sum(axis=0)).all()


def test_density_coverage_rejects_mismatched_features(real):
    with pytest.raises(ValueError, match="same D"):
        density_coverage(real[0], np.zeros((10, D + 1)))


# ---------------------------------------------------------------- the reference bounds


def scores(**values):
    """Reference-set scores with one metric's value per set; the others pass."""
    passing = {"real": 0.95, "noise": 0.01, "blank": 0.0, "one_digit": 0.1}
    return {name: {m: values.get(name, passing[name]) for m in ("density", "coverage", "precision", "recall")}
            for name in passing}


def test_a_metric_passes_only_inside_every_bound():
    assert references.failures("coverage", scores()) == []
    assert references.failures("density", scores(noise=0.06)) == ["noise"]
    assert references.failures("precision", scores(noise=0.986, blank=1.0)) == ["noise", "blank"]
    assert references.failures("coverage", scores(one_digit=0.2)) == ["one_digit"]
    assert references.failures("density", scores(one_digit=1.0)) == []  # one digit is realistic: fidelity free
    assert references.failures("recall", scores(real=0.69)) == ["real"]


def test_reference_images_are_the_four_sets():
    from harness.context import Splits
    from tests.conftest import toy_dataset

    data = Splits.from_dataset(toy_dataset(n_train=60, n_test=30), 60, 30)
    images = references.reference_images(data, np.random.default_rng(0))
    assert list(images) == list(references.LABELS)
    assert all(x.shape == (30, 28, 28, 1) for x in images.values())
    assert images["blank"].max() == 0.0 and 0.4 < images["noise"].mean() < 0.6
    ones = {x.tobytes() for x in data.x_train[data.y_train == 1]}
    assert all(x.tobytes() in ones for x in images["one_digit"])
    no_ones = Splits(data.x_train[data.y_train != 1], data.y_train[data.y_train != 1], data.x_test, data.y_test, "toy")
    with pytest.raises(ValueError, match="no digit 1"):
        references.reference_images(no_ones, np.random.default_rng(0))


def test_reference_script_names_a_missing_classifier_in_one_line(tmp_path, capsys):
    from benchmarks import metric_references

    assert metric_references.main([str(tmp_path / "missing.keras")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "models/classifier.keras" in err
