"""Quality at equal epochs: the VAE's test negative ELBO, one estimator for the baseline and the
harness alike, so that a speed gain is never bought with a worse model unseen."""
from __future__ import annotations

from typing import Callable

PIXELS = 28 * 28


def neg_elbo(encode: Callable, decode: Callable, x, z_samples: int = 5, seed: int = 0, chunk: int = 1000) -> float:
    """Test negative ELBO in nats per image, the same estimator for every model: Bernoulli
    decoder (BCE summed over 784 pixels, Keras's 1e-7 clip), analytic KL to N(0, I), z_samples
    samples of z per image with one fixed epsilon stream, all in float32 NumPy."""
    import numpy as np

    rng = np.random.default_rng(seed)
    total, n_images = 0.0, 0
    for start in range(0, len(x), chunk):
        images = x[start:start + chunk].reshape(-1, PIXELS).astype("float32")
        mu, log_var = (np.asarray(a, dtype="float32") for a in encode(x[start:start + chunk]))
        kl = -0.5 * np.sum(1 + log_var - mu ** 2 - np.exp(log_var), axis=-1)
        reconstruction = np.zeros(len(images), dtype="float64")
        for _ in range(z_samples):
            z = mu + np.exp(0.5 * log_var) * rng.standard_normal(mu.shape).astype("float32")
            probs = np.clip(np.asarray(decode(z), dtype="float32").reshape(-1, PIXELS), 1e-7, 1 - 1e-7)
            reconstruction += -np.sum(images * np.log(probs) + (1 - images) * np.log(1 - probs), axis=-1)
        total += float(np.sum(reconstruction / z_samples + kl))
        n_images += len(images)
    return total / n_images


def baseline_elbo(parts, x) -> float:
    """The handout VAE's test −ELBO, from the submodels handout_baseline.build_vae returns."""
    encoder, encoder_log_var, generator = parts["encoder"], parts["encoder_log_var"], parts["generator"]
    return neg_elbo(lambda images: (encoder(images, training=False), encoder_log_var(images, training=False)),
                    lambda z: generator(z, training=False), x)


def harness_elbo(vae, x) -> float:
    """The harness VAE's test −ELBO (its encoder returns z_mean and z_log_var)."""
    return neg_elbo(lambda images: vae.encoder(images, training=False), lambda z: vae.decoder(z, training=False), x)
