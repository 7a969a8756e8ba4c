"""The machine a run is on: its CPU, its accelerators, and what its arithmetic is good at.

The one place that asks which GPUs there are (`nvidia_gpus` without importing a
backend, `accelerators` through it) and records the environment a run's
manifest and report quote.

Mixed bfloat16 is a speed lever only where the hardware multiplies bfloat16
natively (AVX512-BF16 or AMX on x86 CPUs, NVIDIA GPUs from Ampere on). Elsewhere TensorFlow
emulates it, many times slower (benchmarks/RESULTS.md), so `precision = "auto"`
picks bfloat16 only where it pays.
"""
from __future__ import annotations

import functools
import os
import platform
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

PRECISIONS = ("float32", "mixed_bfloat16", "auto")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
BF16_GPU_CAPABILITY = (8, 0)  # Ampere: the first NVIDIA GPUs with bfloat16 tensor cores


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def nvidia_gpus() -> int:
    """GPUs the NVIDIA driver lists, counted without importing (and initialising) a backend."""
    try:
        listed = len(list(Path("/proc/driver/nvidia/gpus").iterdir()))
    except OSError:
        listed = 0
    # A container may see the device files without the driver's /proc entries.
    return listed or len([p for p in Path("/dev").glob("nvidia[0-9]*") if p.name[6:].isdigit()])


def backend_name() -> str:
    return os.environ.get("KERAS_BACKEND", "tensorflow")


@functools.lru_cache(maxsize=1)
def gpus() -> tuple[tuple[str, tuple[int, int] | None], ...]:
    """(name, compute capability) of each GPU Keras's backend can use, the name as 'cuda:0 NVIDIA H200'
    (asked lazily: importing a backend is slow)."""
    try:
        backend = backend_name()
        if backend == "jax":
            import jax

            return tuple((f"{d} {d.device_kind}", _capability(getattr(d, "compute_capability", None)))
                         for d in jax.devices() if d.platform != "cpu")
        if backend == "tensorflow":
            import tensorflow as tf

            found = []
            for d in tf.config.list_physical_devices("GPU"):
                details = tf.config.experimental.get_device_details(d)
                name = f"{d.name.removeprefix('/physical_device:')} {details.get('device_name', '')}".strip()
                found.append((name, _capability(details.get("compute_capability"))))
            return tuple(found)
        if backend == "torch":
            import torch

            return tuple((torch.cuda.get_device_name(i), tuple(torch.cuda.get_device_capability(i)))
                         for i in range(torch.cuda.device_count()))
    except Exception:  # a broken accelerator stack means: train on the CPU
        return ()
    return ()


def _capability(value: Any) -> tuple[int, int] | None:
    """A CUDA compute capability as (major, minor), from JAX's '8.0' or TensorFlow's (8, 0)."""
    try:
        major, minor = (value.split(".") if isinstance(value, str) else value)[:2]
        return int(major), int(minor)
    except (TypeError, ValueError):
        return None


def accelerators() -> tuple[str, ...]:
    return tuple(name for name, _ in gpus())


def has_gpu() -> bool:
    return bool(accelerators())


def compute_device() -> str:
    """Where this process's items compute: both backends place every op on their first GPU when they
    see one, else on the CPU."""
    names = accelerators()
    return names[0] if names else "CPU"


def native_bf16() -> bool:
    """Where the arithmetic runs (the GPU if there is one) multiplies bfloat16 in hardware. GPUs before
    Ampere (the T4 of a free hosted notebook is 7.5) have no bfloat16 tensor cores: an unknown
    capability counts as none, since float32 is never the slow choice."""
    if has_gpu():
        return any(cap is not None and cap >= BF16_GPU_CAPABILITY for _, cap in gpus())
    return any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS)


def resolve_precision(value: str, key: str) -> str:
    """A precision setting as the models take it: 'auto' becomes bfloat16 only where it is native."""
    if value not in PRECISIONS:
        raise ConfigError(f"setting '{key}' = {value!r} is not known: use one of {', '.join(PRECISIONS)}")
    if value == "auto":
        return "mixed_bfloat16" if native_bf16() else "float32"
    return value


def import_backend_quietly() -> None:
    """Import Keras and its backend with the C++ start-up notices kept off the terminal.

    TensorFlow writes its oneDNN notice and absl's pre-init warning straight to file
    descriptor 2, before TF_CPP_MIN_LOG_LEVEL applies: four lines a student cannot act on,
    printed by every command. They are shown after all if the import fails.
    """
    import sys
    import tempfile

    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import keras  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    # Every model's first predict traces a graph of its own; past five, TensorFlow's Python logger
    # calls that "retracing" and prints a paragraph per item. Here it is by design (each item builds
    # new models), so only errors from that logger reach the terminal.
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)


PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "jax", "numpy", "scipy", "matplotlib", "jinja2",
            "weasyprint", "gradio", "nbformat", "markdown-it-py", "pygments")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """What a run's manifest records of the machine and the libraries: the report's sentences about
    hardware and backend come from here, never from what we expect."""
    from importlib import metadata

    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return {
        "python": platform.python_version(), "platform": platform.platform(), "cpu": cpu_model(),
        "cpu_count": os.cpu_count(), "backend": backend_name(), "accelerators": list(accelerators()),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"), "native_bf16": native_bf16(),
        "packages": versions,
    }
