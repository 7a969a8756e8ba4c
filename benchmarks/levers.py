"""The speed levers of issue 9, each measured against the harness's default in a fresh worker process
(benchmarks.workers): oneDNN, thread pools, VAE batch size (with the ELBO at equal epochs), float32
against mixed bfloat16 (with the ELBO), XLA jit_compile, several steps per compiled call, and the
TensorFlow against the JAX backend for the baseline's Keras-level code. Same sizes throughout."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

from benchmarks.common import ROOT
from benchmarks.workers import spawn

VAE_BATCH_SIZES = (32, 64, 100, 128, 256)
THREAD_POOLS = ((0, 0), (1, 1), (2, 1), (2, 2))  # (intra-op, inter-op); 0, 0 lets TensorFlow choose
STEPS_PER_CALL = (1, 10)


def levers(opts: argparse.Namespace) -> dict[str, Any]:
    """Each lever against the harness's default in a worker of its own, same sizes throughout."""
    images, repeats, batch = opts.lever_images, opts.lever_repeats, opts.batch
    gan_steps, warmup = opts.gan_steps, opts.gan_warmup
    data = {"n_train": max(images, opts.quality_images, 4 * max(VAE_BATCH_SIZES)), "n_test": opts.quality_test}

    def vae_job(**overrides: Any) -> dict[str, Any]:
        return {"kind": "vae", "model": "harness", "batch": batch, "images": images, "repeats": repeats, **overrides}

    def gan_job(**overrides: Any) -> dict[str, Any]:
        return {"kind": "gan", "model": "harness", "steps": gan_steps, "warmup": warmup, "repeats": repeats,
                **overrides}

    elbo = {"elbo_epochs": opts.quality_epochs, "elbo_images": opts.quality_images} if opts.quality_images else {}
    measured: dict[str, Any] = {}

    # oneDNN: TensorFlow turns it on by itself only on CPUs with AVX512-VNNI/BF16 or AMX; the harness
    # turns it on everywhere (harness/__init__.py). Off against on, for the harness's own steps.
    for value in ("0", "1"):
        measured[f"oneDNN {'on' if value == '1' else 'off'}"] = spawn(
            f"onednn={value}", {**data, "jobs": [vae_job(), gan_job()]}, env={"TF_ENABLE_ONEDNN_OPTS": value})

    # Threads: TF's default against explicit pool sizes; the pools are fixed when TF starts.
    for intra, inter in THREAD_POOLS:
        lever = f"threads {intra}/{inter}"
        measured[lever] = spawn(lever, {**data, "threads": [intra, inter] if intra else None,
                                        "jobs": [vae_job(), gan_job()]})

    # VAE batch size: speed, and quality at equal epochs (more, smaller steps per epoch).
    measured["batch"] = spawn("batch", {**data, "jobs": [
        {"kind": "vae", "model": "harness", "batch": size, "images": max(images, 4 * size), "repeats": repeats,
         **elbo}
        for size in VAE_BATCH_SIZES]})

    # Precision: the harness's models in float32 and in mixed bfloat16 (hidden layers in bfloat16,
    # the heads a loss reads in float32: vae.precision and gan.precision), with the VAE's ELBO.
    for precision in ("float32", "mixed_bfloat16"):
        measured[precision] = spawn(precision, {**data, "jobs": [vae_job(**elbo), gan_job()]},
                                    env={"BENCH_PRECISION": precision})
    # XLA.
    measured["jit_compile"] = spawn("jit", {**data, "jobs": [vae_job(jit=True), gan_job(jit=True)]})
    # Several steps per graph call: the VAE through fit's steps_per_execution, the GAN through a
    # tf.range loop over its train_step (timed per step; steps rounded up to whole calls).
    measured["steps_per_execution"] = spawn("spe", {**data, "jobs": [vae_job(spe=spe) for spe in STEPS_PER_CALL]
                                                    + [gan_job(spe=spe, steps=max(gan_steps, spe))
                                                       for spe in STEPS_PER_CALL]})

    # Backend: the baseline's Keras-level code (the harness's fused steps are TensorFlow code) under
    # TF and under JAX; JAX refuses the unseeded Lambda inside a compiled step, so both sides use
    # the seeded sampling layer.
    baseline_jobs = [{"kind": "vae", "model": "baseline", "seeded": True, "batch": batch, "images": images,
                      "repeats": repeats},
                     {"kind": "gan", "model": "baseline", "steps": gan_steps, "warmup": warmup, "repeats": repeats}]
    measured["backend tensorflow"] = spawn("tf", {**data, "tf_defaults": True, "jobs": baseline_jobs})
    jax_env = {"KERAS_BACKEND": "jax"}
    if opts.jax_path:
        jax_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), opts.jax_path])
    probe = subprocess.run([sys.executable, "-c", "import jax"], env={**os.environ, **jax_env}, capture_output=True)
    if probe.returncode == 0:
        measured["backend jax"] = spawn("jax", {**data, "tf_defaults": True, "jobs": baseline_jobs}, env=jax_env)
    else:
        measured["backend jax"] = {"error": "jax is not importable (pip install jax, or --jax-path DIR)"}
    return measured
