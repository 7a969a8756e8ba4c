"""Grading and report harness for INF-395 Tarea 3, section 1 (VAE and GAN on MNIST).

What an item author imports lives at this level: registry (@item), context (ctx), errors,
config (+ profiles.toml) and data; the CLI too. Below it, by responsibility: run/ (the
runner), train/ (the training toolkit), report/ (the submission), panel/ (`harness serve`);
templates/ is installed as harness.templates. Imports point from the faces (cli, report,
panel) to run, to train and these base modules; nothing here imports experiments.

Keras reads KERAS_BACKEND once, when first imported, so the backend is chosen before anything
imports keras: the user's KERAS_BACKEND, else the one that sees a GPU (harness.backends).
"""
import os

from harness.backends import cpu_default, use  # imports nothing heavy

USER_BACKEND = os.environ.get("KERAS_BACKEND")  # None unless the user chose one
# Until a command picks the GPU's backend (harness.cli), the CPU's: TensorFlow if installed, else JAX.
use(USER_BACKEND or cpu_default())
# TensorFlow's C++ log drowns the progress lines. Level 3 also hides grappler's "remapper failed"
# line, printed once per GAN graph: with oneDNN on, TF cannot fuse Conv2D+LeakyReLU in D with its
# gradient and leaves that graph unfused, which computes the same. Real failures still reach
# Python as exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX512-VNNI, AVX512-BF16 or
# AMX; on AVX2 CPUs the same float32 convolutions are faster with them too (benchmarks/RESULTS.md).
# TF reads this once, when it is imported. Set it to 0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from harness.errors import HarnessError  # noqa: E402

__all__ = ["HarnessError"]
__version__ = "0.1.0"
