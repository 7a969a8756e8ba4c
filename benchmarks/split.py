"""Where a profile's minutes go, unit by unit, and what a whole run of it should cost on this machine.

`harness run` records each item's wall and CPU seconds, but an item mixes training with measuring
(the IWAE bound, sampling, the evaluator's scores). This measures each unit once, at a profile's own
settings, in one process:

- a VAE training batch (the handout's train step at vae.batch_size) and a validation batch;
- a GAN step (one D step and one AM step at gan.batch_size);
- an evaluator training batch (eval.classifier's CNN at eval.evaluator_batch_size);
- the test likelihood of one VAE (negative ELBO on n_test, IWAE with k = eval.iwae_k on vae.iwae_images);
- drawing eval.n_samples images from a VAE and from a GAN, their sampling rate timed;
- the evaluator's score of eval.n_samples images, split into its parts.

Weights do not change these costs, so the models are fresh (untrained). The estimate multiplies each
unit by how many times the profile's items run it (`counts`, read off the items' code). Each line
gives wall and CPU seconds: on a shared machine wall time grows with the other jobs, CPU time much less.

    python -m benchmarks.split --profile full --set gan_compare.seeds=1
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, float]:
    """Median-free mean (wall, CPU) seconds of fn() over `repeats` calls, after the caller's warm-up."""
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - w0) / repeats, (time.process_time() - c0) / repeats


def counts(cfg: dict[str, Any]) -> dict[str, int]:
    """How many times a whole run of these settings runs each unit (one process, --jobs 1)."""
    vae, cmp, gan_cmp, ev = cfg["vae"], cfg["vae_compare"], cfg["gan_compare"], cfg["eval"]
    n_train, n_test = cfg["data"]["n_train"], cfg["data"]["n_test"]
    dims = set(cmp["latent_dims"])
    vae_trainings = 4 + len(dims - {vae["latent_dim"]})              # 1.1d, e, h, j, and 1.1i's new dims
    seeds = int(gan_cmp.get("seeds", 1))
    gan_trainings = (1 + (seeds - 1) + len(gan_cmp["improve"]) * seeds   # 1.2d, 1.2f's seeds
                     + 2 + len(set(gan_cmp["noise_dims"]) - {cfg["gan"]["noise_dim"]}))  # 1.2g (and matched), 1.2h
    # Scores of n_samples images: each trained model once; 1.2d's generator again in 1.2f, 1.2g and 1.2h;
    # 1.2e's GAN and VAE; eval.classifier's four reference sets (n_test images each, as many at full).
    scores = vae_trainings + gan_trainings + 3 + 2 + 4
    return {
        "vae_batches": vae_trainings * vae["epochs"] * math.ceil(n_train / vae["batch_size"]),
        "vae_val_batches": vae_trainings * vae["epochs"] * math.ceil(n_test / vae["batch_size"]),
        "gan_steps": gan_trainings * cfg["gan"]["steps"],
        "evaluator_batches": ev["evaluator_epochs"] * math.ceil(n_train / ev["evaluator_batch_size"]),
        "likelihoods": vae_trainings,
        "vae_samples": vae_trainings + 2,        # 1.1i and 1.1e's base rows draw fresh samples too
        "gan_samples": gan_trainings + 2,
        "scores": scores,
        "vae_trainings": vae_trainings, "gan_trainings": gan_trainings,
    }


def measure(cfg: dict[str, Any], batches: int, gan_steps: int, evaluator_batches: int) -> dict[str, tuple[float, float]]:
    import keras
    import numpy as np

    from experiments.gan import training as gan_training
    from experiments.gan.models import GanSettings, build_gan
    from experiments.vae import models as vae_models
    from harness.context import Splits
    from harness.data import load_dataset
    from harness.train import evaluation as ev
    from harness.train.uncertainty import fid_bootstrap_se

    data = Splits.from_dataset(load_dataset(cfg["dataset"]), cfg["data"]["n_train"], cfg["data"]["n_test"])
    vae_cfg, gan_cfg, eval_cfg = cfg["vae"], cfg["gan"], cfg["eval"]
    n, out = eval_cfg["n_samples"], {}
    keras.utils.set_random_seed(0)

    # VAE: `batches` training batches and one validation pass, after a traced warm-up call.
    vae = vae_models.build_vae(vae_cfg, seed=0)
    b = vae_cfg["batch_size"]
    loop = vae_models.Epochs(vae, data.x_train[:b * batches], data.x_test[:b * 20], b, seed=0)
    loop.train_epoch()
    loop.validate()
    wall, cpu = timed(loop.train_epoch)
    out["vae_batch"] = (wall / batches, cpu / batches)
    wall, cpu = timed(loop.validate)
    out["vae_val_batch"] = (wall / 20, cpu / 20)

    x_test = data.x_test
    out["likelihood"] = timed(lambda: vae_models.test_likelihood(vae, x_test, k=eval_cfg["iwae_k"],
                                                                 iwae_images=vae_cfg["iwae_images"]))
    out["vae_sample"] = timed(lambda: vae_models.sample_images(vae, n, seed=1))

    # GAN: `gan_steps` steps after a traced warm-up.
    gan = build_gan(GanSettings.from_config(gan_cfg), seed=0)
    gan_training.train_gan(gan, data.x_train, 3, gan_cfg["batch_size"])
    wall, cpu = timed(lambda: gan_training.train_gan(gan, data.x_train, gan_steps, gan_cfg["batch_size"]))
    out["gan_step"] = (wall / gan_steps, cpu / gan_steps)
    out["gan_sample"] = timed(lambda: gan_training.sample_images(gan.generator, gan_cfg["noise"], gan_cfg["noise_dim"],
                                                                 n, seed=1))

    # The evaluator: training batches, then its reference (the test set embedded) and a score in parts.
    model = ev.build_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    eb = eval_cfg["evaluator_batch_size"]
    model.fit(data.x_train[:eb * 4], data.y_train[:eb * 4], batch_size=eb, epochs=1, verbose=0)
    wall, cpu = timed(lambda: model.fit(data.x_train[:eb * evaluator_batches], data.y_train[:eb * evaluator_batches],
                                        batch_size=eb, epochs=1, verbose=0))
    out["evaluator_batch"] = (wall / evaluator_batches, cpu / evaluator_batches)
    out["evaluator_reference"] = timed(lambda: ev.Evaluator(model, x_test))
    evaluator = ev.Evaluator(model, x_test)
    images = np.clip(np.random.default_rng(0).random((n, 28, 28, 1), dtype=np.float32), 0, 1)
    evaluator.score(images)                      # first score of this size: the real subset's k-NN radii
    out["score"] = timed(lambda: evaluator.score(images))
    features = evaluator.features(images)
    real, radii = evaluator._real_sample(n)
    ref = evaluator.reference
    out["score.embed"] = timed(lambda: evaluator.features(images))
    out["score.fid_bootstrap"] = timed(lambda: fid_bootstrap_se(features, ref.mu, ref.sigma))
    out["score.precision_recall"] = timed(lambda: ev.precision_recall(real, features, ev.PR_K, real_radii=radii))
    out["score.density_coverage"] = timed(lambda: ev.density_coverage(real, features, ev.DC_K,
                                                                      real_radii=evaluator._dc_radii(n)))
    return out


def estimate(unit: dict[str, tuple[float, float]], count: dict[str, int]) -> list[tuple[str, int, float, float]]:
    """(part, times, wall s, CPU s) of a whole run, from unit costs and counts."""
    rows = [
        ("VAE training", count["vae_batches"], *unit["vae_batch"]),
        ("VAE validation", count["vae_val_batches"], *unit["vae_val_batch"]),
        ("GAN training", count["gan_steps"], *unit["gan_step"]),
        ("evaluator training", count["evaluator_batches"], *unit["evaluator_batch"]),
        ("VAE likelihood (ELBO + IWAE)", count["likelihoods"], *unit["likelihood"]),
        ("VAE sampling", count["vae_samples"], *unit["vae_sample"]),
        ("GAN sampling", count["gan_samples"], *unit["gan_sample"]),
        ("evaluator scores", count["scores"], *unit["score"]),
    ]
    return [(name, times, times * w, times * c) for name, times, w, c in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.split", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--batches", type=int, default=60, help="VAE training batches timed")
    parser.add_argument("--gan-steps", type=int, default=40, help="GAN steps timed")
    parser.add_argument("--evaluator-batches", type=int, default=200, help="evaluator training batches timed")
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow and BLAS threads (0: their defaults, as `harness run`). 1 gives CPU "
                             "seconds that other jobs on the cores do not inflate (no thread waits for another)")
    opts = parser.parse_args(argv)
    if opts.threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(opts.threads)

    from benchmarks.common import peak_rss_mib
    import harness  # noqa: F401 (the harness's thread and oneDNN defaults, as `harness run` sets them)
    from harness.config import load_config
    from harness.errors import ConfigError

    try:
        cfg = load_config(opts.profile, opts.set).values
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if opts.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(opts.threads)
        tf.config.threading.set_inter_op_parallelism_threads(opts.threads)
    load = os.getloadavg()
    unit = measure(cfg, opts.batches, opts.gan_steps, opts.evaluator_batches)
    count = counts(cfg)
    rows = estimate(unit, count)
    print(f"profile {opts.profile} {' '.join(opts.set)}; threads {opts.threads or 'default'}; load average at start {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, "
          f"at end {'/'.join(f'{v:.1f}' for v in os.getloadavg())}")
    print("\n| unit | wall s | CPU s |\n|---|---|---|")
    for name, (w, c) in unit.items():
        print(f"| {name} | {w:.4f} | {c:.4f} |")
    print("\n| part | times | wall s | CPU s |\n|---|---|---|---|")
    for name, times, w, c in rows:
        print(f"| {name} | {times} | {w:.0f} | {c:.0f} |")
    total_w, total_c = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f"| **total** | | **{total_w:.0f}** ({total_w / 60:.1f} min) | **{total_c:.0f}** |")
    print(f"\nPeak RSS of this process (data at the profile's sizes, one model of each kind, every measure): "
          f"{peak_rss_mib():.0f} MiB")
    print("BENCH_SPLIT " + json.dumps({"unit": unit, "counts": count, "total_wall_s": total_w, "total_cpu_s": total_c}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
