"""Grading and report harness for INF-395 Tarea 3, section 1 (VAE and GAN on MNIST).

Keras 3 runs on TensorFlow unless KERAS_BACKEND says otherwise; the default
has to be set before anything imports keras.
"""
import os

USER_BACKEND = os.environ.get("KERAS_BACKEND")  # None unless the user chose one
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ log drowns the progress lines. Level 3 also hides grappler's "remapper failed"
# line, printed once per GAN graph: with oneDNN on, TF cannot fuse Conv2D+LeakyReLU in D with its
# gradient, so it leaves that graph unfused; the step computes the same and, measured with
# LeakyReLU written as max(x, 0.2x) (which fuses cleanly), no slower. Real failures still reach
# Python as exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX512-VNNI, AVX512-BF16 or
# AMX. On an AVX2 CPU (the 2-core EPYC of benchmarks/RESULTS.md) the same float32 convolutions run
# about twice as fast with them; TF reads this once, when it is imported. Set it to 0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from harness.errors import HarnessError  # noqa: E402

__all__ = ["HarnessError"]
__version__ = "0.1.0"
