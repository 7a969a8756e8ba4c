"""Benchmarks (issue 9): the handout's own code (benchmarks/handout_baseline.py) against the
harness's training, measured in one run on one machine.

    python -m benchmarks [--quick] [--levers] [--end-to-end quick|full] [--cached-run R]

Default: VAE training images/s and GAN ms per step, baseline and harness alternated repeat by
repeat (so a burst of load from other processes hits both sides alike), medians and ratios;
then the VAE's test negative ELBO of both at equal epochs (quality must hold). --levers adds
the thread settings, VAE batch size, mixed bfloat16, XLA jit_compile, steps_per_execution and
the JAX backend, each measured in a fresh subprocess because each is process-wide state
(TF's thread pools are fixed at start-up, the dtype policy is read when layers are built).
Results are printed and appended to benchmarks/RESULTS.md (or --results PATH) as Markdown.

Nothing here asserts a timing: the numbers are reported, the targets compared and said.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/run.py` as well as `python -m benchmarks`
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
# The environment as the user gave it, before anything here imports the harness (which sets its own
# defaults in os.environ): the baseline's processes get exactly this.
USER_ENV = dict(os.environ)
MARK = "BENCH_RESULT "          # a worker's one line of JSON on stdout starts with this
TARGET_VAE_SPEEDUP = 1.5        # harness img/s / baseline img/s, at least
TARGET_GAN_RATIO = 0.5          # harness ms/step / baseline ms/step, at most
TARGET_QUICK_S = 12 * 60
TARGET_FULL_S = 100 * 60
TARGET_RSS_GIB = 4.0
ELBO_TOLERANCE = 1.0            # nats: the harness's test -ELBO within this of the baseline's
GAN_BATCH = 64                  # the handout's batch for 1.2d


# ============================================================ measurement primitives
def _quiet_keras() -> None:
    # The baseline keeps the handout's LeakyReLU(alpha=...), input_shape= and input_dim=, which
    # Keras 3 accepts with a deprecation warning per layer: noise in the benchmark's output.
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def load_data(n_train: int, n_test: int):
    from benchmarks.handout_baseline import load_mnist

    x, _, xt, _ = load_mnist(n_train, n_test)
    return x, xt


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


def med(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


# ============================================================ the main comparison (one process per side)
class Side:
    """One side of the comparison in a process of its own, kept alive across repeats.

    The sides alternate repeat by repeat (a burst of load from other processes hits both alike),
    yet each keeps its own process-wide settings: TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, at
    import, and the harness turns oneDNN on where TF leaves it off (harness/__init__.py), so the
    baseline must never share a process with the harness.
    """

    def __init__(self, role: str, env: dict[str, str]) -> None:
        self.role = role
        full_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.run", "--serve", role], cwd=ROOT, env=full_env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith(MARK):
                res = json.loads(line[len(MARK):])
                if isinstance(res, dict) and "error" in res:
                    raise RuntimeError(f"{self.role} side, {op}: {res['error']}")
                return res
        raise RuntimeError(f"{self.role} side exited ({self.proc.wait()}) during {op}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def serve(role: str) -> None:
    """A side's process: answers one JSON request per line on stdin with one MARK line on stdout."""
    if role.startswith("baseline"):
        import tensorflow  # noqa: F401  first, with the environment the user gave: TF's own defaults
    else:
        import harness  # noqa: F401  first: its environment defaults (oneDNN) apply as in `harness run`
    _quiet_keras()
    state: dict[str, Any] = {"onednn": onednn_state()}  # before load_data imports the harness
    for line in sys.stdin:
        req = json.loads(line)
        try:
            res = SERVE_OPS[req["op"]](state, role, **req["args"])
        except Exception as e:  # said to the parent, which stops with the message
            res = {"error": f"{type(e).__name__}: {_one_line(str(e))}"}
        print(MARK + json.dumps(res), flush=True)


def _op_data(state, role, n_train: int, n_test: int):
    state["x"], state["xt"] = load_data(n_train, n_test)
    return {"onednn": state["onednn"]}


def _op_vae_setup(state, role, batch: int, images: int, seed: int = 0):
    import keras
    import numpy as np

    keras.utils.set_random_seed(seed)
    x = state["x"][:images]
    if role.startswith("baseline"):
        vae = baseline_vae()["vae"]
        vae.fit(x[:3 * batch], batch_size=batch, epochs=1, verbose=0)  # traces the step
        state["vae_epoch"] = lambda: fit_rate(vae, x, batch)
    else:
        loop = harness_epochs(batch, x, state["xt"][:batch], seed)
        loop._train(loop._calls(np.arange(len(x)))[0])  # traces the step on a call of the timed shape
        state["vae_epoch"] = lambda: epochs_rate(loop)
    return {}


def _op_vae_epoch(state, role):
    return state["vae_epoch"]()


def _op_gan_setup(state, role, warmup: int):
    if role.startswith("baseline"):
        run, check = baseline_gan_runner(state["x"])
    else:
        run, check = harness_gan_runner(state["x"]), None
    run(warmup)
    state["gan"] = run
    return {"d_check": check}


def _op_gan_steps(state, role, steps: int):
    return timed_ms(state["gan"], steps)


def _op_quality(state, role, images: int, epochs: int, batch: int, seed: int):
    """A fresh model trained `epochs` epochs on `images` images with this seed, then its test -ELBO."""
    import keras

    x, xt = state["x"][:images], state["xt"]
    keras.utils.set_random_seed(seed)
    if role.startswith("baseline"):
        parts = baseline_vae()
        parts["vae"].fit(x, batch_size=batch, epochs=epochs, verbose=0)
        return baseline_elbo(parts, xt)
    loop = harness_epochs(batch, x, xt, seed)
    for _ in range(epochs):
        loop.train_epoch()
    return harness_elbo(loop.vae, xt)


def _op_rss(state, role):
    return peak_rss_mib()


SERVE_OPS = {"data": _op_data, "vae_setup": _op_vae_setup, "vae_epoch": _op_vae_epoch, "gan_setup": _op_gan_setup,
             "gan_steps": _op_gan_steps, "quality": _op_quality, "rss": _op_rss}


def onednn_state() -> str:
    """Whether TensorFlow's oneDNN kernels are on in this process, and why."""
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if value is not None and USER_ENV.get("TF_ENABLE_ONEDNN_OPTS") is None and "harness" in sys.modules:
        return f"{'on' if value == '1' else 'off'} (set by the harness)"
    if value is not None:
        return f"{'on' if value in ('1', 'true', 'True') else 'off'} (TF_ENABLE_ONEDNN_OPTS={value})"
    return f"{'on' if tf_onednn_default() else 'off'} (TensorFlow's default on this CPU)"


def tf_onednn_default() -> bool:
    """TensorFlow turns oneDNN on by itself only on CPUs with these features (tensorflow/core/util/util.cc)."""
    from harness.train.hardware import cpu_flags

    return bool(cpu_flags() & {"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8"})


def compare(opts: argparse.Namespace) -> dict[str, Any]:
    """VAE img/s and GAN ms/step: the baseline as a student runs it (TensorFlow's defaults), the
    harness as `harness run` runs it, and the baseline with oneDNN on (to show how much of the
    gain is that one setting), alternated repeat by repeat; then quality at equal epochs."""
    sides = {"baseline": Side("baseline", USER_ENV), "harness": Side("harness", USER_ENV),
             "baseline_onednn": Side("baseline-onednn", {**USER_ENV, "TF_ENABLE_ONEDNN_OPTS": "1"})}
    try:
        return _compare(opts, sides)
    finally:
        for side in sides.values():
            side.close()


def _compare(opts: argparse.Namespace, sides: dict[str, Side]) -> dict[str, Any]:
    n_train = max(opts.vae_images, opts.quality_images, 4 * opts.batch)
    out: dict[str, Any] = {"batch": opts.batch, "vae_images": opts.vae_images, "repeats": opts.repeats,
                           "gan_steps": opts.gan_steps,
                           "precision": {"vae": harness_precision("vae"), "gan": harness_precision("gan")},
                           "onednn": {k: side("data", n_train=n_train, n_test=opts.quality_test)["onednn"]
                                      for k, side in sides.items()}}

    # -- VAE: build and trace on every side, then alternate timed epochs.
    for side in sides.values():
        side("vae_setup", batch=opts.batch, images=opts.vae_images)
    ips: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(opts.repeats):
        for k, side in sides.items():
            ips[k].append(side("vae_epoch"))
    out["vae"] = {"baseline_ips": ips["baseline"], "harness_ips": ips["harness"],
                  "baseline_onednn_ips": ips["baseline_onednn"]}
    _progress(f"VAE img/s: baseline {med(ips['baseline']):.0f}, harness {med(ips['harness']):.0f}, "
              f"baseline with oneDNN {med(ips['baseline_onednn']):.0f}")

    # -- GAN: the same, in steps.
    checks = {k: side("gan_setup", warmup=opts.gan_warmup)["d_check"] for k, side in sides.items()}
    ms: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(opts.repeats):
        for k, side in sides.items():
            ms[k].append(side("gan_steps", steps=opts.gan_steps))
    out["gan"] = {"baseline_ms": ms["baseline"], "harness_ms": ms["harness"], "baseline_onednn_ms": ms["baseline_onednn"],
                  "baseline_d_check": checks["baseline"]}
    _progress(f"GAN ms/step: baseline {med(ms['baseline']):.1f}, harness {med(ms['harness']):.1f}, baseline with "
              f"oneDNN {med(ms['baseline_onednn']):.1f}; baseline D check {checks['baseline']}")

    # -- Quality at equal epochs: both trained on the same images for the same epochs, several seeds.
    if opts.quality_images > 0:
        q: dict[str, Any] = {"n_train": opts.quality_images, "n_test": opts.quality_test, "epochs": opts.quality_epochs,
                             "batch": opts.batch, "baseline": [], "harness": []}
        for seed in range(1, opts.quality_seeds + 1):
            for k in ("baseline", "harness"):
                q[k].append(sides[k]("quality", images=opts.quality_images, epochs=opts.quality_epochs,
                                     batch=opts.batch, seed=seed))
            _progress(f"quality seed {seed}: baseline -ELBO {q['baseline'][-1]:.2f}, harness {q['harness'][-1]:.2f}")
        out["quality"] = q
    out["rss_mib"] = max(side("rss") for side in sides.values())
    return out


def _progress(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ============================================================ workers (one process per lever)
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
    _quiet_keras()
    import keras

    x, xt = load_data(spec["n_train"], spec["n_test"])
    results = []
    for job in spec["jobs"]:
        t0 = time.perf_counter()
        try:
            r = run_job(job, x, xt)
        except Exception as e:  # one lever failing (e.g. a dtype error) must not hide the others
            r = {"error": f"{type(e).__name__}: {_one_line(str(e))}"}
        r["job"] = job
        r["wall_s"] = round(time.perf_counter() - t0, 1)
        results.append(r)
        _progress(f"{spec.get('name', '')}: {job} -> {_short(r)}")
    versions = {"backend": backend, "keras": keras.__version__}
    if backend == "jax":
        import jax

        versions["jax"] = jax.__version__
    return {"results": results, "rss_mib": peak_rss_mib(), "versions": versions}


def _one_line(text: str, limit: int = 300) -> str:
    """An exception's message without Keras's ANSI colour codes, on one line."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())[:limit]


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


# ============================================================ levers
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


# ============================================================ end to end, report, explorer
def end_to_end(profile: str, keep_root: Path) -> dict[str, Any]:
    """`harness run --profile P --report` from scratch in a fresh reports root, its wall time and peak RSS
    (a wrapper process reads the RSS of exactly that run from RUSAGE_CHILDREN)."""
    run_id = f"bench-{profile}"
    wrapper = ("import resource, subprocess, sys, time, json\n"
               "t0 = time.perf_counter()\n"
               "rc = subprocess.run(sys.argv[1:]).returncode\n"
               "print('E2E ' + json.dumps({'rc': rc, 'wall_s': time.perf_counter() - t0,\n"
               "      'rss_mib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n")
    cmd = [sys.executable, "-c", wrapper, sys.executable, "-m", "harness", "--root", str(keep_root), "run",
           "--profile", profile, "--run", run_id, "--report"]  # the README's main job: ends with the report
    _progress(f"end to end: {' '.join(cmd[3:])}")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    res: dict[str, Any] = {"profile": profile, "run": run_id, "root": str(keep_root)}
    for line in proc.stdout.splitlines():
        if line.startswith("E2E "):
            res.update(json.loads(line[4:]))
    if res.get("rc") != 0:
        res["error"] = " | ".join(proc.stderr.strip().splitlines()[-3:])[-600:]
    return res


def report_time(root: Path, run_id: str) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "harness", "--root", str(root), "report", "--run", run_id, "--format", "html,pdf"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    res = {"wall_s": time.perf_counter() - t0, "rc": proc.returncode}
    if proc.returncode:
        res["error"] = " | ".join(proc.stderr.strip().splitlines()[-3:])[-600:]
    return res


def explorer_latency(root: str, run_id: str, x, xt) -> dict[str, Any]:
    """The panel's explorers (harness/panel_explore.py), if present: load time, then the median
    latency of one update (decode a latent point / generate from a noise point), as a slider move."""
    import numpy as np

    try:
        from harness.panel.explore import GanExplorer, VaeExplorer
        from harness.registry import discover
        from harness.run.store import resolve_run
    except ImportError as e:
        return {"skipped": f"no explorer to measure ({e})"}
    discover()  # imports experiments/: the saved models' custom classes register on import, as in the panel
    store = resolve_run(root, run_id)
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for name, explorer, update in (
            ("vae_decode", VaeExplorer(store, lambda: (xt, np.zeros(len(xt), "int64"))),
             lambda e: e.decode(*rng.uniform(-2, 2, 2))),
            ("gan_from_noise", GanExplorer(store, lambda: "uniform"), lambda e: e.from_noise(*rng.uniform(-1, 1, 2)))):
        try:
            t0 = time.perf_counter()
            explorer.ensure()
            load_s = time.perf_counter() - t0
            update(explorer)
            ms = []
            for _ in range(30):
                t0 = time.perf_counter()
                update(explorer)
                ms.append(1000 * (time.perf_counter() - t0))
            out[name] = {"load_s": load_s, "ms": ms}
        except Exception as e:  # an item not run in that folder: say so, measure the rest
            out[name] = {"skipped": f"{type(e).__name__}: {_one_line(str(e), 200)}"}
    return out


# ============================================================ machine, table, RESULTS.md
def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        flags = next((l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")), "")
    except OSError:
        flags = ""
    info = {"cpu": model, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "bf16": "avx512_bf16" in flags, "amx": "amx_bf16" in flags, "python": platform.python_version(),
            "os": platform.platform(), "load_avg": os.getloadavg()}
    try:
        import keras
        import numpy
        import tensorflow as tf

        info.update(tensorflow=tf.__version__, keras=keras.__version__, numpy=numpy.__version__)
    except ImportError:
        pass
    return info


def fmt(v: float | None, nd: int = 1) -> str:
    return "—" if v is None or v != v else f"{v:,.{nd}f}"


def render(opts: argparse.Namespace, argv: list[str], m: dict[str, Any], main: dict[str, Any] | None,
           lev: dict[str, Any] | None, e2e: dict[str, Any] | None, load_end: tuple) -> str:
    L: list[str] = []
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    L.append(f"## {stamp} — `python -m benchmarks {' '.join(argv)}`".rstrip())
    L.append("")
    L.append(f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), AVX512-BF16 "
             f"{'yes' if m['bf16'] else 'no'}, AMX {'yes' if m['amx'] else 'no'}; {m['os']}. Python {m['python']}, "
             f"TensorFlow {m.get('tensorflow', '?')}, Keras {m.get('keras', '?')}, NumPy {m.get('numpy', '?')}. "
             f"Load average (1/5/15 min) at start {'/'.join(f'{v:.1f}' for v in m['load_avg'])}, at end "
             f"{'/'.join(f'{v:.1f}' for v in load_end)} (the machine is shared: timings are noisy, hence medians "
             f"of alternated repeats).")
    L.append("")
    if main:
        v, g = main["vae"], main["gan"]
        vb, vh = med(v["baseline_ips"]), med(v["harness_ips"])
        gb, gh = med(g["baseline_ms"]), med(g["harness_ms"])
        speed, ratio = vh / vb, gh / gb
        vo, go = med(v["baseline_onednn_ips"]), med(g["baseline_onednn_ms"])
        dnn = main["onednn"]
        L.append(f"Baseline against harness, {main['repeats']} alternated repeats each, each side in a process of "
                 f"its own: VAE {main['vae_images']} images per repeat at batch {main['batch']}; GAN "
                 f"{main['gan_steps']} steps per repeat at batch {GAN_BATCH} after {opts.gan_warmup} warm-up steps. "
                 f"The baseline runs as a student runs it, with TensorFlow's defaults (oneDNN "
                 f"{dnn['baseline']}); the harness as `harness run` runs it (oneDNN {dnn['harness']}; "
                 f"vae.precision = {main['precision']['vae']}, gan.precision = {main['precision']['gan']}). The "
                 f"last column is the baseline with oneDNN forced on ({dnn['baseline_onednn']}): how much of the "
                 f"gain that one setting explains.")
        L.append("")
        L.append("| measure | handout baseline | harness | ratio | target | met | baseline, oneDNN on |")
        L.append("|---|---|---|---|---|---|---|")
        L.append(f"| VAE training, images/s (median) | {fmt(vb, 0)} | {fmt(vh, 0)} | **VAE speedup {speed:.2f}×** "
                 f"| ≥ {TARGET_VAE_SPEEDUP}× | {'yes' if speed >= TARGET_VAE_SPEEDUP else 'no'} | {fmt(vo, 0)} "
                 f"(harness {vh / vo:.2f}× of it) |")
        L.append(f"| GAN step, ms (median) | {fmt(gb)} | {fmt(gh)} | **GAN step ratio {ratio:.2f}×** "
                 f"| ≤ {TARGET_GAN_RATIO}× | {'yes' if ratio <= TARGET_GAN_RATIO else 'no'} | {fmt(go)} "
                 f"(harness {gh / go:.2f}× of it) |")
        L.append(f"| VAE images/s, all repeats | {', '.join(fmt(x, 0) for x in v['baseline_ips'])} | "
                 f"{', '.join(fmt(x, 0) for x in v['harness_ips'])} | | | | "
                 f"{', '.join(fmt(x, 0) for x in v['baseline_onednn_ips'])} |")
        L.append(f"| GAN ms/step, all repeats | {', '.join(fmt(x) for x in g['baseline_ms'])} | "
                 f"{', '.join(fmt(x) for x in g['harness_ms'])} | | | | "
                 f"{', '.join(fmt(x) for x in g['baseline_onednn_ms'])} |")
        c = g["baseline_d_check"]
        L.append("")
        L.append(f"Baseline D check on the weights: D changes in the D step: **{c['d_changes_in_d_step']}**; "
                 f"D frozen in the AM step: **{c['d_frozen_in_am_step']}**; G changes in the AM step: "
                 f"**{c['g_changes_in_am_step']}**.")
        q = main.get("quality")
        if q:
            qb, qh = statistics.mean(q["baseline"]), statistics.mean(q["harness"])
            spread = max(q["baseline"] + q["harness"]) - min(q["baseline"] + q["harness"])
            L.append("")
            L.append(f"Quality at equal epochs ({q['epochs']} epoch(s) on {q['n_train']} training images, batch "
                     f"{q['batch']}, test −ELBO on {q['n_test']} test images, 5 samples of z each; seeds "
                     f"1..{len(q['baseline'])}): baseline {', '.join(fmt(x, 2) for x in q['baseline'])} "
                     f"(mean {qb:.2f}); harness {', '.join(fmt(x, 2) for x in q['harness'])} (mean {qh:.2f}); "
                     f"harness − baseline {qh - qb:+.2f} nats (target: no worse than the baseline by more than "
                     f"{ELBO_TOLERANCE} nat: {'yes' if qh - qb <= ELBO_TOLERANCE else 'no'}); spread over all "
                     f"runs {spread:.2f} nats (seed-to-seed noise at this budget).")
        L.append("")
        L.append(f"Peak RSS of the largest side's process (its models, the data): {main['rss_mib']:.0f} MiB.")
        L.append("")
    if lev:
        L.extend(render_levers(lev, opts))
    if e2e:
        L.extend(render_e2e(e2e))
    return "\n".join(L) + "\n"


def _job_row(label: str, r: dict[str, Any]) -> list[str]:
    ips = med(r["ips"]) if "ips" in r else None
    ms = med(r["ms"]) if "ms" in r else None
    return [label, fmt(ips, 0), fmt(ms), fmt(r.get("neg_elbo"), 2)]


def render_levers(lev: dict[str, Any], opts: argparse.Namespace) -> list[str]:
    L = [f"Levers (harness's fused steps unless said; each row a fresh process; {opts.lever_repeats} repeats, "
         f"VAE {opts.lever_images} images per repeat, GAN {opts.gan_steps} steps; −ELBO after "
         f"{opts.quality_epochs} epoch(s) on {opts.quality_images} images):", "",
         "| lever | setting | VAE img/s | GAN ms/step | test −ELBO | peak RSS MiB |", "|---|---|---|---|---|---|"]
    for key, res in lev.items():
        if "error" in res:
            L.append(f"| {key} | — | — | — | not measured: {res['error'].replace('|', '/')} | — |")
            continue
        rss = fmt(res.get("rss_mib"), 0)
        for r in res["results"]:
            job = r["job"]
            setting = {"batch": f"batch {job.get('batch')}", "steps_per_execution": f"{job['kind']}, {job.get('spe', 1)} per call",
                       }.get(key, "")
            if key.startswith("backend"):
                setting = f"baseline {job['kind']}, {res['versions'].get('backend')}" + (
                    f" {res['versions']['jax']}" if "jax" in res["versions"] else "")
            if not setting:
                setting = f"{job['kind']}" + (" jit" if job.get("jit") else "") + (
                    ", float32 heads" if key == "mixed_bfloat16" else "")
            if "error" in r:
                L.append(f"| {key} | {setting} | not measured: {r['error'].replace('|', '/')} | | | {rss} |")
                continue
            row = _job_row(key, r)
            L.append(f"| {row[0]} | {setting} | {row[1] if job['kind'] == 'vae' else ''} | "
                     f"{row[2] if job['kind'] == 'gan' else ''} | {row[3] if row[3] != '—' else ''} | {rss} |")
    L.append("")
    return L


def render_e2e(e2e: dict[str, Any]) -> list[str]:
    L = ["| end to end | wall | target | met | peak RSS |", "|---|---|---|---|---|"]
    for key, res in e2e.items():
        if key.startswith("run "):
            target = {"quick": TARGET_QUICK_S, "full": TARGET_FULL_S}.get(res["profile"])
            goal = f"≤ {target / 60:.0f} min" if target else "—"
            if "error" in res:
                L.append(f"| `harness run --profile {res['profile']}` | failed after "
                         f"{fmt(res.get('wall_s'), 0)} s: {res['error'].replace('|', '/')} | {goal} | no | — |")
                continue
            rss_gib = res["rss_mib"] / 1024
            met = ("yes" if res["wall_s"] <= target else "no") if target else "—"
            L.append(f"| `harness run --profile {res['profile']}` from scratch | {res['wall_s'] / 60:.1f} min "
                     f"({res['wall_s']:.0f} s) | {goal} | {met} "
                     f"| {rss_gib:.2f} GiB (≤ {TARGET_RSS_GIB} GiB: {'yes' if rss_gib <= TARGET_RSS_GIB else 'no'}) |")
        elif key == "report":
            L.append(f"| `harness report --format html,pdf` on the cached run | "
                     + (f"{res['wall_s']:.1f} s" if not res.get("error") else f"failed: {res['error'].replace('|', '/')}")
                     + " | | | |")
        elif key == "explorer":
            if "error" in res or "results" not in res:
                L.append(f"| explorer update | not measured: {res.get('error', '?')} | | | |")
                continue
            ex = res["results"][0]
            for name, v in ex.items():
                if name in ("job", "wall_s"):
                    continue
                if "skipped" in v:
                    L.append(f"| explorer {name} | skipped: {v['skipped'].replace('|', '/')} | | | |")
                else:
                    L.append(f"| explorer {name} (median of 30) | {med(v['ms']):.1f} ms (model load "
                             f"{v['load_s']:.1f} s) | | | |")
    L.append("")
    return L


# ============================================================ command line
def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes: a smoke check")
    p.add_argument("--steps", type=int, help="GAN steps per repeat, and VAE batches per repeat (overrides sizes)")
    p.add_argument("--repeats", type=int, help="timed repeats per side (default 5; 2 with --quick)")
    p.add_argument("--batch", type=int, default=100, help="VAE batch size, both sides (default 100: the harness's)")
    p.add_argument("--quality-images", type=int, help="training images for the equal-epoch −ELBO check "
                   "(default 10000; 0 skips it)")
    p.add_argument("--quality-epochs", type=int, default=1)
    p.add_argument("--quality-seeds", type=int, help="seeds per side for the −ELBO check (default 2)")
    p.add_argument("--levers", action="store_true", help="also measure the levers of issue 9")
    p.add_argument("--end-to-end", choices=["smoke", "quick", "full"], action="append", default=[],
                   help="wall time of `harness run --profile P` from scratch (repeatable)")
    p.add_argument("--cached-run", metavar="RUN", help="time the report and the explorer on a copy of this run "
                   "(under --root); default: the end-to-end run, when there is one")
    p.add_argument("--root", default=os.environ.get("HARNESS_REPORTS", str(ROOT / "reports")),
                   help="reports root holding --cached-run")
    p.add_argument("--jax-path", help="a folder holding jax/jaxlib to add to PYTHONPATH for the JAX worker")
    p.add_argument("--results", default=str(RESULTS), help="Markdown file to append to (default benchmarks/RESULTS.md)")
    p.add_argument("--e2e-root", metavar="DIR", help="run the end-to-end profiles in this reports root and keep "
                   "them (run id bench-PROFILE), e.g. to present them with harness serve; default: a temp folder")
    p.add_argument("--precision", choices=["float32", "mixed_bfloat16"],
                   help="train the harness side in this precision (default: what the full profile sets)")
    p.add_argument("--no-compare", action="store_true", help="skip the main baseline-versus-harness comparison")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--serve", help=argparse.SUPPRESS)
    o = p.parse_args(argv)
    o.repeats = o.repeats or (2 if o.quick else 5)
    o.quality_seeds = o.quality_seeds or (1 if o.quick else 2)
    if o.quality_images is None:
        o.quality_images = 10000
    o.quality_test = 2000 if o.quick else 10000
    if o.steps:
        o.gan_steps, o.vae_images = o.steps, o.steps * o.batch
    else:
        o.gan_steps = 5 if o.quick else 20
        o.vae_images = 1000 if o.quick else 6000
    o.gan_warmup = 2 if o.quick else 5
    o.lever_repeats = 2 if o.quick else 3
    o.lever_images = o.vae_images
    return o


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse(argv)
    if opts.worker:
        print(MARK + json.dumps(worker(json.loads(opts.worker))), flush=True)
        return 0
    if opts.serve:
        serve(opts.serve)
        return 0
    if opts.precision:
        os.environ["BENCH_PRECISION"] = opts.precision  # read by harness_precision, here and in workers
        USER_ENV["BENCH_PRECISION"] = opts.precision
    m = machine()
    _progress(f"{m['cpu']}, {m['cores']} cores, load {m['load_avg']}")
    main_res = None if opts.no_compare else compare(opts)
    lev = levers(opts) if opts.levers else None
    e2e: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix="inf395-bench-"))
    try:
        cached: tuple[Path, str] | None = None
        for profile in opts.end_to_end:
            root = Path(opts.e2e_root) if opts.e2e_root else tmp / f"e2e-{profile}"
            if opts.e2e_root and (root / f"bench-{profile}").exists():
                raise SystemExit(f"--e2e-root {root}: run 'bench-{profile}' already exists; remove it so the "
                                 f"end-to-end run starts from scratch")
            res = end_to_end(profile, root)
            e2e[f"run {profile}"] = res
            if "error" not in res:
                cached = (root, res["run"])
        if opts.cached_run:
            src = Path(opts.root) / opts.cached_run
            # A copy: the report writes into the run folder, and the user's run stays untouched.
            shutil.copytree(src, tmp / "cached" / opts.cached_run, symlinks=True)
            cached = (tmp / "cached", opts.cached_run)
        if cached:
            e2e["report"] = report_time(*cached)
            e2e["explorer"] = spawn("explorer", {"n_train": 1, "n_test": 2000, "jobs": [
                {"kind": "explorer", "model": "-", "root": str(cached[0]), "run": cached[1]}]})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = render(opts, argv, m, main_res, lev, e2e or None, os.getloadavg())
    children = peak_rss_mib(resource.RUSAGE_CHILDREN)
    text += f"Peak RSS: this process {peak_rss_mib():.0f} MiB; largest child process {children:.0f} MiB.\n"
    print(text)
    if opts.results:
        path = Path(opts.results)
        head = "" if path.exists() else "# Benchmark results (issue 9)\n\nAppended by `python -m benchmarks`; newest last.\n\n"
        with path.open("a", encoding="utf-8") as f:
            f.write(head + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
