"""Grading and report harness for INF-395 Tarea 3, section 1 (VAE and GAN on MNIST).

Keras 3 runs on TensorFlow unless KERAS_BACKEND says otherwise; the default
has to be set before anything imports keras.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ INFO/WARNING chatter drowns the progress lines on a 2-core CPU.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from harness.errors import HarnessError  # noqa: E402

__all__ = ["HarnessError"]
__version__ = "0.1.0"
