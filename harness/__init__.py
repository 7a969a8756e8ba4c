"""Grading and report harness for INF-395 Tarea 3, section 1 (VAE and GAN on MNIST).

What an item author imports lives at this level: registry (@item), context (ctx), errors,
config (+ profiles.toml) and data; the CLI too. Below it, by responsibility: run/ (the
runner), train/ (the training toolkit), report/ (the submission), panel/ (`harness serve`);
templates/ is installed as harness.templates. Imports point from the faces (cli, report,
panel) to run, to train and these base modules; nothing here imports experiments.

Keras 3 runs on TensorFlow unless KERAS_BACKEND says otherwise; the default
has to be set before anything imports keras.
"""
import os

USER_BACKEND = os.environ.get("KERAS_BACKEND")  # None unless the user chose one
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ log drowns the progress lines. Level 3 also hides grappler's "remapper failed"
# line, printed once per GAN graph: with oneDNN on, TF cannot fuse Conv2D+LeakyReLU in D with its
# gradient and leaves that graph unfused, which computes the same. Real failures still reach
# Python as exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX512-VNNI, AVX512-BF16 or
# AMX; on AVX2 CPUs the same float32 convolutions are faster with them too (benchmarks/RESULTS.md).
# TF reads this once, when it is imported. Set it to 0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
if os.environ["KERAS_BACKEND"] == "jax":
    # XLA compiles every new model's step and predict, and each eager op at each new shape, and on a
    # GPU compiling is a large share of a run (benchmarks/RESULTS.md). A disk cache lets a re-run
    # (--force, the panel's live re-runs, the next session) load them instead; a run adds a few MB,
    # once: a re-run of the same code hits the entries it wrote.
    _cache = os.path.join(os.environ.get("HARNESS_DATA_DIR", os.path.expanduser("~/.cache/inf395-harness")), "jax")
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _cache)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

from harness.errors import HarnessError  # noqa: E402

__all__ = ["HarnessError"]
__version__ = "0.1.0"
