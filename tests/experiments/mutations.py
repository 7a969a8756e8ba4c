"""The mistakes students make with this handout, each applied to our code.

A mutation is a student's mistake written as a patch (pytest's monkeypatch) or as a setting,
with the items it affects: tests/experiments/test_mutations.py runs those items at `smoke`
with the mistake in place and asserts that at least one rubric check FAILS (not a crash,
not "not graded"). `caught_by` names the check that is meant to catch it: the table a
reader checks the grading against.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Any, Callable

import keras
import numpy as np
from keras import ops


@dataclass(frozen=True)
class Mutation:
    mistake: str                                   # in the student's words
    items: tuple[str, ...]                         # the items it affects, rerun with the mistake
    caught_by: str                                 # the check meant to fail
    patch: Callable[[Any], None] = lambda mp: None  # applies the mistake with a pytest MonkeyPatch
    sets: tuple[str, ...] = field(default=())      # or as settings, --set key=value


# -- layers with one argument changed -------------------------------------------------------
class _Layers:
    """keras.layers, except that the layer called `name` of `kind` gets `changes` (or is replaced)."""

    def __init__(self, kind: str, name: str, replace: Callable[..., Any] | None = None, **changes: Any) -> None:
        self._kind, self._name, self._replace, self._changes = kind, name, replace, changes

    def __getattr__(self, attr: str) -> Any:
        original = getattr(keras.layers, attr)
        if attr != self._kind:
            return original

        def build(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("name") != self._name:
                return original(*args, **kwargs)
            if self._replace is not None:
                return self._replace(name=kwargs["name"])
            # A change to an argument given by position (Conv2D(filters, kernel_size, ...)) replaces it there.
            args, changes = list(args), dict(self._changes)
            for i, key in enumerate(POSITIONAL[:len(args)]):
                if key in changes:
                    args[i] = changes.pop(key)
            return original(*args, **{**kwargs, **changes})
        return build


POSITIONAL = ("filters", "kernel_size", "strides")


def _keras_with(layers: _Layers) -> SimpleNamespace:
    """The keras module as experiments.gan.models sees it, with `layers` swapped."""
    return SimpleNamespace(**{k: getattr(keras, k) for k in ("Sequential", "Input", "Model", "random")}, layers=layers)


def _vae_layers(mp, **kw: Any) -> None:
    from experiments.vae import models

    mp.setattr(models, "layers", _Layers(**kw))


def _gan_layers(mp, **kw: Any) -> None:
    from experiments.gan import models

    mp.setattr(models, "keras", _keras_with(_Layers(**kw)))


def _gan_without_bn(mp) -> None:
    from experiments.gan import models

    original = models.BatchNormalization
    mp.setattr(models, "BatchNormalization",
               lambda *a, **kw: keras.layers.Identity(name=kw["name"]) if kw.get("name") == "bn3" else original(*a, **kw))


# -- the VAE ----------------------------------------------------------------------------------
def _sigma_is_exp_log_var(mp) -> None:
    from experiments.vae import models

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(z_log_var) * epsilon  # the variance, not the standard deviation
    mp.setattr(models.Sampling, "call", call)


def _kl_without_half(mp) -> None:
    from experiments.vae import models

    mp.setattr(models.Prior, "kl", lambda self, z_mean, z_log_var, z:
               -ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1))


def _kl_sign(mp) -> None:
    from experiments.vae import models

    mp.setattr(models.Prior, "kl", lambda self, z_mean, z_log_var, z:
               0.5 * ops.sum(1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1))


def _total_without_kl(mp) -> None:
    from experiments.vae import models

    original = models.VAE.negative_elbo

    def without_kl(self, x, training=False):
        _, reconstruction, kl = original(self, x, training=training)
        return reconstruction, reconstruction, kl  # `loss = reconstruction_loss`: the KL computed, then forgotten

    mp.setattr(models.VAE, "negative_elbo", without_kl)


def _reconstruction_mean(mp) -> None:
    from experiments.vae import models

    original = models.reconstruction_nats
    mp.setattr(models, "reconstruction_nats", lambda x, x_hat, loss: original(x, x_hat, loss) / models.PIXELS)


def _adam(mp) -> None:
    from experiments.vae import models

    mp.setattr(models, "FusedRMSprop", keras.optimizers.Adam)


def _rmsprop_rho(mp) -> None:
    from experiments.vae import models

    mp.setattr(models, "FusedRMSprop", partial(models.FusedRMSprop, rho=0.5))


def _gan_rmsprop_rho(mp) -> None:
    from experiments.gan import models

    mp.setattr(models, "FusedRMSprop", partial(models.FusedRMSprop, rho=0.5))


def _grid_linear_in_z(mp) -> None:
    from scipy.stats import norm

    from experiments.vae import g_generation

    original = g_generation.latent_grid

    def linear(n, span, latent_dim):
        values, z = original(n, span, latent_dim)
        even = np.linspace(norm.ppf(span[0]), norm.ppf(span[1]), n)
        return even, _grid_z(even, latent_dim)

    mp.setattr(g_generation, "latent_grid", linear)


def _extreme_grid_to_3(mp) -> None:
    from experiments.vae import g_generation

    original = g_generation.latent_grid

    def to_3(n, span, latent_dim):
        values, z = original(n, span, latent_dim)
        if span[0] < 0.01:
            values = np.linspace(-3.0, 3.0, n)
            z = _grid_z(values, latent_dim)
        return values, z

    mp.setattr(g_generation, "latent_grid", to_3)


def _grid_z(values, latent_dim):
    z1, z2 = np.meshgrid(values, values[::-1])
    z = np.zeros((len(values) ** 2, latent_dim), dtype="float32")
    z[:, 0], z[:, 1] = z1.ravel(), z2.ravel()
    return z


def _no_validation(mp) -> None:
    from experiments.vae import models

    mp.setattr(models.Epochs, "validate", lambda self: {})


# -- the GAN ----------------------------------------------------------------------------------
def _d_not_frozen_in_am(mp) -> None:
    """G's step also steps D: one optimizer over both networks, as an AM compiled with D trainable."""
    from experiments.gan import models

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        keras.Model.compile(self, **kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables + self.discriminator.trainable_variables)

    def g_step(self, n):
        z, y = self.sample_z(n), ops.ones((n, 1))

        def loss():
            p_real = self.discriminator(self.generator(z, training=True), training=True)
            return self.bce(y, p_real), p_real
        loss, p_real = models.minimize(loss, self.generator.trainable_variables + self.discriminator.trainable_variables,
                                       self.g_optimizer)
        return loss, self.accuracy(y, p_real)
    mp.setattr(models.GAN, "compile", compile)
    mp.setattr(models.GAN, "g_step", g_step)


def _d_frozen_in_d_step(mp) -> None:
    """D.trainable = False before D's own step (Keras 3 reads the flag when the step runs)."""
    from experiments.gan import models

    build_gan = models.build_gan

    def frozen(settings, seed=None):
        gan = build_gan(settings, seed)
        gan.discriminator.trainable = False
        return gan
    for module in _gan_modules():
        if hasattr(module, "build_gan"):
            mp.setattr(module, "build_gan", frozen)


def _fakes_labelled_real(mp) -> None:
    from experiments.gan import models

    def d_step(self, real):
        n = ops.shape(real)[0]
        fake = self.generator(self.sample_z(n), training=self.fakes_training)
        x = ops.concatenate([real, ops.cast(fake, real.dtype)], axis=0)
        y = ops.ones((2 * n, 1))  # the fakes labelled 1, as the reals

        def loss():
            p_real = self.discriminator(x, training=True)
            return self.bce(y, p_real), p_real
        loss, p_real = models.minimize(loss, self.discriminator.trainable_variables, self.d_optimizer)
        return loss, self.accuracy(ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0), p_real)
    mp.setattr(models.GAN, "d_step", d_step)


def _early_return(mp) -> None:
    """The handout's train_on_steps: `return` inside the loop, so one step is trained."""
    from experiments.gan import training

    mp.setattr(training, "train_gan", partial(_one_step, training.train_gan))


def _one_step(train_gan, gan, x, steps, batch_size, **kw):
    return train_gan(gan, x, 1, batch_size, **kw)


def _noise(law: Callable[[Any, tuple[int, int]], Any], host: Callable[[np.random.Generator, tuple[int, int]], np.ndarray]):
    def patch(mp) -> None:
        from experiments.gan import models, training

        mp.setattr(models.GAN, "sample_z", lambda self, n: law(self, (n, self.noise_dim)))
        draw = lambda noise, n, dim, seed=None, std=1.0: host(np.random.default_rng(seed), (n, dim)).astype("float32")
        for module in (models, training):
            mp.setattr(module, "sample_noise", draw)
    return patch


def _gan_modules() -> list[Any]:
    from experiments.gan import c_adversarial, models, training

    return [models, training, c_adversarial]


# -- the evaluator ------------------------------------------------------------------------------
def _fid_sign(mp) -> None:
    from harness.train import evaluation

    def frechet(mu1, sigma1, mu2, sigma2, eps=1e-6):
        covmean = evaluation._sqrtm(np.atleast_2d(sigma1) @ np.atleast_2d(sigma2)).real
        diff = np.atleast_1d(mu1) - np.atleast_1d(mu2)
        return max(float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) + 2.0 * np.trace(covmean)), 0.0), 0.0
    mp.setattr(evaluation, "frechet_distance", frechet)


MUTATIONS = [
    Mutation("latent dimension 3 instead of 2", ("1.1a",), "latent_dim_is_2", sets=("vae.latent_dim=3",)),
    Mutation("encoder: first convolution with a 5x5 kernel", ("1.1a",), "encoder_layers_match_handout",
             partial(_vae_layers, kind="Conv2D", name="conv_1", kernel_size=5)),
    Mutation("decoder: a transposed convolution with a 5x5 kernel", ("1.1b",), "decoder_layers_match_handout",
             partial(_vae_layers, kind="Conv2DTranspose", name="decoder_deconv_2", kernel_size=5)),
    Mutation("sigma = exp(z_log_var) instead of exp(z_log_var / 2)", ("1.1c",), "sampled_std_is_exp_half_log_var",
             _sigma_is_exp_log_var),
    Mutation("KL without the 1/2", ("1.1d",), "prior_is_standard_normal", _kl_without_half),
    Mutation("KL term with its sign flipped (+1/2 Σ(1 + log σ² − μ² − σ²))", ("1.1e",), "loss_parts_add_up", _kl_sign),
    Mutation("the total loss leaves the KL out (reconstruction only) while the KL is still tracked", ("1.1e",),
             "loss_parts_add_up", _total_without_kl),
    Mutation("reconstruction: mean over pixels instead of the sum over 784", ("1.1d",),
             "reconstruction_is_784_times_mean_bce", _reconstruction_mean),
    Mutation("VAE optimizer Adam instead of RMSprop", ("1.1e",), "optimizer_as_handout", _adam),
    Mutation("VAE RMSprop with rho 0.5 (a changed hyperparameter, same class)", ("1.1e",), "optimizer_as_handout",
             _rmsprop_rho),
    Mutation("VAE learning rate 0.01 through the settings", ("1.1e",), "optimizer_as_handout",
             sets=("vae.learning_rate=0.01",)),
    Mutation("per-epoch validation skipped", ("1.1e",), "validated_on_test_set", _no_validation),
    Mutation("1.1g's grid evenly spaced in z over ±1.645 instead of Φ⁻¹ of evenly spaced probabilities", ("1.1g",),
             "grid_is_the_inverse_cdf", _grid_linear_in_z),
    Mutation("1.1g's extreme grid stops at ±3 instead of Φ⁻¹(0.999995)", ("1.1g",), "extreme_grid_is_the_inverse_cdf",
             _extreme_grid_to_3),
    Mutation("D: second convolution with stride 1", ("1.2a",), "matches_handout_layer_by_layer",
             partial(_gan_layers, kind="Conv2D", name="conv2", strides=1)),
    Mutation("G: a transposed convolution with a 5x5 kernel", ("1.2b",), "matches_handout_layer_by_layer",
             partial(_gan_layers, kind="Conv2DTranspose", name="deconv2", kernel_size=(5, 5))),
    Mutation("G's output tanh instead of sigmoid", ("1.2b",), "output_shape_and_range",
             partial(_gan_layers, kind="Activation", name="sigmoid",
                     replace=lambda name: keras.layers.Activation("tanh", name=name))),
    Mutation("G without its third BatchNormalization", ("1.2b",), "parameter_count", _gan_without_bn),
    Mutation("D not frozen in the adversarial model", ("1.2c",), "g_step_trains_G_only", _d_not_frozen_in_am),
    Mutation("D frozen in its own step (D.trainable = False)", ("1.2c",), "d_step_trains_D_only", _d_frozen_in_d_step),
    Mutation("D trained with the fakes labelled real", ("1.2c",), "d_step_labels_real_1_fake_0", _fakes_labelled_real),
    Mutation("D's learning rate 2e-4 instead of 8e-4", ("1.2c",), "optimizers_as_handout", sets=("gan.d_lr=0.0002",)),
    Mutation("G's learning rate 1e-3 instead of 4e-4", ("1.2c",), "optimizers_as_handout", sets=("gan.g_lr=0.001",)),
    Mutation("D's RMSprop without the handout's decay", ("1.2c",), "optimizers_as_handout", sets=("gan.d_decay=0.0",)),
    Mutation("G's RMSprop with rho 0.5 in the code", ("1.2c",), "optimizers_as_handout", _gan_rmsprop_rho),
    Mutation("train_on_steps returns inside its loop (one step)", ("1.2d",), "trained_every_step", _early_return),
    Mutation("GAN noise U(0, 1) instead of U(-1, 1)", ("1.2d",), "noise_uniform_in_range",
             _noise(lambda self, shape: keras.random.uniform(shape, 0.0, 1.0, seed=self.noise_seed),
                    lambda rng, shape: rng.uniform(0.0, 1.0, shape))),
    Mutation("GAN noise N(0, 1) instead of U(-1, 1)", ("1.2d",), "noise_uniform_in_range",
             _noise(lambda self, shape: keras.random.normal(shape, seed=self.noise_seed),
                    lambda rng, shape: rng.standard_normal(shape))),
    Mutation("FID with +2 Tr((Σ1 Σ2)^½) instead of -2", ("eval.classifier",), "fid_of_test_with_itself_is_0", _fid_sign,
             sets=("eval.evaluator_epochs=1",)),
]
