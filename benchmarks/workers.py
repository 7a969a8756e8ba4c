"""Fresh worker processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import MARK, ROOT, USER_ENV, load_data, med, one_line, peak_rss_mib, progress, quiet_keras
from benchmarks.end_to_end import explorer_latency
from benchmarks.quality import baseline_elbo, harness_elbo
from benchmarks.sides import (baseline_gan_runner, baseline_vae, epochs_rate, fit_rate, harness_epochs, harness_gan_runner,
                              harness_vae, timed_ms)


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
            r = run_job(job, x, xt)
        except Exception as e:  # one lever failing (e.g. a dtype error) must not hide the others
            r = {"error": f"{type(e).__name__}: {one_line(str(e))}"}
        r["job"] = job
        r["wall_s"] = round(time.perf_counter() - t0, 1)
        results.append(r)
        progress(f"{spec.get('name', '')}: {job} -> {_short(r)}")
    versions = {"backend": backend, "keras": keras.__version__}
    if backend == "jax":
        import jax

        versions["jax"] = jax.__version__
    return {"results": results, "rss_mib": peak_rss_mib(), "versions": versions}


def _short(r: dict[str, Any]) -> str:
    parts = []
    if "ips" in r:
        parts.append(f"{med(r['ips']):.0f} img/s")
    if "ms" in r:
        parts.append(f"{med(r['ms']):.1f} ms/step")
    if r.get("neg_elbo") is not None:
        parts.append(f"-ELBO {r['neg_elbo']:.2f}")
    return ", ".join(parts)


def run_job(job: dict[str, Any], x, xt) -> dict[str, Any]:
    import keras

    kind, model = job["kind"], job["model"]
    if kind == "vae":
        batch, n, seed = job["batch"], job["images"], job.get("seed", 0)
        keras.utils.set_random_seed(seed)
        if model == "harness" and not job.get("jit") and job.get("spe", 1) == 1:
            # The harness as it trains: its in-graph epochs (experiments.vae.models.Epochs).
            import numpy as np

            loop = harness_epochs(batch, x[:n], xt[:batch], seed)
            loop._train(loop._calls(np.arange(n))[0])
            out: dict[str, Any] = {"ips": [epochs_rate(loop) for _ in range(job["repeats"])]}
            if job.get("elbo_epochs"):
                keras.utils.set_random_seed(seed)
                loop = harness_epochs(batch, x[:job["elbo_images"]], xt, seed)
                for _ in range(job["elbo_epochs"]):
                    loop.train_epoch()
                out["neg_elbo"] = harness_elbo(loop.vae, xt)
            return out
        if model == "harness":
            vae = harness_vae(batch, seed=seed, jit=job.get("jit", False), steps_per_execution=job.get("spe", 1))
        else:
            parts = baseline_vae(seeded_sampling=job.get("seeded", False), jit=job.get("jit", False))
            vae = parts["vae"]
        vae.fit(x[:3 * batch * job.get("spe", 1)], batch_size=batch, epochs=1, verbose=0)
        out = {"ips": [fit_rate(vae, x[:n], batch) for _ in range(job["repeats"])]}
        if job.get("elbo_epochs"):
            # Quality at equal epochs: a fresh model with the same seed, trained elbo_epochs epochs.
            keras.utils.set_random_seed(seed)
            if model == "harness":
                vae = harness_vae(batch, seed=seed)
                elbo = lambda: harness_elbo(vae, xt)
            else:
                parts = baseline_vae(seeded_sampling=job.get("seeded", False))
                vae = parts["vae"]
                elbo = lambda: baseline_elbo(parts, xt)
            vae.fit(x[:job["elbo_images"]], batch_size=batch, epochs=job["elbo_epochs"], verbose=0)
            out["neg_elbo"] = elbo()
        return out
    if kind == "gan":
        if model == "harness":
            run = harness_gan_runner(x, jit=job.get("jit", False), steps_per_call=job.get("spe", 1))
            check = None
        else:
            run, check = baseline_gan_runner(x)
        run(job["warmup"])
        return {"ms": [timed_ms(run, job["steps"]) for _ in range(job["repeats"])], "d_check": check}
    if kind == "explorer":
        return explorer_latency(job["root"], job["run"], x, xt)
    raise ValueError(f"unknown job kind {kind}")


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
            res = json.loads(line[len(MARK):])
            res["process_s"] = round(time.perf_counter() - t0, 1)
            return res
    tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
    return {"error": f"exit {proc.returncode}: {tail[-600:]}"}
