"""One timing method and the FID's bootstrap error: what every quoted speed and every comparison rests on."""
import numpy as np
import pytest

from harness.train.evaluation import frechet_distance, gaussian_statistics
from harness.train.timing import (SAMPLE_BATCH, TIMED_CALLS, fixed_batch, forward_flops, sampling_speed,
                                  split_training)
from harness.train.uncertainty import fid_bootstrap_se, mean_and_spread, resample_moments


def test_the_bootstrap_error_matches_the_spread_of_fresh_draws():
    rng = np.random.default_rng(1)
    mix = rng.standard_normal((8, 8)) * 0.5
    reference = rng.standard_normal((5000, 8)) @ mix
    mu, sigma = gaussian_statistics(reference)

    def draw():  # a "model": skewed features, so its FID to the reference is far from 0
        return np.abs(rng.standard_normal((1000, 8))) @ mix

    fids = [frechet_distance(*gaussian_statistics(draw()), mu, sigma)[0] for _ in range(40)]
    spread = np.std(fids, ddof=1)
    assert fid_bootstrap_se(draw(), mu, sigma) == pytest.approx(spread, rel=0.35)


def test_the_bootstrap_fid_is_the_frechet_distance():
    rng = np.random.default_rng(2)
    f, ref = rng.standard_normal((400, 5)) + 0.3, rng.standard_normal((400, 5))
    mu, sigma = gaussian_statistics(ref)
    # One "resample" that is the set itself: the fast eigenvalue route gives the sqrtm route's value.
    from harness.train.uncertainty import _fid_against, _symmetric_sqrt
    assert _fid_against(*gaussian_statistics(f), mu, sigma, _symmetric_sqrt(sigma)) == pytest.approx(
        frechet_distance(*gaussian_statistics(f), mu, sigma)[0], rel=1e-9)


def test_a_resample_by_counts_has_the_moments_of_its_gathered_copy():
    rng = np.random.default_rng(3)
    f = rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6)) + 2.0
    picks = rng.integers(0, len(f), len(f))
    counts = np.bincount(picks, minlength=len(f))
    assert (counts == 0).any() and (counts > 1).any()      # some rows left out, some drawn twice
    gathered = f[picks]
    mu, sigma = resample_moments(f, counts)
    np.testing.assert_allclose(mu, gathered.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(gathered, rowvar=False), rtol=1e-10, atol=1e-12)


def test_bootstrap_and_spread_refuse_too_little_data():
    with pytest.raises(ValueError, match="at least 2 feature rows"):
        fid_bootstrap_se(np.zeros((1, 3)), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="at least 2 repeats"):
        mean_and_spread([1.0])
    mean, se = mean_and_spread([1.0, 2.0, 3.0])
    assert mean == 2.0 and se == pytest.approx(1.0 / np.sqrt(3))


class CountingModel:
    """Stands in for a Keras model: records the batches it is called on."""

    def __init__(self):
        self.batches = []

    def predict_on_batch(self, z):
        self.batches.append(len(z))
        return np.zeros((len(z), 28, 28, 1), "float32")


def test_sampling_speed_times_the_stated_batch_after_a_warm_up_call():
    model = CountingModel()
    speed = sampling_speed(model, np.zeros((300, 2), "float32"))   # fewer vectors than the batch: repeated
    assert model.batches == [SAMPLE_BATCH] * (1 + TIMED_CALLS)
    assert len(speed.call_s) == TIMED_CALLS >= 5 and speed.batch == SAMPLE_BATCH
    assert speed.images_per_s == pytest.approx(SAMPLE_BATCH / speed.median_call_s)
    with pytest.raises(ValueError, match="at least 5 timed calls"):
        sampling_speed(model, np.zeros((10, 2)), calls=3)
    assert len(fixed_batch(np.arange(2500)[:, None])) == SAMPLE_BATCH


def test_training_time_sets_the_compilation_apart():
    # Made-up epoch times: the first longer than the rest by its compilation; the median of the rest is steady.
    t = split_training(10.0, [2.0, 3.0, 2.0], 4)
    assert (t.per_unit_s, t.warmup_s, t.steady_s) == (2.0, 8.0, 8.0)
    # Made-up GAN call times: the first call's excess over the steady rate is its compilation.
    g = split_training(6.0, 19.0, 1000, first_units=50)
    assert g.per_unit_s == pytest.approx(0.02) and g.warmup_s == pytest.approx(5.0)


def test_forward_flops_count_the_dense_and_convolutional_work():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((2,)), layers.Dense(4 * 4 * 3), layers.Reshape((4, 4, 3)),
                              layers.BatchNormalization(),
                              layers.Conv2DTranspose(5, 3, strides=2, padding="same"),   # 4·4·3 inputs × 9 × 5
                              layers.Conv2D(1, 2)])                                     # 7·7 outputs × 4 × 5
    assert forward_flops(model) == 2 * (2 * 48 + 4 * 4 * 3 * 9 * 5 + 7 * 7 * 1 * 4 * 5)
