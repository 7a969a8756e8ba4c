"""The training steps run under Keras's JAX backend too (a GPU machine has JAX, not TensorFlow).

Keras picks its backend once per process, so the JAX side runs in a subprocess; on this CPU it
proves the code path, not the speed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

JAX_SCRIPT = r"""
import json
import numpy as np
import keras
from harness.config import load_config
from harness.train.steps import run_once
from keras import ops
from experiments.gan.c_adversarial import diff, snapshot
from experiments.gan.models import GanSettings, build_gan
from experiments.gan.training import train_gan
from experiments.vae import models

out = {"backend": keras.backend.backend()}
rng = np.random.default_rng(0)
x = rng.uniform(0, 1, (200, 28, 28, 1)).astype("float32")

s = {**load_config("smoke").section("vae"), "intermediate_dim": 8, "filters": 4, "batch_size": 50}
vae = models.build_vae(s, seed=1)
w0 = [np.array(w) for w in vae.get_weights()]
loop = models.Epochs(vae, x, x[:30], batch_size=50, seed=3, chunk=3)
first = loop.train_epoch()
second = loop.train_epoch()
out["vae"] = {"first": first["loss"], "second": second["loss"], "val": loop.validate()["val_loss"],
              "iterations": int(vae.optimizer.iterations.numpy()),
              "moved": sum(not np.array_equal(a, np.array(b)) for a, b in zip(w0, vae.get_weights()))}

gan = build_gan(GanSettings(depth=8), seed=1)
d0, g0 = snapshot(gan.discriminator), snapshot(gan.generator)
run_once(lambda: ops.stack(gan.d_step(x[:8])), gan.state())
out["d_step"] = {"D": diff(d0, gan.discriminator)["changed"], "G": diff(g0, gan.generator)["changed"]}
d1, g1 = snapshot(gan.discriminator), snapshot(gan.generator)
run_once(lambda: ops.stack(gan.g_step(8)), gan.state())
g = diff(g1, gan.generator)
out["g_step"] = {"D": diff(d1, gan.discriminator)["changed"], "G": g["changed"], "G_n": g["n"]}
history = train_gan(gan, x, steps=7, batch_size=8, k=3)  # calls of 3, 3 and 1 steps
out["gan"] = {"steps": history.steps, "finite": bool(np.isfinite(history.values).all()),
              "d_iterations": int(gan.d_optimizer.iterations.numpy()),
              "g_iterations": int(gan.g_optimizer.iterations.numpy())}
print("RESULT " + json.dumps(out))
"""


def test_vae_and_gan_train_under_the_jax_backend():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", JAX_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[0][len("RESULT "):])
    assert out["backend"] == "jax"

    vae = out["vae"]
    assert vae["iterations"] == 8  # 2 epochs of 200 images in batches of 50
    assert vae["moved"] > 0
    assert vae["second"] < vae["first"] and all(abs(v) < 1e4 for v in (vae["first"], vae["second"], vae["val"]))

    # The freezing proof holds under JAX: each step changes its own network only.
    assert out["d_step"]["D"] > 0 and out["d_step"]["G"] == 0
    assert out["g_step"]["D"] == 0 and out["g_step"]["G"] == out["g_step"]["G_n"]

    gan = out["gan"]
    assert gan == {"steps": 7, "finite": True, "d_iterations": 8, "g_iterations": 8}  # 7 + the two proof steps


def test_vae_items_run_end_to_end_under_the_jax_backend(tmp_path):
    """`harness run 1.1d` under JAX, with what it needs (1.1e, the evaluator): the items call
    no TensorFlow-only Keras path (Model.evaluate with an overridden test_step broke 1.1d once)."""
    pytest.importorskip("jax")
    from tests.conftest import run_cli

    proc = run_cli("--root", str(tmp_path), "run", "1.1d", "--profile", "smoke", "--set", "data.n_train=600",
                   "--set", "data.n_test=300", timeout=900,
                   env={"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "xla")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((tmp_path / "smoke" / "manifest.json").read_text())
    assert manifest["environment"]["backend"] == "jax"
    statuses = {item: entry["status"] for item, entry in manifest["items"].items()}
    assert "1.1d" in statuses and set(statuses.values()) == {"ok"}, statuses
    result = json.loads((tmp_path / "smoke" / "items" / "1.1d" / "result.json").read_text())
    own = result["metrics"]["mse_own_reconstruction"]["value"]
    assert 0 < own < 784  # summed squared error per image over 784 pixels in [0, 1]
    assert len(list((tmp_path / "xla").iterdir())) > 10  # the compilations went to the disk cache


@pytest.mark.parametrize("backend, expected", [("jax", "cache/jax"), ("tensorflow", "None")])
def test_jax_compilations_are_cached_on_disk_under_the_jax_backend_only(tmp_path, backend, expected):
    env = {**os.environ, "KERAS_BACKEND": backend, "HARNESS_DATA_DIR": str(tmp_path / "cache")}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    code = "import os, harness; print(os.environ.get('JAX_COMPILATION_CACHE_DIR'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True).stdout
    assert out.strip() == (str(tmp_path / expected) if backend == "jax" else expected)


def test_a_users_jax_cache_setting_wins(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "mine")}
    code = "import os, harness; print(os.environ['JAX_COMPILATION_CACHE_DIR'])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True).stdout
    assert out.strip() == str(tmp_path / "mine")
