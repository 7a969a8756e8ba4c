"""harness.train.fused: the fused RMSprop and BatchNormalization compute what Keras's own do."""
from __future__ import annotations

import numpy as np
import pytest

import keras
import tensorflow as tf

from harness.train.fused import BatchNormalization, Dropout, FusedRMSprop


def _apply(optimizer, variables, grads_per_step):
    @tf.function
    def step(grads):
        optimizer.apply_gradients(zip(grads, variables))

    for grads in grads_per_step:
        step(grads)
    return [v.numpy() for v in variables]


@pytest.mark.parametrize("clipvalue", [None, 1.0])
def test_fused_rmsprop_follows_keras_rmsprop(clipvalue):
    rng = np.random.default_rng(0)
    shapes = [(5, 5, 1, 8), (8,), (300, 40)]
    start = [rng.standard_normal(s).astype("float32") for s in shapes]
    # Gradients large enough that clipvalue=1.0 bites on most entries.
    grads = [[tf.constant(3 * rng.standard_normal(s).astype("float32")) for s in shapes] for _ in range(6)]
    schedule = lambda: keras.optimizers.schedules.InverseTimeDecay(8e-4, decay_steps=1, decay_rate=6e-8)  # noqa: E731

    ours = [keras.Variable(w) for w in start]
    theirs = [keras.Variable(w) for w in start]
    fused = FusedRMSprop(learning_rate=schedule(), clipvalue=clipvalue)
    plain = keras.optimizers.RMSprop(learning_rate=schedule(), clipvalue=clipvalue)
    assert fused._fusable()
    got, want = _apply(fused, ours, grads), _apply(plain, theirs, grads)
    for g, w, s in zip(got, want, start):
        assert not np.array_equal(g, s)  # the weights moved
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    assert int(fused.iterations) == int(plain.iterations) == 6


def test_fused_rmsprop_falls_back_where_it_does_not_fuse():
    fused = FusedRMSprop(learning_rate=1e-3, momentum=0.9)
    assert not fused._fusable()
    v = keras.Variable(np.ones((3,), "float32"))
    got = _apply(fused, [v], [[tf.constant([1.0, -1.0, 0.5])]])
    assert np.all(np.isfinite(got[0])) and not np.array_equal(got[0], np.ones(3))


@pytest.mark.parametrize("shape", [(16, 6), (8, 5, 5, 3)])
@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_fused_batch_norm_matches_keras(shape, dtype):
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(2.0, 3.0, shape).astype("float32"))
    ours, theirs = BatchNormalization(dtype=dtype), keras.layers.BatchNormalization(dtype=dtype)
    ours.build(shape)
    theirs.build(shape)
    gamma, beta = rng.normal(1, 0.2, shape[-1]).astype("float32"), rng.normal(0, 0.2, shape[-1]).astype("float32")
    for layer in (ours, theirs):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    tol = dict(rtol=2e-2, atol=2e-2) if dtype == "mixed_bfloat16" else dict(rtol=1e-4, atol=1e-4)

    def forward_backward(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.cast(layer(x, training=True), "float32")
            loss = tf.reduce_sum(tf.square(y - 0.5))
        return [y] + tape.gradient(loss, [x, layer.gamma, layer.beta])

    for _ in range(3):  # three training calls move the moving averages
        for a, b in zip(forward_backward(ours), forward_backward(theirs)):
            np.testing.assert_allclose(np.asarray(a, "float32"), np.asarray(b, "float32"), **tol)
    np.testing.assert_allclose(ours.moving_mean.numpy(), theirs.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), rtol=1e-4, atol=1e-6)
    assert not np.allclose(ours.moving_variance.numpy(), 1.0)
    inference = [np.asarray(tf.cast(layer(x, training=False), "float32")) for layer in (ours, theirs)]
    np.testing.assert_allclose(*inference, **tol)


def test_fused_pieces_survive_a_keras_save(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), BatchNormalization(name="bn")])
    model.compile(optimizer=FusedRMSprop(learning_rate=1e-3, clipvalue=1.0), loss="mse")
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 6), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.get_layer("bn")) is BatchNormalization
    assert type(loaded.optimizer) is FusedRMSprop and loaded.optimizer.clipvalue == 1.0
    x = np.random.default_rng(2).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "mixed_bfloat16"])
def test_dropout_drops_at_its_rate_and_keeps_the_mean(dtype):
    layer = Dropout(0.4, seed=3, dtype=dtype)
    x = tf.ones((50, 40, 40, 3))  # 240,000 activations: the dropped share is 0.4 +- 0.003 (3 sd)

    @tf.function
    def twice():
        return layer(x, training=True), layer(x, training=True)

    a, b = (np.asarray(tf.cast(t, "float32")) for t in twice())
    assert layer(x, training=True).dtype.name == ("bfloat16" if dtype == "mixed_bfloat16" else "float32")
    dropped = (a == 0).mean()
    assert abs(dropped - 0.4) < 0.003
    kept = a[a != 0]
    np.testing.assert_allclose(kept, 1 / (1 - 26214 / 65536), rtol=1e-2 if dtype == "mixed_bfloat16" else 1e-6)
    assert abs(a.mean() - 1.0) < 0.01          # E[dropout(x)] = x
    assert (a == 0).sum() != 0 and not np.array_equal(a == 0, b == 0)  # a fresh mask per call
    np.testing.assert_array_equal(np.asarray(tf.cast(layer(x, training=False), "float32")), np.asarray(x))


def test_dropout_gradient_flows_through_the_kept_activations_only():
    layer = Dropout(0.5, seed=1)
    x = tf.random.normal((64, 100))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        total = tf.reduce_sum(y)
    g = tape.gradient(total, x).numpy()
    np.testing.assert_array_equal(g == 0, y.numpy() == 0)
    np.testing.assert_allclose(g[g != 0], 2.0)

