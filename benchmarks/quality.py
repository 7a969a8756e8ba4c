"""Quality at equal epochs: the test negative ELBO, one estimator for both sides."""
from __future__ import annotations

from typing import Callable


def neg_elbo(encode: Callable, decode: Callable, x, k: int = 5, seed: int = 0, chunk: int = 1000) -> float:
    """Test negative ELBO in nats per image, the same estimator for every model: Bernoulli
    decoder (BCE summed over 784 pixels, Keras's 1e-7 clip), analytic KL to N(0, I), k samples
    of z per image with one fixed epsilon stream, all in float32 NumPy."""
    import numpy as np

    rng = np.random.default_rng(seed)
    total, n = 0.0, 0
    for i in range(0, len(x), chunk):
        xb = x[i:i + chunk].reshape(-1, 784).astype("float32")
        mu, log_var = (np.asarray(a, dtype="float32") for a in encode(x[i:i + chunk]))
        kl = -0.5 * np.sum(1 + log_var - mu ** 2 - np.exp(log_var), axis=-1)
        rec = np.zeros(len(xb), dtype="float64")
        for _ in range(k):
            z = mu + np.exp(0.5 * log_var) * rng.standard_normal(mu.shape).astype("float32")
            p = np.clip(np.asarray(decode(z), dtype="float32").reshape(-1, 784), 1e-7, 1 - 1e-7)
            rec += -np.sum(xb * np.log(p) + (1 - xb) * np.log(1 - p), axis=-1)
        total += float(np.sum(rec / k + kl))
        n += len(xb)
    return total / n


def baseline_elbo(parts, x) -> float:
    enc, enc_lv, gen = parts["encoder"], parts["encoder_log_var"], parts["generator"]
    return neg_elbo(lambda xb: (enc(xb, training=False), enc_lv(xb, training=False)),
                    lambda z: gen(z, training=False), x)


def harness_elbo(vae, x) -> float:
    return neg_elbo(lambda xb: vae.encoder(xb, training=False), lambda z: vae.decoder(z, training=False), x)
