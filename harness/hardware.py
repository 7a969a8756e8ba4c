"""What this machine's arithmetic is good at, for the settings that depend on it.

Mixed bfloat16 is a speed lever only where the hardware multiplies bfloat16
natively (AVX512-BF16 or AMX on x86 CPUs, any CUDA GPU). Elsewhere TensorFlow
emulates it: on a 2-core AVX2 EPYC the VAE trained at 42 images/s in
mixed_bfloat16 against 660 in float32 (benchmarks/RESULTS.md). `precision =
"auto"` therefore picks bfloat16 only where it pays.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from harness.errors import ConfigError

PRECISIONS = ("float32", "mixed_bfloat16", "auto")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@functools.lru_cache(maxsize=1)
def has_gpu() -> bool:
    """A GPU the Keras backend can use (asked lazily: importing a backend is slow)."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    try:
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
    except Exception:  # a broken accelerator stack means: train on the CPU
        return False
    return False


def native_bf16() -> bool:
    return has_gpu() or any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS)


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
