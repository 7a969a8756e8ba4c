"""Training throughput of the harness against the handout baseline: VAE training images per second
and GAN milliseconds per step, then the VAE's test −ELBO at equal epochs (the speed must not cost
quality).

Three sides, each in a long-lived process of its own (`python -m benchmarks.run --serve ROLE`,
driven one JSON request per line): the baseline as a student runs it (TensorFlow's defaults), the
harness as `harness run` runs it, and the baseline with oneDNN forced on, which shows how much of
the gain that one setting explains. The timed repeats alternate side by side."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from benchmarks.common import MARK, ROOT, USER_ENV, load_data, median, one_line, peak_rss_mib, progress, quiet_keras
from benchmarks.quality import baseline_elbo, harness_elbo
from benchmarks.sides import (baseline_gan_runner, baseline_vae, epochs_rate, fit_rate, harness_epochs, harness_gan_runner,
                              harness_precision, timed_ms, trace_epochs)


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
                reply = json.loads(line[len(MARK):])
                if isinstance(reply, dict) and "error" in reply:
                    raise RuntimeError(f"{self.role} side, {op}: {reply['error']}")
                return reply
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
    quiet_keras()
    state: dict[str, Any] = {"onednn": onednn_state()}  # before load_data imports the harness
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = SERVE_OPS[request["op"]](state, role, **request["args"])
        except Exception as e:  # said to the parent, which stops with the message
            reply = {"error": f"{type(e).__name__}: {one_line(str(e))}"}
        print(MARK + json.dumps(reply), flush=True)


def _op_data(state, role, n_train: int, n_test: int):
    state["x"], state["xt"] = load_data(n_train, n_test)
    return {"onednn": state["onednn"]}


def _op_vae_setup(state, role, batch: int, images: int, seed: int = 0):
    import keras

    keras.utils.set_random_seed(seed)
    x = state["x"][:images]
    if role.startswith("baseline"):
        vae = baseline_vae()["vae"]
        vae.fit(x[:3 * batch], batch_size=batch, epochs=1, verbose=0)  # traces the step
        state["vae_epoch"] = lambda: fit_rate(vae, x, batch)
    else:
        loop = harness_epochs(batch, x, state["xt"][:batch], seed)
        trace_epochs(loop)
        state["vae_epoch"] = lambda: epochs_rate(loop)
    return {}


def _op_vae_epoch(state, role):
    return state["vae_epoch"]()


def _op_gan_setup(state, role, warmup: int):
    if role.startswith("baseline"):
        run, d_check = baseline_gan_runner(state["x"])
    else:
        run, d_check = harness_gan_runner(state["x"]), None
    run(warmup)
    state["gan"] = run
    return {"d_check": d_check}


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
    comparison: dict[str, Any] = {
        "batch": opts.batch, "vae_images": opts.vae_images, "repeats": opts.repeats, "gan_steps": opts.gan_steps,
        "precision": {"vae": harness_precision("vae"), "gan": harness_precision("gan")},
        "onednn": {name: side("data", n_train=n_train, n_test=opts.quality_test)["onednn"]
                   for name, side in sides.items()}}

    # -- VAE: build and trace on every side, then alternate timed epochs.
    for side in sides.values():
        side("vae_setup", batch=opts.batch, images=opts.vae_images)
    ips: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(opts.repeats):
        for name, side in sides.items():
            ips[name].append(side("vae_epoch"))
    comparison["vae"] = {"baseline_ips": ips["baseline"], "harness_ips": ips["harness"],
                  "baseline_onednn_ips": ips["baseline_onednn"]}
    progress(f"VAE img/s: baseline {median(ips['baseline']):.0f}, harness {median(ips['harness']):.0f}, "
             f"baseline with oneDNN {median(ips['baseline_onednn']):.0f}")

    # -- GAN: the same, in steps.
    d_checks = {name: side("gan_setup", warmup=opts.gan_warmup)["d_check"] for name, side in sides.items()}
    ms: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(opts.repeats):
        for name, side in sides.items():
            ms[name].append(side("gan_steps", steps=opts.gan_steps))
    comparison["gan"] = {"baseline_ms": ms["baseline"], "harness_ms": ms["harness"],
                         "baseline_onednn_ms": ms["baseline_onednn"], "baseline_d_check": d_checks["baseline"]}
    progress(f"GAN ms/step: baseline {median(ms['baseline']):.1f}, harness {median(ms['harness']):.1f}, baseline with "
             f"oneDNN {median(ms['baseline_onednn']):.1f}; baseline D check {d_checks['baseline']}")

    # -- Quality at equal epochs: both trained on the same images for the same epochs, several seeds.
    if opts.quality_images > 0:
        quality: dict[str, Any] = {"n_train": opts.quality_images, "n_test": opts.quality_test,
                                   "epochs": opts.quality_epochs, "batch": opts.batch, "baseline": [], "harness": []}
        for seed in range(1, opts.quality_seeds + 1):
            for name in ("baseline", "harness"):
                quality[name].append(sides[name]("quality", images=opts.quality_images, epochs=opts.quality_epochs,
                                                 batch=opts.batch, seed=seed))
            progress(f"quality seed {seed}: baseline -ELBO {quality['baseline'][-1]:.2f}, "
                     f"harness {quality['harness'][-1]:.2f}")
        comparison["quality"] = quality
    comparison["rss_mib"] = max(side("rss") for side in sides.values())
    return comparison
