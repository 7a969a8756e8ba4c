"""Which Keras backend trains: the user's KERAS_BACKEND, else the one that sees an NVIDIA GPU, else the CPU's.

Keras reads KERAS_BACKEND once, when it is first imported, so the choice is made before that.
Knowing whether TensorFlow or JAX sees a GPU means importing it and starting its CUDA runtime:
that happens in a child process (a broken CUDA stack crashes the child, not the run, and the
parent, which may start workers, holds no GPU memory), and only on a machine whose NVIDIA driver
lists a GPU, so a CPU machine never pays for it. This module imports nothing heavy: the package's
__init__ uses it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec

TRAINING_BACKENDS = ("tensorflow", "jax")
# With a GPU, JAX first: its path is the one measured end to end on a GPU (benchmarks/RESULTS.md).
GPU_ORDER = ("jax", "tensorflow")
# Without one, TensorFlow first, as before: the CPU path the benchmarks measure (fused GAN step, oneDNN).
CPU_ORDER = ("tensorflow", "jax")
PROBE_TIMEOUT_S = 180  # importing TensorFlow and loading CUDA on a cold disk can take a minute
# Each probe prints one line per GPU the backend sees: the model's name.
PROBES = {
    "jax": "import jax\nfor d in jax.devices():\n    if d.platform == 'gpu': print(d.device_kind)",
    "tensorflow": "import tensorflow as tf\nfor g in tf.config.list_physical_devices('GPU'):\n"
                  "    print(tf.config.experimental.get_device_details(g).get('device_name', g.name))",
}
# Quiet logs, and a probe that grabs no GPU memory it does not use.
PROBE_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def installed() -> list[str]:
    """The training backends importable here (found, not imported)."""
    return [name for name in TRAINING_BACKENDS if find_spec(name) is not None]


def cpu_default() -> str:
    """The backend when no GPU is used: the first installed in CPU_ORDER ('tensorflow' if none is,
    which `require_installed` then reports)."""
    present = installed()
    return next((name for name in CPU_ORDER if name in present), "tensorflow")


def gpu_names(backend: str) -> list[str]:
    """The GPUs `backend` sees, by model name; none if it cannot start (no CUDA build, a broken driver)."""
    try:
        done = subprocess.run([sys.executable, "-c", PROBES[backend]], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S, env={**os.environ, **PROBE_ENV})
    except (subprocess.TimeoutExpired, OSError):
        return []
    if done.returncode != 0:
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def choose(nvidia_gpus: int) -> tuple[str, list[str]]:
    """(backend, the GPUs it sees): the first backend in GPU_ORDER that sees a GPU, else the CPU's."""
    if nvidia_gpus:
        present = installed()
        for name in GPU_ORDER:
            if name in present:
                gpus = gpu_names(name)
                if gpus:
                    return name, gpus
    return cpu_default(), []


def use(name: str) -> None:
    """Make `name` Keras's backend (before Keras is imported)."""
    os.environ["KERAS_BACKEND"] = name
    if name == "jax":
        # XLA compiles every new model's step and predict, and each eager op at each new shape, and on
        # a GPU compiling is a large share of a run (benchmarks/RESULTS.md). A disk cache lets a re-run
        # (--force, the panel's live re-runs, the next session) load them instead; a run adds a few MB,
        # once: a re-run of the same code hits the entries it wrote.
        data = os.environ.get("HARNESS_DATA_DIR", os.path.expanduser("~/.cache/inf395-harness"))
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(data, "jax"))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


def missing_message(name: str, chosen_by_user: bool) -> str | None:
    """One line saying what to install when the backend Keras will import is not there; None if it is."""
    if name not in TRAINING_BACKENDS or name in installed():
        return None
    if chosen_by_user:
        return f"KERAS_BACKEND={name}, but {name} is not installed: install it, or unset KERAS_BACKEND to use what is here"
    return ("no Keras backend is installed (neither TensorFlow nor JAX): on a machine without one, "
            "install the CPU stack with pip install -e '.[cpu]' (README, 'Install')")
