"""The handout's own code (Tarea 3, section 1), ported to Keras 3 with the fewest changes that make it run.

This is the *baseline* the benchmarks measure the harness against, so it stays as close to
the handout as Keras 3 allows. Every change, and why it was needed:

VAE (1.1a-e)
  - `from keras import backend as K` / `K.random_normal`, `K.exp`, `K.square`, `K.sum`, `K.mean`,
    `K.int_shape`: Keras 3 has no backend math module; the same calls are `keras.random.normal`,
    `keras.ops.*` and `tensor.shape`.
  - `vae.add_loss(vae_loss)` on a functional model with symbolic tensors is gone in Keras 3. The
    fewest-change equivalent is a one-line loss layer (`VAELossLayer`) that computes the handout's
    1.1d expression and calls `self.add_loss` inside `call`; the model, its compile
    (`optimizer='rmsprop'`) and its `vae.fit(X_train, batch_size=...)` stay the handout's.
  - 1.1c's `sampling` scales epsilon by `exp(z_log_var)` (the variance): a known defect. The
    baseline uses `exp(0.5 * z_log_var)`, the harness's op, so the speed comparison times the
    same arithmetic (the defect costs no time either way; it changes the maths, which
    `HANDOUT_SAMPLING_DEFECT_KEPT = False` records).
  - 1.1d leaves the reconstruction loss to choose; the harness's default is binary
    cross-entropy, so the baseline uses `keras.metrics.binary_crossentropy` as the handout's
    first commented line does.
  - The handout's `X_train` lacks the channel axis its `img_rows, img_cols, channel =
    X_train.shape[1:]` needs; `load_mnist` adds it (N, 28, 28, 1).

GAN (1.2a-d)
  - `Conv2DTranspose(depth/2, ...)`: a float filter count, which Keras 3 rejects -> `depth // 2`.
  - `RMSprop(lr=..., decay=...)`: Keras 3 rejects `lr` and ignores `decay`; the same maths is
    `learning_rate=InverseTimeDecay(lr, 1, decay)` (Keras 2's decay is lr / (1 + decay * t)), the
    schedule the harness also uses, so both time the same optimizer ops.
  - `D.trainable = False` before compiling AM: in Keras 2 it froze D only in models compiled
    afterwards. In Keras 3 `trainable` is read when a model's train function is traced, so with
    the flag left False D would *not* train in DM either. The fewest-change fix is to set
    `D.trainable = True` before `DM.train_on_batch` and `False` before `AM.train_on_batch`
    (`train_step` below); `check_discriminator_trains` proves on the weights that D changes in
    the D step and stays frozen in the AM step.
  - 1.2d's `train_on_steps` returns inside its loop and loops over the global `train_steps`;
    here it loops `steps` times. `G.predict(..., verbose=0)`: Keras 3's predict prints a progress
    bar by default (Keras 2's did not); the per-step `print(log_mesg)` is left out for the same
    reason (terminal output, not computation).
"""
from __future__ import annotations

from typing import Any

import numpy as np

import keras
from keras import layers, ops
from keras.layers import (Activation, BatchNormalization, Conv2D, Conv2DTranspose, Dense, Dropout, Flatten, Input,
                          Lambda, LeakyReLU, Reshape)
from keras.models import Model, Sequential

HANDOUT_SAMPLING_DEFECT_KEPT = False  # see the module docstring: exp(0.5 * z_log_var), as the harness


def load_mnist(n_train: int | None = None, n_test: int | None = None) -> tuple[np.ndarray, ...]:
    """The handout's preparation (float32 / 255), from the harness's verified offline MNIST copy."""
    from harness.data import load_dataset

    ds = load_dataset("mnist")
    X_train = ds.x_train[:n_train].astype("float32")[..., None]
    X_test = ds.x_test[:n_test].astype("float32")[..., None]
    X_train /= 255
    X_test /= 255
    return X_train, ds.y_train[:n_train], X_test, ds.y_test[:n_test]


# ============================================================== 1.1 VAE
img_rows, img_cols, channel = 28, 28, 1
original_img_size = (img_rows, img_cols, channel)
filters = 32
num_conv = 3
latent_dim = 2
intermediate_dim = 128


class VAELossLayer(layers.Layer):
    """1.1d's loss, attached the only way Keras 3 allows on a functional model: add_loss in a layer."""

    def call(self, inputs):
        x, x_decoded_mean_squash, z_mean, z_log_var = inputs
        choised_loss = keras.metrics.binary_crossentropy(ops.reshape(x, (-1, img_rows * img_cols * channel, 1)),
                                                         ops.reshape(x_decoded_mean_squash, (-1, img_rows * img_cols * channel, 1)))
        # Keras 2's K.flatten flattened the whole batch and the handout then scaled the *mean* by
        # 784; per image that is the sum over its 784 pixels, which is what this computes.
        reconstruction_loss = ops.sum(choised_loss, axis=-1)
        kl_loss = -0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
        vae_loss = ops.mean(reconstruction_loss + kl_loss)
        self.add_loss(vae_loss)
        return x_decoded_mean_squash


class SeededSampling(layers.Layer):
    """The same sampling op holding its own SeedGenerator. Used only for the JAX backend: JAX
    refuses unseeded random ops inside a compiled step, which the handout's Lambda relies on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator()

    def call(self, args):
        z_mean, z_log_var = args
        epsilon = keras.random.normal(shape=(ops.shape(z_mean)[0], latent_dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def build_vae(seeded_sampling: bool = False) -> dict[str, Model]:
    """1.1a-d as the handout writes them; returns the VAE and the submodels 1.1f-g build.

    seeded_sampling: swap the Lambda for SeededSampling (same op), needed under JAX only."""
    # 1.1a encoder
    x = Input(shape=original_img_size)
    conv_1 = Conv2D(filters, kernel_size=num_conv, padding='same', activation='relu')(x)
    conv_2 = Conv2D(filters, kernel_size=num_conv, padding='same', activation='relu')(conv_1)
    conv_3 = Conv2D(filters * 2, kernel_size=num_conv, padding='same', activation='relu', strides=2)(conv_2)
    flat = Flatten()(conv_3)
    hidden = Dense(intermediate_dim, activation='relu')(flat)
    z_mean = Dense(latent_dim, activation='linear')(hidden)
    z_log_var = Dense(latent_dim, activation='linear')(hidden)
    encoder = Model(x, z_mean)
    # 1.1b decoder
    shape_before_flattening = tuple(conv_3.shape[1:])
    decoder_hid = Dense(intermediate_dim, activation='relu')
    decoder_upsample = Dense(int(np.prod(shape_before_flattening)), activation='relu')
    decoder_reshape = Reshape(shape_before_flattening)
    decoder_deconv_1 = Conv2DTranspose(filters, kernel_size=num_conv, padding='same', strides=2, activation='relu')
    decoder_deconv_2 = Conv2DTranspose(filters, kernel_size=num_conv, padding='same', activation='relu')
    decoder_mean_squash = Conv2DTranspose(channel, kernel_size=num_conv, padding='same', activation='sigmoid')

    # 1.1c sampling and the whole model
    def sampling(args):
        epsilon_std = 1.0
        z_mean, z_log_var = args
        epsilon = keras.random.normal(shape=(ops.shape(z_mean)[0], latent_dim), mean=0., stddev=epsilon_std)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon  # handout: K.exp(z_log_var), see the docstring

    if seeded_sampling:
        z = SeededSampling()([z_mean, z_log_var])
    else:
        z = Lambda(sampling, output_shape=(latent_dim,))([z_mean, z_log_var])
    hid_decoded = decoder_hid(z)
    up_decoded = decoder_upsample(hid_decoded)
    reshape_decoded = decoder_reshape(up_decoded)
    deconv_1_decoded = decoder_deconv_1(reshape_decoded)
    x_decoded_relu = decoder_deconv_2(deconv_1_decoded)
    x_decoded_mean_squash = decoder_mean_squash(x_decoded_relu)
    # 1.1d: the loss joins the graph through VAELossLayer instead of vae.add_loss
    out = VAELossLayer()([x, x_decoded_mean_squash, z_mean, z_log_var])
    vae = Model(x, out)
    # 1.1e
    vae.compile(optimizer='rmsprop')

    # 1.1f-g: the submodels the handout builds from the same layers
    encoder_log_var = Model(x, z_log_var)
    decoder_input = Input(shape=(latent_dim,))
    _h = decoder_hid(decoder_input)
    _h = decoder_upsample(_h)
    _h = decoder_reshape(_h)
    _h = decoder_deconv_1(_h)
    _h = decoder_deconv_2(_h)
    generator = Model(decoder_input, decoder_mean_squash(_h))
    return {"vae": vae, "encoder": encoder, "encoder_log_var": encoder_log_var, "generator": generator}


def train_vae(vae: Model, X_train: np.ndarray, batch_size: int, epochs: int = 1) -> Any:
    """1.1e's fit (validation left out: the benchmark times training only, for both sides)."""
    return vae.fit(X_train, epochs=epochs, batch_size=batch_size, verbose=0)


# ============================================================== 1.2 GAN
depth = 64
dropout = 0.4
dim = 14
input_dim = 2


def build_discriminator() -> Sequential:
    D = Sequential()
    input_shape = (img_rows, img_cols, channel)
    D.add(Conv2D(depth * 1, (5, 5), strides=2, input_shape=input_shape, padding='same', activation=LeakyReLU(alpha=0.2)))
    D.add(Dropout(dropout))
    D.add(Conv2D(depth * 2, (5, 5), strides=2, padding='same', activation=LeakyReLU(alpha=0.2)))
    D.add(Dropout(dropout))
    D.add(Conv2D(depth * 4, (5, 5), strides=2, padding='same', activation=LeakyReLU(alpha=0.2)))
    D.add(Dropout(dropout))
    D.add(Flatten())
    D.add(Dense(1024, activation=LeakyReLU(alpha=0.2)))
    D.add(Dense(1, activation='sigmoid'))
    return D


def build_generator() -> Sequential:
    G = Sequential()
    G.add(Dense(128, input_dim=input_dim))
    G.add(BatchNormalization())
    G.add(Activation('relu'))
    G.add(Dense(dim * dim * depth))
    G.add(BatchNormalization())
    G.add(Activation('relu'))
    G.add(Reshape((dim, dim, depth)))
    G.add(Conv2DTranspose(depth // 2, (3, 3), padding='same', strides=(2, 2)))  # handout: depth/2 (a float)
    G.add(BatchNormalization())
    G.add(Activation('relu'))
    G.add(Conv2DTranspose(depth // 2, (3, 3), padding='same'))
    G.add(BatchNormalization())
    G.add(Activation('relu'))
    G.add(Conv2DTranspose(channel, (3, 3), padding='same'))
    G.add(Activation('sigmoid'))
    return G


def RMSprop(lr: float, clipvalue: float, decay: float) -> keras.optimizers.RMSprop:
    """Keras 2's RMSprop(lr, clipvalue, decay) in Keras 3 terms (see the module docstring)."""
    schedule = keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)
    return keras.optimizers.RMSprop(learning_rate=schedule, clipvalue=clipvalue)


def build_gan() -> dict[str, Any]:
    """1.2a-c: D, G, DM (D alone) and AM (G then D), compiled as the handout compiles them."""
    D = build_discriminator()
    G = build_generator()
    optimizer = RMSprop(lr=0.0008, clipvalue=1.0, decay=6e-8)
    DM = Sequential()
    DM.add(D)
    DM.compile(loss='binary_crossentropy', optimizer=optimizer, metrics=['accuracy'])
    D.trainable = False
    optimizer = RMSprop(lr=0.0004, clipvalue=1.0, decay=3e-8)
    AM = Sequential()
    AM.add(G)
    AM.add(D)
    AM.compile(loss='binary_crossentropy', optimizer=optimizer, metrics=['accuracy'])
    return {"D": D, "G": G, "DM": DM, "AM": AM}


def train_step(X_train: np.ndarray, DM: Model, AM: Model, G: Model, D: Model, batch_size: int = 64,
               rng: Any = np.random) -> tuple[Any, Any]:
    """One iteration of 1.2d's loop body, with the Keras 3 trainable toggle."""
    image_batch = X_train[rng.randint(0, X_train.shape[0], size=batch_size), :, :, :]
    noise_gen = rng.uniform(-1, 1, size=[batch_size, input_dim])
    generated_images = G.predict(noise_gen, verbose=0)
    X = np.concatenate((image_batch, generated_images))
    y = np.ones([2 * batch_size, 1])
    y[batch_size:, :] = 0
    D.trainable = True   # Keras 3: D must be trainable when DM trains (see the module docstring)
    d_loss = DM.train_on_batch(X, y)
    noise_tr = rng.uniform(-1, 1, size=[batch_size, input_dim])
    y = np.ones([batch_size, 1])
    D.trainable = False  # ... and frozen when AM trains
    g_loss = AM.train_on_batch(noise_tr, y)
    return d_loss, g_loss


def train_on_steps(X_train: np.ndarray, DM: Model, AM: Model, G: Model, D: Model, steps: int,
                   batch_size: int) -> dict[str, list]:
    """1.2d, looping `steps` times (the handout returns after one step; see the docstring)."""
    history = {"d": [], "g": []}
    for _ in range(steps):
        d_loss, g_loss = train_step(X_train, DM, AM, G, D, batch_size)
        history["d"].append(d_loss)
        history["g"].append(g_loss)
    return history


def _snapshot(model: Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def _changed(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


def check_discriminator_trains(X_train: np.ndarray, gan: dict[str, Any], batch_size: int = 64,
                               seed: int = 0) -> dict[str, bool]:
    """Prove on the weights what 1.2c intends: D changes in the D step and not in the AM step,
    and G changes in the AM step. Runs one iteration split in its two halves."""
    D, G, DM, AM = gan["D"], gan["G"], gan["DM"], gan["AM"]
    rng = np.random.RandomState(seed)
    image_batch = X_train[rng.randint(0, X_train.shape[0], size=batch_size)]
    generated_images = G.predict(rng.uniform(-1, 1, size=[batch_size, input_dim]), verbose=0)
    X = np.concatenate((image_batch, generated_images))
    y = np.ones([2 * batch_size, 1])
    y[batch_size:, :] = 0
    d0 = _snapshot(D)
    D.trainable = True
    DM.train_on_batch(X, y)
    d1, g1 = _snapshot(D), _snapshot(G)
    D.trainable = False
    AM.train_on_batch(rng.uniform(-1, 1, size=[batch_size, input_dim]), np.ones([batch_size, 1]))
    d2, g2 = _snapshot(D), _snapshot(G)
    return {"d_changes_in_d_step": _changed(d0, d1), "d_frozen_in_am_step": not _changed(d1, d2),
            "g_changes_in_am_step": _changed(g1, g2)}
