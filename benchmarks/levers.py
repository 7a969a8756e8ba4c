"""Levers."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

from benchmarks.common import ROOT
from benchmarks.workers import spawn


def levers(opts: argparse.Namespace) -> dict[str, Any]:
    """Each lever against the harness's default in a worker of its own, same sizes throughout."""
    n, r, b = opts.lever_images, opts.lever_repeats, opts.batch
    steps, warm = opts.gan_steps, opts.gan_warmup
    data = {"n_train": max(n, opts.quality_images, 4 * 256), "n_test": opts.quality_test}
    vae = lambda **kw: {"kind": "vae", "model": "harness", "batch": b, "images": n, "repeats": r, **kw}
    gan = lambda **kw: {"kind": "gan", "model": "harness", "steps": steps, "warmup": warm, "repeats": r, **kw}
    elbo = {"elbo_epochs": opts.quality_epochs, "elbo_images": opts.quality_images} if opts.quality_images else {}
    out: dict[str, Any] = {}

    # oneDNN: TensorFlow turns it on by itself only on CPUs with AVX512-VNNI/BF16 or AMX; the harness
    # turns it on everywhere (harness/__init__.py). Off against on, for the harness's own steps.
    for value in ("0", "1"):
        out[f"oneDNN {'on' if value == '1' else 'off'}"] = spawn(f"onednn={value}", {**data, "jobs": [vae(), gan()]},
                                                                 env={"TF_ENABLE_ONEDNN_OPTS": value})

    # Threads: TF's default (0, 0 = let TF choose) against explicit pool sizes on 2 cores.
    for intra, inter in ((0, 0), (1, 1), (2, 1), (2, 2)):
        key = f"threads {intra}/{inter}"
        out[key] = spawn(key, {**data, "threads": [intra, inter] if intra else None,
                               "jobs": [vae(), gan()]})

    # VAE batch size: speed, and quality at equal epochs (more, smaller steps per epoch).
    out["batch"] = spawn("batch", {**data, "jobs": [
        {"kind": "vae", "model": "harness", "batch": bs, "images": max(n, 4 * bs), "repeats": r, **elbo}
        for bs in (32, 64, 100, 128, 256)]})

    # Precision: the harness's models in float32 and in mixed bfloat16 (hidden layers in bfloat16,
    # the heads a loss reads in float32: vae.precision and gan.precision), with the VAE's ELBO.
    for precision in ("float32", "mixed_bfloat16"):
        out[precision] = spawn(precision, {**data, "jobs": [vae(**elbo), gan()]},
                               env={"BENCH_PRECISION": precision})
    # XLA.
    out["jit_compile"] = spawn("jit", {**data, "jobs": [vae(jit=True), gan(jit=True)]})
    # Several steps per graph call: the VAE through fit's steps_per_execution, the GAN through a
    # tf.range loop over its train_step (timed per step; steps rounded up to whole calls).
    out["steps_per_execution"] = spawn("spe", {**data, "jobs": [vae(spe=spe) for spe in (1, 10)]
                                               + [gan(spe=spe, steps=max(steps, spe)) for spe in (1, 10)]})

    # Backend: the baseline's Keras-level code (the harness's fused steps are TensorFlow code) under
    # TF and under JAX; JAX refuses the unseeded Lambda inside a compiled step, so both sides use
    # the seeded sampling layer.
    base_jobs = [{"kind": "vae", "model": "baseline", "seeded": True, "batch": b, "images": n, "repeats": r},
                 {"kind": "gan", "model": "baseline", "steps": steps, "warmup": warm, "repeats": r}]
    out["backend tensorflow"] = spawn("tf", {**data, "tf_defaults": True, "jobs": base_jobs})
    jax_env = {"KERAS_BACKEND": "jax"}
    if opts.jax_path:
        jax_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), opts.jax_path])
    probe = subprocess.run([sys.executable, "-c", "import jax"], env={**os.environ, **jax_env}, capture_output=True)
    if probe.returncode == 0:
        out["backend jax"] = spawn("jax", {**data, "tf_defaults": True, "jobs": base_jobs}, env=jax_env)
    else:
        out["backend jax"] = {"error": "jax is not importable (pip install jax, or --jax-path DIR)"}
    return out
