"""One measurement per fresh process: the levers and the explorer timings run here.

Thread pools, the oneDNN switch, the dtype policy and the Keras backend are process-wide and
fixed early (TensorFlow's pools at start-up, oneDNN at import, the policy when layers are built),
so each setting under test gets a process of its own: `spawn` starts `python -m benchmarks.run
--worker SPEC`, `worker` sets the process up and runs SPEC's jobs, and the one MARK line of JSON
it prints is the result."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import MARK, ROOT, USER_ENV, load_data, median, one_line, peak_rss_mib, progress, quiet_keras
from benchmarks.quality import baseline_elbo, harness_elbo
from benchmarks.sides import (baseline_gan_runner, baseline_vae, epochs_rate, fit_rate, harness_epochs, harness_gan_runner,
                              harness_vae, timed_ms, trace_epochs)


def spawn(name: str, spec: dict[str, Any], env: dict[str, str] | None = None, timeout: int = 1800) -> dict[str, Any]:
    """One worker process; returns its result, or {'error': ...} with the tail of its stderr."""
    spec = {**spec, "name": name}
    full_env = {**USER_ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), USER_ENV.get("PYTHONPATH")])),
                **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--worker", json.dumps(spec)], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
            result["process_s"] = round(time.perf_counter() - t0, 1)
            return result
    tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
    return {"error": f"exit {proc.returncode}: {tail[-600:]}"}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs in a fresh process: process-wide settings first, then each measurement in spec['jobs']."""
    threads = spec.get("threads")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if spec.get("tf_defaults"):
        import tensorflow  # noqa: F401  before the harness sets its environment defaults
    else:
        import harness  # noqa: F401  the harness's environment defaults (oneDNN), as `harness run` has them
    if threads and backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads[0])
        tf.config.threading.set_inter_op_parallelism_threads(threads[1])
    quiet_keras()
    import keras

    x, xt = load_data(spec["n_train"], spec["n_test"])
    results = []
    for job in spec["jobs"]:
        t0 = time.perf_counter()
        try:
            result = run_job(job, x, xt)
        except Exception as e:  # one lever failing (e.g. a dtype error) must not hide the others
            result = {"error": f"{type(e).__name__}: {one_line(str(e))}"}
        result["job"] = job
        result["wall_s"] = round(time.perf_counter() - t0, 1)
        results.append(result)
        progress(f"{spec.get('name', '')}: {job} -> {_summary(result)}")
    versions = {"backend": backend, "keras": keras.__version__}
    if backend == "jax":
        import jax

        versions["jax"] = jax.__version__
    return {"results": results, "rss_mib": peak_rss_mib(), "versions": versions}


def _summary(result: dict[str, Any]) -> str:
    """A job's result on one progress line."""
    parts = []
    if "ips" in result:
        parts.append(f"{median(result['ips']):.0f} img/s")
    if "ms" in result:
        parts.append(f"{median(result['ms']):.1f} ms/step")
    if result.get("neg_elbo") is not None:
        parts.append(f"-ELBO {result['neg_elbo']:.2f}")
    return ", ".join(parts)


def run_job(job: dict[str, Any], x, xt) -> dict[str, Any]:
    if job["kind"] == "vae":
        return vae_job(job, x, xt)
    if job["kind"] == "gan":
        return gan_job(job, x)
    if job["kind"] == "explorer":
        from benchmarks.explorers import explorer_latency

        return explorer_latency(job["root"], job["run"], x, xt)
    raise ValueError(f"unknown job kind {job['kind']}")


def vae_job(job: dict[str, Any], x, xt) -> dict[str, Any]:
    """VAE training images/s over job['repeats'] epochs of job['images'] images; with elbo_epochs,
    also the test −ELBO of a fresh model trained that many epochs (quality at equal epochs)."""
    import keras

    batch, images, seed = job["batch"], job["images"], job.get("seed", 0)
    jit, steps_per_execution = job.get("jit", False), job.get("spe", 1)
    keras.utils.set_random_seed(seed)
    if job["model"] == "harness" and not jit and steps_per_execution == 1:
        # The harness as it trains: its in-graph epochs (experiments.vae.models.Epochs).
        loop = harness_epochs(batch, x[:images], xt[:batch], seed)
        trace_epochs(loop)
        measured: dict[str, Any] = {"ips": [epochs_rate(loop) for _ in range(job["repeats"])]}
        if job.get("elbo_epochs"):
            keras.utils.set_random_seed(seed)
            loop = harness_epochs(batch, x[:job["elbo_images"]], xt, seed)
            for _ in range(job["elbo_epochs"]):
                loop.train_epoch()
            measured["neg_elbo"] = harness_elbo(loop.vae, xt)
        return measured
    # A lever fit() reaches (jit_compile, steps_per_execution), or the baseline: Keras's own fit.
    if job["model"] == "harness":
        vae = harness_vae(batch, seed=seed, jit=jit, steps_per_execution=steps_per_execution)
    else:
        vae = baseline_vae(seeded_sampling=job.get("seeded", False), jit=jit)["vae"]
    vae.fit(x[:3 * batch * steps_per_execution], batch_size=batch, epochs=1, verbose=0)  # traces the step
    measured = {"ips": [fit_rate(vae, x[:images], batch) for _ in range(job["repeats"])]}
    if job.get("elbo_epochs"):
        # Quality at equal epochs: a fresh model with the same seed, trained elbo_epochs epochs.
        keras.utils.set_random_seed(seed)
        if job["model"] == "harness":
            vae = harness_vae(batch, seed=seed)
            score = lambda: harness_elbo(vae, xt)
        else:
            parts = baseline_vae(seeded_sampling=job.get("seeded", False))
            vae = parts["vae"]
            score = lambda: baseline_elbo(parts, xt)
        vae.fit(x[:job["elbo_images"]], batch_size=batch, epochs=job["elbo_epochs"], verbose=0)
        measured["neg_elbo"] = score()
    return measured


def gan_job(job: dict[str, Any], x) -> dict[str, Any]:
    """GAN ms per step over job['repeats'] runs of job['steps'] steps, after job['warmup'] steps."""
    if job["model"] == "harness":
        run = harness_gan_runner(x, jit=job.get("jit", False), steps_per_call=job.get("spe", 1))
        d_check = None
    else:
        run, d_check = baseline_gan_runner(x)
    run(job["warmup"])
    return {"ms": [timed_ms(run, job["steps"]) for _ in range(job["repeats"])], "d_check": d_check}
