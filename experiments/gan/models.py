"""Section 1.2: the handout's discriminator D and generator G, and the GAN that trains them.

The networks follow the handout layer by layer (1.2a, 1.2b) in Keras 3. Two
things differ on purpose, both defects of the handout's code:
  - G's transposed convolutions get `depth // 2` filters: the handout passes
    `depth/2`, a float, which Keras rejects.
  - The adversarial procedure (1.2c, 1.2d) is one fused `train_step` on a
    `GAN(keras.Model)`, instead of two compiled models sharing D with a
    `trainable` flag flipped in between (whose meaning changed from Keras 2
    to Keras 3; see 1.2c).
Both steps still do exactly what the handout's loop does per iteration.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from harness.errors import ConfigError
from harness.train.fused import BatchNormalization, Dropout, FusedRMSprop
from harness.train.hardware import resolve_precision
from harness.train.steps import minimize, state_of

NOISES = ("uniform", "gaussian")
IMG_SHAPE = (28, 28, 1)   # img_rows, img_cols, channel of MNIST
G_DIM = 14                # the handout's `dim`: G starts from a 14x14 map
LEAK = 0.2                # LeakyReLU(alpha=0.2) in every hidden layer of D


# -- the networks ---------------------------------------------------------------
def leaky(name: str, dtype: str = "float32") -> keras.layers.LeakyReLU:
    # Passed as `activation=` like the handout does, so each Conv/Dense row of
    # the layer table is one handout line.
    return keras.layers.LeakyReLU(negative_slope=LEAK, name=name, dtype=dtype)


def build_discriminator(depth: int = 64, dropout: float = 0.4, input_shape=IMG_SHAPE, name: str = "D",
                        precision: str = "float32", spectral_norm: bool = False) -> keras.Sequential:
    """1.2a: three 5x5 stride-2 convolutions (depth, 2 depth, 4 depth), Dense 1024, sigmoid.

    precision "mixed_bfloat16" computes the hidden layers in bfloat16 (weights stay
    float32); the output probability is always float32 so the loss is not rounded.
    spectral_norm (a 1.2f variant, not the handout) divides each weight matrix by its
    largest singular value, so D's output cannot change faster than its input: it
    cannot saturate to 0/1 on every fake and keeps sending G a usable gradient.
    """
    layers, policy = keras.layers, resolve_precision(precision, "gan.precision")
    weighted = (lambda layer: layers.SpectralNormalization(layer, name=f"sn_{layer.name}", dtype=policy)) \
        if spectral_norm else (lambda layer: layer)
    return keras.Sequential([
        keras.Input(input_shape, name="image"),
        weighted(layers.Conv2D(depth * 1, (5, 5), strides=2, padding="same", activation=leaky("lrelu1", policy), name="conv1", dtype=policy)),
        Dropout(dropout, name="dropout1", dtype=policy),
        weighted(layers.Conv2D(depth * 2, (5, 5), strides=2, padding="same", activation=leaky("lrelu2", policy), name="conv2", dtype=policy)),
        Dropout(dropout, name="dropout2", dtype=policy),
        weighted(layers.Conv2D(depth * 4, (5, 5), strides=2, padding="same", activation=leaky("lrelu3", policy), name="conv3", dtype=policy)),
        Dropout(dropout, name="dropout3", dtype=policy),
        layers.Flatten(name="flatten", dtype=policy),
        weighted(layers.Dense(1024, activation=leaky("lrelu4", policy), name="dense1024", dtype=policy)),
        weighted(layers.Dense(1, activation="sigmoid", name="p_real", dtype="float32")),
    ], name=name)


G_NORMS = ("batch", "layer")


def g_norm_layer(kind: str, name: str, policy: str) -> keras.layers.Layer:
    """The handout's BatchNormalization, or (a 1.2f variant) LayerNormalization: each image
    normalised by its own statistics, so G is the same function in training and inference mode."""
    if kind == "batch":
        return BatchNormalization(name=f"bn{name}", dtype=policy)
    if kind == "layer":
        return keras.layers.LayerNormalization(name=f"ln{name}", dtype=policy)
    raise ConfigError(f"G normalisation '{kind}' is not known: use one of {', '.join(G_NORMS)}")


def build_generator(noise_dim: int = 2, depth: int = 64, channels: int = 1, name: str = "G",
                    precision: str = "float32", norm: str = "batch") -> keras.Sequential:
    """1.2b: Dense 128, Dense 14*14*depth, then three transposed convolutions up to 28x28x1."""
    layers, policy = keras.layers, resolve_precision(precision, "gan.precision")
    half = depth // 2  # the handout writes depth/2: a float filter count
    return keras.Sequential([
        keras.Input((noise_dim,), name="z"),
        layers.Dense(128, name="dense128", dtype=policy),
        g_norm_layer(norm, "1", policy),
        layers.Activation("relu", name="relu1", dtype=policy),
        layers.Dense(G_DIM * G_DIM * depth, name=f"dense{G_DIM}x{G_DIM}x{depth}", dtype=policy),
        g_norm_layer(norm, "2", policy),
        layers.Activation("relu", name="relu2", dtype=policy),
        layers.Reshape((G_DIM, G_DIM, depth), name="reshape", dtype=policy),
        layers.Conv2DTranspose(half, (3, 3), padding="same", strides=(2, 2), name="deconv1", dtype=policy),
        g_norm_layer(norm, "3", policy),
        layers.Activation("relu", name="relu3", dtype=policy),
        layers.Conv2DTranspose(half, (3, 3), padding="same", name="deconv2", dtype=policy),
        g_norm_layer(norm, "4", policy),
        layers.Activation("relu", name="relu4", dtype=policy),
        layers.Conv2DTranspose(channels, (3, 3), padding="same", name="deconv3", dtype=policy),
        layers.Activation("sigmoid", name="sigmoid", dtype="float32"),
    ], name=name)


# -- parameter counts by hand, from the handout's shapes ----------------------------
def conv_params(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + c_out


def expected_discriminator_params(depth: int = 64) -> int:
    side = 28
    for _ in range(3):
        side = -(-side // 2)  # 'same' padding, stride 2: ceil(side / 2) -> 14, 7, 4
    flat = side * side * 4 * depth
    return (conv_params(5, 1, depth) + conv_params(5, depth, 2 * depth) + conv_params(5, 2 * depth, 4 * depth)
            + flat * 1024 + 1024 + 1024 * 1 + 1)


def expected_generator_params(noise_dim: int = 2, depth: int = 64) -> dict[str, int]:
    """Trainable and non-trainable (BatchNorm's moving mean and variance) counts."""
    half, wide = depth // 2, G_DIM * G_DIM * depth
    dense = (noise_dim * 128 + 128) + (128 * wide + wide)
    deconv = conv_params(3, depth, half) + conv_params(3, half, half) + conv_params(3, half, 1)
    bn_units = 128 + wide + half + half
    trainable = dense + deconv + 2 * bn_units      # gamma, beta
    return {"trainable": trainable, "non_trainable": 2 * bn_units, "total": trainable + 2 * bn_units}


# -- noise ------------------------------------------------------------------------
def check_noise(noise: str) -> str:
    if noise not in NOISES:
        raise ConfigError(f"unknown latent distribution '{noise}': use one of {', '.join(NOISES)}")
    return noise


def sample_noise(noise: str, n: int, dim: int, seed: int | None = None, std: float = 1.0) -> np.ndarray:
    """Host-side noise for generation, the same law the GAN trains with (std: the Gaussian's)."""
    rng = np.random.default_rng(seed)
    if check_noise(noise) == "uniform":
        return rng.uniform(-1.0, 1.0, size=(n, dim)).astype("float32")
    return (std * rng.standard_normal(size=(n, dim))).astype("float32")


# -- optimizers ---------------------------------------------------------------------
def rmsprop(lr: float, decay: float, clipvalue: float) -> keras.optimizers.RMSprop:
    """Keras 2's RMSprop(lr, clipvalue, decay): decay is lr / (1 + decay * iterations), per update
    (its update fused into one pass: harness.train.fused)."""
    schedule = keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)
    return FusedRMSprop(learning_rate=schedule, clipvalue=clipvalue)


@dataclass(frozen=True)
class GanSettings:
    """Everything that defines one GAN training (1.2d's and each comparison's)."""

    noise_dim: int = 2
    noise: str = "uniform"
    depth: int = 64
    dropout: float = 0.4
    d_lr: float = 8e-4
    g_lr: float = 4e-4
    d_decay: float = 6e-8
    g_decay: float = 3e-8
    clipvalue: float = 1.0
    noise_std: float = 1.0    # the Gaussian's standard deviation (1.2g); the uniform ignores it
    real_label: float = 1.0   # 1.0 as the handout; < 1 is one-sided label smoothing (1.2f)
    fakes_training: bool = False  # False as the handout's G.predict: D's fakes come from G in inference mode
    d_spectral_norm: bool = False  # 1.2f's D variant: spectral normalisation of D's weights
    g_norm: str = "batch"         # 1.2f's G variant: "layer" replaces G's BatchNormalization
    precision: str = "float32"    # or "mixed_bfloat16": hidden layers in bfloat16, a speed lever

    @classmethod
    def from_config(cls, gan: dict[str, Any], **changes: Any) -> "GanSettings":
        fields = {k: gan[k] for k in cls.__dataclass_fields__ if k in gan}
        settings = cls(**{**fields, **changes})
        check_noise(settings.noise)
        resolve_precision(settings.precision, "gan.precision")
        return settings


# -- the adversarial model ------------------------------------------------------------
class GAN(keras.Model):
    """D and G trained alternately, one fused step per handout iteration (1.2c, 1.2d).

    D step: a real batch (label 1) and G(noise) made in inference mode, as the
    handout's G.predict makes them (label 0), concatenated; binary
    cross-entropy; D's optimizer updates D's trainable variables only.
    G step: fresh noise, label 1, through D with its dropout active (Keras 2's
    AM.train_on_batch runs D in training mode); G's optimizer updates G's
    variables only, so D stays frozen without any `trainable` flag.

    The items save D and G (plain Sequential models), never this wrapper.
    """

    def __init__(self, discriminator: keras.Model, generator: keras.Model, noise_dim: int,
                 noise: str = "uniform", real_label: float = 1.0, fakes_training: bool = False,
                 seed: int | None = None, noise_std: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.discriminator = discriminator
        self.generator = generator
        self.noise_dim = int(noise_dim)
        self.noise = check_noise(noise)
        self.noise_std = float(noise_std)
        self.real_label = float(real_label)
        self.fakes_training = bool(fakes_training)
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.d_acc_tracker = keras.metrics.Mean(name="d_acc")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.g_acc_tracker = keras.metrics.Mean(name="g_acc")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.d_loss_tracker, self.d_acc_tracker, self.g_loss_tracker, self.g_acc_tracker]

    def compile(self, d_optimizer: keras.optimizers.Optimizer, g_optimizer: keras.optimizers.Optimizer, **kwargs: Any) -> None:
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Built now so that the step can run inside a tf.function from its first call.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def state(self) -> list[Any]:
        """Every variable a training step touches: D, G, both optimizers, seeds and trackers."""
        return state_of(self, self.d_optimizer, self.g_optimizer)

    def call(self, z: Any, training: bool = False) -> Any:
        return self.discriminator(self.generator(z, training=training), training=training)

    def sample_z(self, n: Any) -> Any:
        shape = (n, self.noise_dim)
        if self.noise == "uniform":
            return keras.random.uniform(shape, minval=-1.0, maxval=1.0, seed=self.noise_seed)
        return keras.random.normal(shape, stddev=self.noise_std, seed=self.noise_seed)

    @staticmethod
    def accuracy(y: Any, p_real: Any) -> Any:
        # Keras 2's 'accuracy' with a binary cross-entropy loss is binary accuracy at 0.5.
        return ops.mean(ops.cast(ops.equal(p_real > 0.5, y > 0.5), "float32"))

    def d_step(self, real: Any) -> tuple[Any, Any]:
        n = ops.shape(real)[0]
        # The handout's G.predict(noise_gen) runs G in inference mode: BatchNorm uses its moving statistics.
        fake = self.generator(self.sample_z(n), training=self.fakes_training)
        x = ops.concatenate([real, ops.cast(fake, real.dtype)], axis=0)
        y = ops.concatenate([ops.full((n, 1), self.real_label), ops.zeros((n, 1))], axis=0)

        def loss():
            p_real = self.discriminator(x, training=True)
            return self.bce(y, p_real), p_real

        # D's optimizer steps D's weights only: G is fixed in this step.
        loss, p_real = minimize(loss, self.discriminator.trainable_variables, self.d_optimizer)
        return loss, self.accuracy(ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0), p_real)

    def g_step(self, n: Any) -> tuple[Any, Any]:
        z = self.sample_z(n)                                          # fresh noise: noise_tr
        y = ops.ones((n, 1))

        def loss():
            p_real = self.discriminator(self.generator(z, training=True), training=True)
            return self.bce(y, p_real), p_real

        # G's optimizer steps G's weights only: D is frozen without any `trainable` flag.
        loss, p_real = minimize(loss, self.generator.trainable_variables, self.g_optimizer)
        return loss, self.accuracy(y, p_real)

    def train_step(self, real: Any) -> dict[str, Any]:
        if isinstance(real, tuple):
            real = real[0]
        d_loss, d_acc = self.d_step(real)
        g_loss, g_acc = self.g_step(ops.shape(real)[0])
        for tracker, value in zip(self.metrics, (d_loss, d_acc, g_loss, g_acc)):
            tracker.update_state(value)
        # This step's values, not running means: 1.2d records every step as the handout's history does.
        return {"d_loss": d_loss, "d_acc": d_acc, "g_loss": g_loss, "g_acc": g_acc}


def build_gan(settings: GanSettings, seed: int | None = None) -> GAN:
    discriminator = build_discriminator(settings.depth, settings.dropout, precision=settings.precision,
                                        spectral_norm=settings.d_spectral_norm)
    generator = build_generator(settings.noise_dim, settings.depth, precision=settings.precision, norm=settings.g_norm)
    gan = GAN(discriminator, generator, settings.noise_dim, settings.noise, settings.real_label, settings.fakes_training,
              seed=seed, noise_std=settings.noise_std, name="GAN")
    gan.compile(rmsprop(settings.d_lr, settings.d_decay, settings.clipvalue),
                rmsprop(settings.g_lr, settings.g_decay, settings.clipvalue))
    return gan


def current_lr(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate the next update uses (Keras 3 evaluates the schedule at the optimizer's iterations)."""
    return float(optimizer.learning_rate)
