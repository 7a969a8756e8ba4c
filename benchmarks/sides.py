"""The two sides under test, built and timed alike: the handout's code (handout_baseline.py) and the
harness's training (experiments.vae.models, experiments.gan.training)."""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from benchmarks.common import GAN_BATCH


def vae_settings(batch: int) -> dict[str, Any]:
    """The harness's [vae] settings at the full profile, with the batch under test."""
    from harness.config import load_config

    s = dict(load_config("full").section("vae"))
    s["batch_size"] = batch
    return s


def harness_precision(section: str) -> str:
    """The precision the harness trains with at the full profile ([vae] or [gan] precision),
    unless BENCH_PRECISION overrides it for a worker (the mixed_bfloat16 lever)."""
    from harness.config import load_config
    from harness.train.hardware import resolve_precision

    value = os.environ.get("BENCH_PRECISION") or load_config("full").section(section).get("precision", "float32")
    return resolve_precision(value, f"{section}.precision")  # "auto" as this machine resolves it


def harness_vae(batch: int, seed: int | None = None, jit: bool = False, steps_per_execution: int = 1):
    """The harness's VAE exactly as 1.1e builds it, with the batch under test."""
    from experiments.vae import models as M

    s = {**vae_settings(batch), "precision": harness_precision("vae")}
    vae = M.build_vae(s, seed=seed)
    if jit or steps_per_execution != 1:
        # Recompiled the way build_vae compiles, plus the lever under test.
        vae.compile(optimizer=type(vae.optimizer)(learning_rate=s["learning_rate"]),
                    jit_compile=jit, steps_per_execution=steps_per_execution)
    return vae


def baseline_vae(seeded_sampling: bool = False, jit: bool = False):
    from benchmarks import handout_baseline as B

    parts = B.build_vae(seeded_sampling=seeded_sampling)
    if jit:
        parts["vae"].compile(optimizer="rmsprop", jit_compile=True)
    return parts


def harness_epochs(batch: int, x, xt, seed: int = 0):
    """The harness's VAE and its training loop (experiments.vae.models.Epochs), as fit_vae trains."""
    from experiments.vae import models as M

    return M.Epochs(harness_vae(batch, seed=seed), x, xt, batch, seed=seed)


def epochs_rate(loop) -> float:
    """Images per second of one training epoch of the harness's loop (validation left out, as in fit_rate)."""
    t0 = time.perf_counter()
    loop.train_epoch()
    return loop.n_train / (time.perf_counter() - t0)


def fit_rate(vae, x, batch: int) -> float:
    """Images per second of one training epoch over x (the handout's fit, validation left out)."""
    t0 = time.perf_counter()
    vae.fit(x, batch_size=batch, epochs=1, verbose=0, shuffle=True)
    return len(x) / (time.perf_counter() - t0)


def baseline_gan_runner(x) -> tuple[Callable[[int], None], dict[str, bool]]:
    """The handout's loop (G.predict, DM.train_on_batch, AM.train_on_batch), and the proof on the
    weights that its D trains in the D step and stays frozen in the AM step."""
    import numpy as np

    from benchmarks import handout_baseline as B

    g = B.build_gan()
    check = B.check_discriminator_trains(x, g, GAN_BATCH)
    rng = np.random.RandomState(1)

    def run(steps: int) -> None:
        for _ in range(steps):
            B.train_step(x, g["DM"], g["AM"], g["G"], g["D"], GAN_BATCH, rng)

    return run, check


def harness_gan_runner(x, jit: bool = False, steps_per_call: int = 1) -> Callable[[int], None]:
    """The harness's 1.2d: fused train_steps, steps_per_call of them per compiled call, run as
    train_gan runs them (each call returns its steps' record: the divergence check reads it)."""
    import numpy as np

    from experiments.gan.models import GanSettings, build_gan
    from experiments.gan.training import step_function

    gan = build_gan(GanSettings(precision=harness_precision("gan")))
    if jit:
        step, per_call = _jit_step_function(gan, x, GAN_BATCH), 1
    else:
        step, per_call = step_function(gan, x, GAN_BATCH, steps_per_call), steps_per_call

    def run(steps: int) -> None:
        for _ in range(-(-steps // per_call)):
            np.asarray(step())

    return run


def _jit_step_function(gan, x, batch_size: int):
    """experiments.gan.training.step_function with jit_compile=True: the only difference."""
    import keras
    import tensorflow as tf

    from experiments.gan.training import COLUMNS

    images = tf.constant(x)
    n = int(x.shape[0])
    picks = keras.random.SeedGenerator()

    @tf.function(jit_compile=True)
    def step():
        idx = keras.random.randint((batch_size,), 0, n, seed=picks)
        logs = gan.train_step(tf.gather(images, idx))
        return tf.stack([tf.cast(logs[k], tf.float32) for k in COLUMNS])

    return step


def timed_ms(run: Callable[[int], None], steps: int) -> float:
    t0 = time.perf_counter()
    run(steps)
    return 1000.0 * (time.perf_counter() - t0) / steps
