"""The two sides under test and how each is timed: the handout's code (benchmarks/handout_baseline.py)
and the harness's training (experiments.vae.models, experiments.gan.training), as `harness run`
trains them. VAE speed is training images per second over whole epochs, validation left out on
both sides; GAN speed is milliseconds per training step (one D step and one AM step).

Heavy imports stay inside the functions: a side's process must import TensorFlow or the harness
first, in the order benchmarks.compare.serve and benchmarks.workers.worker choose."""
from __future__ import annotations

import os
import time
from typing import Any, Callable

from benchmarks.common import GAN_BATCH


def vae_settings(batch: int) -> dict[str, Any]:
    """The harness's [vae] settings at the full profile, with the batch under test."""
    from harness.config import load_config

    settings = dict(load_config("full").section("vae"))
    settings["batch_size"] = batch
    return settings


def harness_precision(section: str) -> str:
    """The precision the harness trains with at the full profile ([vae] or [gan] precision),
    unless BENCH_PRECISION overrides it for a worker (the mixed_bfloat16 lever)."""
    from harness.config import load_config
    from harness.train.hardware import resolve_precision

    value = os.environ.get("BENCH_PRECISION") or load_config("full").section(section).get("precision", "float32")
    return resolve_precision(value, f"{section}.precision")  # "auto" as this machine resolves it


def harness_vae(batch: int, seed: int | None = None, jit: bool = False, steps_per_execution: int = 1):
    """The harness's VAE exactly as 1.1e builds it, with the batch under test."""
    from experiments.vae.models import build_vae

    settings = {**vae_settings(batch), "precision": harness_precision("vae")}
    vae = build_vae(settings, seed=seed)
    if jit or steps_per_execution != 1:
        # Recompiled the way build_vae compiles, plus the lever under test.
        vae.compile(optimizer=type(vae.optimizer)(learning_rate=settings["learning_rate"]),
                    jit_compile=jit, steps_per_execution=steps_per_execution)
    return vae


def baseline_vae(seeded_sampling: bool = False, jit: bool = False):
    """The handout's VAE and its submodels (handout_baseline.build_vae), optionally recompiled with XLA."""
    from benchmarks import handout_baseline

    parts = handout_baseline.build_vae(seeded_sampling=seeded_sampling)
    if jit:
        parts["vae"].compile(optimizer="rmsprop", jit_compile=True)
    return parts


def harness_epochs(batch: int, x, xt, seed: int = 0):
    """The harness's VAE and its training loop (experiments.vae.models.Epochs), as fit_vae trains."""
    from experiments.vae.models import Epochs

    return Epochs(harness_vae(batch, seed=seed), x, xt, batch, seed=seed)


def trace_epochs(loop) -> None:
    """Traces the loop's compiled training call on a call of the shape the timed epochs use, so
    that tracing stays out of the first timed epoch (the baseline's warm-up fit does the same)."""
    import numpy as np

    loop._train(loop._calls(np.arange(loop.n_train))[0])


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

    from benchmarks import handout_baseline

    gan = handout_baseline.build_gan()
    d_check = handout_baseline.check_discriminator_trains(x, gan, GAN_BATCH)
    rng = np.random.RandomState(1)

    def run(steps: int) -> None:
        for _ in range(steps):
            handout_baseline.train_step(x, gan["DM"], gan["AM"], gan["G"], gan["D"], GAN_BATCH, rng)

    return run, d_check


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
    n_images = int(x.shape[0])
    picks = keras.random.SeedGenerator()

    @tf.function(jit_compile=True)
    def step():
        batch_index = keras.random.randint((batch_size,), 0, n_images, seed=picks)
        logs = gan.train_step(tf.gather(images, batch_index))
        return tf.stack([tf.cast(logs[column], tf.float32) for column in COLUMNS])

    return step


def timed_ms(run: Callable[[int], None], steps: int) -> float:
    """Milliseconds per step of `steps` steps of a runner."""
    t0 = time.perf_counter()
    run(steps)
    return 1000.0 * (time.perf_counter() - t0) / steps
