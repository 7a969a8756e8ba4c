"""Section 1.1: the handout's VAE in Keras 3, its priors, and the one training loop.

The handout's maths, in the names it uses:

    z = z_mean + sigma * epsilon,   sigma = exp(0.5 * z_log_var),   epsilon ~ N(0, I)
    loss = reconstruction(x, x_hat) + KL(q(z|x) || p(z))          (nats per image)

Everything that trains a VAE in this section (1.1d, e, h, i, j) goes through
`build_vae` and `fit_vae`, and everything that reports a likelihood goes
through `test_likelihood`, so the numbers of different items compare.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import keras
from keras import layers, ops

from harness.errors import ConfigError, ItemFailed
from harness.train.hardware import resolve_precision
from harness.train.fused import FusedRMSprop
from harness.train.steps import compiled_scan, minimize, state_of
from harness.train.timing import TrainingTime, sampling_speed, split_training
from harness.words import words

W = words(__file__)

PACKAGE = "inf395"
PIXELS = 28 * 28 * 1
LOG_2PI = math.log(2.0 * math.pi)

# Hyper-parameters the handout fixes in its code (1.1a-b); the rest come from [vae].
HANDOUT = {"filters": 32, "num_conv": 3, "latent_dim": 2, "intermediate_dim": 128}


# ----------------------------------------------------------------- architecture
def latent_side(precision: str) -> str:
    """The policy of the dense layers on either side of z: float32 under mixed_bfloat16 too."""
    return "float32" if precision == "mixed_bfloat16" else precision


def build_encoder(latent_dim: int, filters: int, num_conv: int, intermediate_dim: int,
                  extra_block: bool = False, name: str = "encoder", precision: str = "float32") -> keras.Model:
    """1.1a: three conv blocks (the third one halves the image) and one dense block.

    extra_block (1.1j) adds a fourth conv block that halves the image again (14 -> 7),
    so the dense layer sees a 7x7 map instead of a 14x14 one.
    precision "mixed_bfloat16" computes the hidden layers in bfloat16 (weights stay
    float32); z_mean and z_log_var are always float32, so the KL term is not rounded.
    """
    policy = resolve_precision(precision, "vae.precision")
    x = keras.Input(shape=(28, 28, 1), name="x")
    h = layers.Conv2D(filters, num_conv, padding="same", activation="relu", name="conv_1", dtype=policy)(x)
    h = layers.Conv2D(filters, num_conv, padding="same", activation="relu", name="conv_2", dtype=policy)(h)
    h = layers.Conv2D(filters * 2, num_conv, padding="same", activation="relu", strides=2, name="conv_3", dtype=policy)(h)
    if extra_block:
        h = layers.Conv2D(filters * 2, num_conv, padding="same", activation="relu", strides=2, name="conv_4", dtype=policy)(h)
    h = layers.Flatten(name="flat", dtype=policy)(h)
    # The dense layer next to the 2-D code stays float32 (a small share of the encoder's work):
    # rounding its outputs to bfloat16's 8 bits costs the ELBO measurably (benchmarks/RESULTS.md).
    h = layers.Dense(intermediate_dim, activation="relu", name="hidden", dtype=latent_side(policy))(h)
    z_mean = layers.Dense(latent_dim, activation="linear", name="z_mean", dtype="float32")(h)
    z_log_var = layers.Dense(latent_dim, activation="linear", name="z_log_var", dtype="float32")(h)
    return keras.Model(x, [z_mean, z_log_var], name=name)


def build_decoder(latent_dim: int, filters: int, num_conv: int, intermediate_dim: int,
                  extra_block: bool = False, name: str = "decoder", precision: str = "float32") -> keras.Model:
    """1.1b: the encoder mirrored: dense back to the conv map, then transposed convolutions.

    The handout's shape_before_flattening is the encoder's conv_3 output: 14x14x(2*filters)
    (7x7 with the 1.1j extra block, which gets its mirror decoder_deconv_0 here).
    Under mixed_bfloat16 the output layer stays float32: the loss reads its probabilities.
    """
    policy = resolve_precision(precision, "vae.precision")
    side = 7 if extra_block else 14
    before_flattening = (side, side, filters * 2)
    z = keras.Input(shape=(latent_dim,), name="z")
    h = layers.Dense(intermediate_dim, activation="relu", name="decoder_hid", dtype=latent_side(policy))(z)  # reads z: float32
    h = layers.Dense(int(np.prod(before_flattening)), activation="relu", name="decoder_upsample", dtype=policy)(h)
    h = layers.Reshape(before_flattening, name="decoder_reshape", dtype=policy)(h)
    if extra_block:
        h = layers.Conv2DTranspose(filters * 2, num_conv, padding="same", strides=2, activation="relu",
                                   name="decoder_deconv_0", dtype=policy)(h)
    h = layers.Conv2DTranspose(filters, num_conv, padding="same", strides=2, activation="relu",
                               name="decoder_deconv_1", dtype=policy)(h)
    h = layers.Conv2DTranspose(filters, num_conv, padding="same", activation="relu", name="decoder_deconv_2",
                               dtype=policy)(h)
    x_hat = layers.Conv2DTranspose(1, num_conv, padding="same", activation="sigmoid", name="decoder_mean_squash",
                                   dtype="float32")(h)
    return keras.Model(z, x_hat, name=name)


def handout_layers(latent_dim: int, filters: int, num_conv: int, intermediate_dim: int) -> dict[str, list[tuple]]:
    """The handout's layers as (name, type, filters or units, kernel, strides, activation), in its order.

    This is the specification the architecture checks compare the built models with.
    """
    encoder = [
        ("conv_1", "Conv2D", filters, num_conv, 1, "relu"),
        ("conv_2", "Conv2D", filters, num_conv, 1, "relu"),
        ("conv_3", "Conv2D", 2 * filters, num_conv, 2, "relu"),
        ("flat", "Flatten", None, None, None, None),
        ("hidden", "Dense", intermediate_dim, None, None, "relu"),
        ("z_mean", "Dense", latent_dim, None, None, "linear"),
        ("z_log_var", "Dense", latent_dim, None, None, "linear"),
    ]
    decoder = [
        ("decoder_hid", "Dense", intermediate_dim, None, None, "relu"),
        ("decoder_upsample", "Dense", 14 * 14 * 2 * filters, None, None, "relu"),
        ("decoder_reshape", "Reshape", None, None, None, None),
        ("decoder_deconv_1", "Conv2DTranspose", filters, num_conv, 2, "relu"),
        ("decoder_deconv_2", "Conv2DTranspose", filters, num_conv, 1, "relu"),
        ("decoder_mean_squash", "Conv2DTranspose", 1, num_conv, 1, "sigmoid"),
    ]
    return {"encoder": encoder, "decoder": decoder}


def describe(model: keras.Model) -> list[tuple]:
    """A built model's layers in the same shape as handout_layers (Input layers left out)."""
    out = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        width = getattr(layer, "filters", None) or getattr(layer, "units", None)
        kernel = layer.kernel_size[0] if hasattr(layer, "kernel_size") else None
        stride = layer.strides[0] if hasattr(layer, "strides") else None
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        out.append((layer.name, kind, width, kernel, stride, activation))
    return out


def expected_parameters(latent_dim: int, filters: int, num_conv: int, intermediate_dim: int) -> dict[str, int]:
    """Parameter counts worked out by hand from the handout's spec (weights + biases).

    At the handout's values (filters 32, kernel 3, latent 2, intermediate 128):
      encoder: conv_1 3*3*1*32+32 = 320, conv_2 3*3*32*32+32 = 9 248, conv_3 3*3*32*64+64 = 18 496,
               hidden 12 544*128+128 = 1 605 760, z_mean 128*2+2 = 258, z_log_var 258   -> 1 634 340
      decoder: decoder_hid 2*128+128 = 384, decoder_upsample 128*12 544+12 544 = 1 618 176,
               deconv_1 3*3*64*32+32 = 18 464, deconv_2 3*3*32*32+32 = 9 248,
               mean_squash 3*3*32*1+1 = 289                                               -> 1 646 561
      VAE: 3 280 901 (the handout's `encoder = Model(x, z_mean)` alone: 1 634 082).
    """
    kernel = num_conv * num_conv  # weights per (input channel, output channel) pair
    flat = 14 * 14 * 2 * filters
    head = intermediate_dim * latent_dim + latent_dim  # z_mean or z_log_var
    encoder = ((kernel * 1 * filters + filters) + (kernel * filters * filters + filters)
               + (kernel * filters * 2 * filters + 2 * filters) + (flat * intermediate_dim + intermediate_dim) + 2 * head)
    decoder = ((latent_dim * intermediate_dim + intermediate_dim) + (intermediate_dim * flat + flat)
               + (kernel * 2 * filters * filters + filters) + (kernel * filters * filters + filters)
               + (kernel * filters * 1 + 1))
    return {"encoder": encoder, "decoder": decoder, "vae": encoder + decoder,
            "handout_encoder_z_mean_only": encoder - head}


# ----------------------------------------------------------------- sampling
@keras.saving.register_keras_serializable(package=PACKAGE)
class Sampling(layers.Layer):
    """1.1c, the reparameterisation: z = z_mean + exp(0.5 * z_log_var) * epsilon.

    z_log_var is log sigma^2, so the standard deviation is exp(0.5 * z_log_var); the
    handout's exp(z_log_var) is the variance, which 1.1c measures as a defect.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed}


def handout_sampling(z_mean: np.ndarray, z_log_var: np.ndarray, epsilon: np.ndarray) -> np.ndarray:
    """The handout's 1.1c line, kept only to measure its effect: it scales epsilon by the variance."""
    return z_mean + np.exp(z_log_var) * epsilon


# ----------------------------------------------------------------- priors
def gaussian_log_density(z, mean, log_var):
    return -0.5 * ops.sum(LOG_2PI + log_var + ops.square(z - mean) / ops.exp(log_var), axis=-1)


class Prior:
    """p(z): its log density, KL(q(z|x) || p(z)) per image, and samples for generation."""

    name = "normal"
    analytic_kl = True

    def log_prob(self, z):
        return -0.5 * ops.sum(LOG_2PI + ops.square(z), axis=-1)

    def kl(self, z_mean, z_log_var, z):
        # KL(N(mu, sigma^2) || N(0, 1)) = -1/2 (1 + log sigma^2 - mu^2 - sigma^2), summed over z's components.
        return -0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)

    def sample(self, n: int, latent_dim: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, latent_dim)).astype("float32")

    def ppf(self, q: np.ndarray) -> np.ndarray | None:
        """Inverse CDF of one component, for grids over the latent plane (None: not separable)."""
        from scipy.stats import norm

        return norm.ppf(q)


class LaplacePrior(Prior):
    """Independent Laplace(0, b) components with b = 1/sqrt(2): unit variance like N(0, I),
    but a sharper peak and heavier tails. Its KL against a Gaussian q is analytic."""

    name = "laplace"
    b = 1.0 / math.sqrt(2.0)

    def log_prob(self, z):
        return ops.sum(-math.log(2.0 * self.b) - ops.abs(z) / self.b, axis=-1)

    def kl(self, z_mean, z_log_var, z):
        # KL = E_q[log q] - E_q[log p] = -1/2 log(2 pi e sigma^2) + log(2b) + E_q|z| / b,
        # with E|z| of N(mu, sigma^2) the folded-normal mean sigma sqrt(2/pi) e^{-mu^2/2sigma^2} + mu erf(mu / (sigma sqrt 2)).
        sigma = ops.exp(0.5 * z_log_var)
        mean_abs = (sigma * math.sqrt(2.0 / math.pi) * ops.exp(-ops.square(z_mean) / (2.0 * ops.square(sigma)))
                    + z_mean * ops.erf(z_mean / (sigma * math.sqrt(2.0))))
        per_dim = -0.5 * (LOG_2PI + 1.0 + z_log_var) + math.log(2.0 * self.b) + mean_abs / self.b
        return ops.sum(per_dim, axis=-1)

    def sample(self, n, latent_dim, rng):
        return rng.laplace(0.0, self.b, (n, latent_dim)).astype("float32")

    def ppf(self, q):
        from scipy.stats import laplace

        return laplace.ppf(q, scale=self.b)


class StudentTPrior(Prior):
    """Independent Student-t components, nu = 3 degrees of freedom, scaled to unit variance:
    far heavier tails than the Gaussian. No closed-form KL: one-sample Monte Carlo with the
    z the decoder sees (log q(z|x) - log p(z)), an unbiased estimate of the KL."""

    name = "student_t"
    analytic_kl = False
    nu = 3.0
    scale = math.sqrt((3.0 - 2.0) / 3.0)

    def log_prob(self, z):
        nu, scale = self.nu, self.scale
        const = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi) - math.log(scale)
        return ops.sum(const - (nu + 1) / 2 * ops.log1p(ops.square(z / scale) / nu), axis=-1)

    def kl(self, z_mean, z_log_var, z):
        return gaussian_log_density(z, z_mean, z_log_var) - self.log_prob(z)

    def sample(self, n, latent_dim, rng):
        return (self.scale * rng.standard_t(self.nu, (n, latent_dim))).astype("float32")

    def ppf(self, q):
        from scipy.stats import t

        return t.ppf(q, self.nu, scale=self.scale)


class MixturePrior(Prior):
    """An equal mixture of 10 Gaussians (one per digit, if the model wants) with sigma 0.5 and
    means on a circle of radius 2 in the first two latent components. Monte Carlo KL."""

    name = "mixture"
    analytic_kl = False
    components = 10
    radius = 2.0
    sigma = 0.5

    def means(self, latent_dim: int) -> np.ndarray:
        angle = 2 * np.pi * np.arange(self.components) / self.components
        means = np.zeros((self.components, latent_dim), "float32")
        means[:, 0] = self.radius * np.cos(angle)
        if latent_dim > 1:
            means[:, 1] = self.radius * np.sin(angle)
        return means

    def log_prob(self, z):
        z = ops.convert_to_tensor(z)
        latent_dim = int(z.shape[-1])
        means = ops.cast(self.means(latent_dim), z.dtype)
        squared = ops.sum(ops.square(ops.expand_dims(z, -2) - means), axis=-1)  # (..., components)
        log_each = -0.5 * latent_dim * (LOG_2PI + 2 * math.log(self.sigma)) - 0.5 * squared / self.sigma**2
        return ops.logsumexp(log_each, axis=-1) - math.log(self.components)

    def kl(self, z_mean, z_log_var, z):
        return gaussian_log_density(z, z_mean, z_log_var) - self.log_prob(z)

    def sample(self, n, latent_dim, rng):
        which = rng.integers(0, self.components, n)
        return (self.means(latent_dim)[which] + self.sigma * rng.standard_normal((n, latent_dim))).astype("float32")

    def ppf(self, q):
        return None


PRIORS = {p.name: p for p in (Prior, LaplacePrior, StudentTPrior, MixturePrior)}


def get_prior(name: str) -> Prior:
    if name not in PRIORS:
        raise ConfigError(f"unknown VAE prior '{name}': choose one of {', '.join(PRIORS)}")
    return PRIORS[name]()


# ----------------------------------------------------------------- the model
def reconstruction_nats(x, x_hat, loss: str):
    """Per image, summed over the 784 pixels (the handout's 28*28*1 times the mean)."""
    if loss == "bce":
        per_pixel = keras.losses.binary_crossentropy(ops.reshape(x, (-1, PIXELS, 1)), ops.reshape(x_hat, (-1, PIXELS, 1)))
    else:
        per_pixel = ops.square(ops.reshape(x, (-1, PIXELS)) - ops.reshape(x_hat, (-1, PIXELS)))
    return ops.sum(per_pixel, axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class VAE(keras.Model):
    """Encoder -> Sampling -> decoder, trained on the negative ELBO in one fused step."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, loss: str = "bce", prior: str = "normal",
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if loss not in ("bce", "mse"):
            raise ConfigError(f"unknown reconstruction loss '{loss}': use bce or mse")
        self.encoder, self.decoder = encoder, decoder
        self.loss_name, self.prior_name, self.seed = loss, prior, seed
        self.prior = get_prior(prior)
        self.sampling = Sampling(seed=seed, name="z")
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        # Encoder and decoder come built, and Sampling has no weights: the VAE is built too,
        # which lets a loaded model restore its optimizer state instead of warning.
        self.built = True

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    @property
    def latent_dim(self) -> int:
        return int(self.decoder.inputs[0].shape[-1])

    def call(self, x, training=False):
        z_mean, z_log_var = self.encoder(x, training=training)
        return self.decoder(self.sampling([z_mean, z_log_var]), training=training)

    def negative_elbo(self, x, training=False):
        """Batch means, in nats per image: reconstruction + KL(q(z|x) || p(z))."""
        z_mean, z_log_var = self.encoder(x, training=training)
        z = self.sampling([z_mean, z_log_var])
        x_hat = self.decoder(z, training=training)
        reconstruction = ops.mean(reconstruction_nats(x, x_hat, self.loss_name))
        kl = ops.mean(self.prior.kl(z_mean, z_log_var, z))
        return reconstruction + kl, reconstruction, kl

    def _track(self, total, reconstruction, kl):
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(reconstruction)
        self.kl_loss_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        """One RMSprop step down the negative ELBO (harness.train.steps: a TF tape, or JAX's grad)."""
        x = data[0] if isinstance(data, tuple) else data

        def loss():
            total, reconstruction, kl = self.negative_elbo(x, training=True)
            return total, (reconstruction, kl)

        total, (reconstruction, kl) = minimize(loss, self.trainable_weights, self.optimizer)
        return self._track(total, reconstruction, kl)

    def test_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        return self._track(*self.negative_elbo(x))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "loss": self.loss_name, "prior": self.prior_name, "seed": self.seed,
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "VAE":
        config = dict(config)
        for part in ("encoder", "decoder"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def validate(settings: dict[str, Any]) -> None:
    """Settings the schema cannot see: raise before anything trains."""
    if settings["loss"] not in ("bce", "mse"):
        raise ConfigError(f"setting 'vae.loss' = {settings['loss']!r} is not one of bce, mse")
    if settings["iwae_images"] < 1:
        raise ConfigError(f"setting 'vae.iwae_images' = {settings['iwae_images']} is out of range: it must be >= 1")
    resolve_precision(settings.get("precision", "float32"), "vae.precision")
    if settings["batch_size"] > 60000:
        raise ConfigError(f"setting 'vae.batch_size' = {settings['batch_size']} is larger than MNIST's training set")


def build_vae(settings: dict[str, Any], *, latent_dim: int | None = None, loss: str | None = None,
              prior: str = "normal", extra_block: bool = False, seed: int | None = None, name: str = "vae") -> VAE:
    """The handout's VAE from [vae] settings, with one thing changed where a comparison asks."""
    validate(settings)
    shape = dict(latent_dim=latent_dim or settings["latent_dim"], filters=settings["filters"],
                 num_conv=settings["num_conv"], intermediate_dim=settings["intermediate_dim"],
                 extra_block=extra_block, precision=settings.get("precision", "float32"))
    vae = VAE(build_encoder(**shape), build_decoder(**shape), loss=loss or settings["loss"], prior=prior, seed=seed,
              name=name)
    vae.compile(optimizer=FusedRMSprop(learning_rate=settings["learning_rate"]))  # Keras's RMSprop, one pass per update
    return vae


# ----------------------------------------------------------------- training
@dataclass
class Training:
    history: dict[str, list[float]]
    epoch_s: list[float]
    train_s: float
    images: int
    cpu_s: float  # process CPU seconds: unlike wall time, not inflated by other jobs sharing the cores

    @property
    def images_per_s(self) -> float:
        return self.images / self.train_s if self.train_s else float("nan")

    @property
    def timing(self) -> TrainingTime:
        """Median steady seconds per epoch, and the first epoch's extra (compiling the graph) set apart."""
        return split_training(self.epoch_s[0], self.epoch_s[1:], len(self.epoch_s))


class Epochs:
    """The handout's vae.fit(x, epochs, batch_size, validation_data=(x_test, None)), batched in the graph.

    Keras's fit feeds NumPy arrays through a tf.data pipeline. On a small CPU that pipeline
    now and then leaves TensorFlow computing on one core for a whole epoch, and blocks for
    seconds when its iterator is torn down. Here the images stay in one tensor and each call
    gathers and trains up to `chunk` shuffled batches in one compiled loop (harness.train.steps:
    a tf.function on TensorFlow, a jax.lax.scan on JAX): the same train_step on the same
    batches (a fresh permutation per epoch, the last batch partial as in fit), and the same
    per-epoch means of loss, reconstruction and KL, with no pipeline in between.
    """

    def __init__(self, vae: VAE, x_train: np.ndarray, x_test: np.ndarray, batch_size: int, seed: int,
                 chunk: int = 20) -> None:
        self.vae, self.batch, self.chunk = vae, int(batch_size), int(chunk)
        self.n_train, self.n_test = len(x_train), len(x_test)
        self.x_train, self.x_test = ops.convert_to_tensor(x_train), ops.convert_to_tensor(x_test)
        self.rng = np.random.default_rng(seed)
        vae.optimizer.build(vae.trainable_variables)  # its slots exist before the first traced step
        state = state_of(vae, vae.optimizer)
        self._train = compiled_scan(lambda idx: vae.train_step(ops.take(self.x_train, idx, axis=0))["loss"], state)
        self._test = compiled_scan(lambda idx: vae.test_step(ops.take(self.x_test, idx, axis=0))["loss"], state)

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n_train // self.batch)

    def _calls(self, order: np.ndarray) -> list[np.ndarray]:
        """order cut into batches, then into calls of at most `chunk` batches of one shape each."""
        full = len(order) // self.batch
        whole = order[:full * self.batch].reshape(full, self.batch).astype("int32")
        calls = [whole[i:i + self.chunk] for i in range(0, full, self.chunk)]
        if len(order) % self.batch:
            calls.append(order[full * self.batch:].astype("int32")[None])
        return calls

    def _means(self, prefix: str = "") -> dict[str, float]:
        return {prefix + m.name: float(m.result()) for m in self.vae.metrics}

    def train_epoch(self, progress: Any = None) -> dict[str, float]:
        for m in self.vae.metrics:
            m.reset_state()
        done = 0
        for batches in self._calls(self.rng.permutation(self.n_train)):
            self._train(batches)
            done += len(batches)
            if progress:
                progress(done)
        return self._means()

    def validate(self) -> dict[str, float]:
        for m in self.vae.metrics:
            m.reset_state()
        for batches in self._calls(np.arange(self.n_test)):
            self._test(batches)
        return self._means("val_")


def fit_vae(ctx: Any, vae: VAE, settings: dict[str, Any], label: str) -> Training:
    """The handout's vae.fit: RMSprop, settings['epochs'] epochs, test set as validation, one fused step per batch.

    Epoch seconds include the per-epoch validation pass, as the handout's fit does. NaN or inf
    in an epoch's losses stops the training there with the epoch and the losses.
    """
    data = ctx.data
    epochs = settings["epochs"]
    n, batch = len(data.x_train), settings["batch_size"]
    ctx.log(W.fill("train_log", label=label, epochs=epochs, n=n, batch=batch))
    loop = Epochs(vae, data.x_train, data.x_test, settings["batch_size"], seed=ctx.seed)
    steps = loop.steps_per_epoch
    ctx.phase("compile")  # the first batch builds the fused step: seconds before any progress
    history: dict[str, list[float]] = {}
    epoch_s: list[float] = []
    t0, cpu0 = time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        started = time.perf_counter()
        logs = loop.train_epoch(lambda done: ctx.progress(epoch * steps + done, epochs * steps, "batch"))
        logs.update(loop.validate())
        epoch_s.append(time.perf_counter() - started)
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        if not all(np.isfinite(v) for v in logs.values()):
            raise ItemFailed(f"{label} diverged in epoch {epoch + 1}: loss {logs['loss']}, reconstruction "
                             f"{logs['reconstruction_loss']}, KL {logs['kl_loss']} "
                             f"(lower vae.learning_rate = {settings['learning_rate']} and run again)")
    train_s, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    return Training(history, epoch_s, train_s, len(data.x_train) * epochs, cpu_s)


# ----------------------------------------------------------------- likelihood
def test_likelihood(vae: VAE, x: np.ndarray, k: int, iwae_images: int, seed: int = 0, batch: int = 500) -> dict[str, float]:
    """Negative ELBO (nats/image, with its two terms) on all of x, and the IWAE bound on the first
    iwae_images of x with k importance samples: -log p(x) <= IWAE_k <= negative ELBO.

    Both use a Bernoulli decoder (binary cross-entropy), whatever loss the model was trained with,
    so models trained with MSE are measured in the same nats. The ELBO's KL uses the prior's own
    KL (analytic for N(0, I) and Laplace), averaged over k samples of z per image.
    """
    rng = np.random.default_rng(seed)
    rec, kl, iwae = [], [], []
    for start in range(0, len(x), batch):
        xb = x[start:start + batch]
        parts = _batch_likelihood(vae, xb, k, rng, with_iwae=start < iwae_images)
        rec.append(parts["reconstruction"])
        kl.append(parts["kl"])
        if "nll" in parts:
            iwae.append(parts["nll"][: max(0, iwae_images - start)])
    rec_m, kl_m = float(np.concatenate(rec).mean()), float(np.concatenate(kl).mean())
    nll = np.concatenate(iwae)
    return {"neg_elbo": rec_m + kl_m, "reconstruction": rec_m, "kl": kl_m,
            "nll": float(nll.mean()), "nll_se": float(nll.std() / np.sqrt(len(nll))),
            "iwae_k": k, "iwae_images": len(nll)}


DECODE_BATCH = 2000
DECODED_AT_ONCE = 10_000  # images decoded and scored per chunk of z: bounds the memory of log p(x|z)


def _log_px_z(vae: VAE, xb: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log p(x|z) for every z[s, i] and its image xb[i], shape (k, n), in chunks of whole
    samples: all k at once would hold k decoded copies of the batch and their cross-entropy
    terms, the largest allocation of a run. With test_likelihood's batches of 500 images a chunk is 20
    samples, 10,000 rows, five whole DECODE_BATCH batches: the decoder sees exactly the batches
    it saw unchunked (other sizes may split a batch; the numbers then agree to rounding)."""
    samples, n, d = z.shape
    per_chunk = max(1, DECODED_AT_ONCE // n)
    out = []
    for start in range(0, samples, per_chunk):
        z_chunk = z[start:start + per_chunk]
        x_hat = ops.convert_to_numpy(vae.decoder.predict(z_chunk.reshape(-1, d), batch_size=DECODE_BATCH, verbose=0))
        nats = reconstruction_nats(np.tile(xb, (len(z_chunk), 1, 1, 1)), x_hat, "bce")
        out.append(-ops.convert_to_numpy(nats).reshape(len(z_chunk), n))
    return np.concatenate(out)


def _batch_likelihood(vae: VAE, xb: np.ndarray, k: int, rng: np.random.Generator, with_iwae: bool) -> dict[str, np.ndarray]:
    z_mean, z_log_var = (ops.convert_to_numpy(t) for t in vae.encoder(xb, training=False))
    n, d = z_mean.shape
    samples = k if with_iwae else 1
    eps = rng.standard_normal((samples, n, d)).astype("float32")
    z = z_mean + np.exp(0.5 * z_log_var) * eps                                  # (k, n, d)
    log_px_z = _log_px_z(vae, xb, z)
    log_pz = ops.convert_to_numpy(vae.prior.log_prob(ops.convert_to_tensor(z)))
    log_qz = ops.convert_to_numpy(gaussian_log_density(ops.convert_to_tensor(z), z_mean[None], z_log_var[None]))
    kl = ops.convert_to_numpy(vae.prior.kl(z_mean, z_log_var, z[0])) if vae.prior.analytic_kl else (log_qz - log_pz).mean(0)
    out = {"reconstruction": -log_px_z.mean(0), "kl": kl}
    if with_iwae:
        log_w = log_px_z + log_pz - log_qz
        top = log_w.max(0)
        out["nll"] = -(top + np.log(np.exp(log_w - top).mean(0)))
    return out


def active_units(vae: VAE, x: np.ndarray, threshold: float = 0.01) -> tuple[int, np.ndarray]:
    """Burda et al. (2016): component i is active when Cov_x(E_q[z_i | x]) > threshold."""
    z_mean = vae.encoder.predict(x, batch_size=1000, verbose=0)[0]
    activity = z_mean.var(axis=0)
    return int((activity > threshold).sum()), activity


def sample_images(vae: VAE, n: int, seed: int) -> tuple[np.ndarray, float]:
    """n images decoded from the model's prior, and the decoding rate in images per second
    (harness.train.timing: the one method every model's speed is measured by)."""
    z = vae.prior.sample(n, vae.latent_dim, np.random.default_rng(seed))
    images = vae.decoder.predict(z, batch_size=1000, verbose=0)
    return images, sampling_speed(vae.decoder, z).images_per_s
