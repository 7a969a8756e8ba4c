"""One way to time a generative model, used by every item, table and slide that quotes a speed.

Sampling speed: the model's forward pass on one fixed batch of SAMPLE_BATCH noise
vectors, called WARMUP_CALLS times first (the first call traces and compiles the
graph, which is a one-off cost, not the model's speed), then TIMED_CALLS times;
the speed is SAMPLE_BATCH divided by the median call. The median keeps one call
slowed by another process on the same cores from setting the figure. Each model
is timed once, by the item that trains it, and every other item quotes that
number (`ctx.input(...).metrics["sample_ips"]`).

Training time is reported the same way: the steady state (per epoch, per step),
with the first epoch or call, which also compiles, set apart as the warm-up.

What each model must compute per image is counted from its layers
(`forward_flops`): the multiply-adds of its dense and convolutional layers,
the part that dominates the cost; activations and normalisations are left out.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from statistics import median
from typing import Any

import numpy as np

SAMPLE_BATCH = 1000     # noise vectors per timed call, for every model
WARMUP_CALLS = 1        # untimed: it traces and compiles the graph
TIMED_CALLS = 5         # the speed is the median of these


@dataclass(frozen=True)
class SamplingSpeed:
    images_per_s: float     # SAMPLE_BATCH / median call time
    batch: int
    call_s: tuple[float, ...]

    @property
    def median_call_s(self) -> float:
        return float(median(self.call_s))


def fixed_batch(z: np.ndarray, batch: int = SAMPLE_BATCH) -> np.ndarray:
    """Exactly `batch` noise vectors: the first ones of z, repeated when z has fewer (the
    stated batch size is the same for every model whatever eval.n_samples is)."""
    z = np.asarray(z)
    if len(z) == 0:
        raise ValueError("cannot time a model on an empty noise batch")
    reps = -(-batch // len(z))
    return np.concatenate([z] * reps)[:batch] if reps > 1 else z[:batch]


def sampling_speed(model: Any, z: np.ndarray, batch: int = SAMPLE_BATCH, calls: int = TIMED_CALLS) -> SamplingSpeed:
    """Images per second of `model` (a Keras model from noise to images) on one batch, after warm-up."""
    if calls < 5:
        raise ValueError(f"a sampling speed is the median of at least 5 timed calls; got {calls}")
    zb = fixed_batch(z, batch)
    for _ in range(WARMUP_CALLS):
        np.asarray(model.predict_on_batch(zb))
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        np.asarray(model.predict_on_batch(zb))   # to the host: the call has finished
        times.append(time.perf_counter() - t0)
    return SamplingSpeed(batch / float(median(times)), batch, tuple(times))


@dataclass(frozen=True)
class TrainingTime:
    """Wall time of a training split into its one-off warm-up and its steady state."""
    warmup_s: float         # the first epoch or call minus one steady unit: compilation and tracing
    per_unit_s: float       # median seconds per epoch (VAE) or per step (GAN) after the first
    units: int              # epochs or steps in all

    @property
    def steady_s(self) -> float:
        """What the whole training costs without the warm-up."""
        return self.per_unit_s * self.units


def split_training(first_s: float, later_s: list[float] | float, units: int, first_units: int = 1) -> TrainingTime:
    """first_s: the first call, which also compiles; later_s: each later unit's seconds, or their
    total; units: all units, first_units of them inside first_s."""
    if isinstance(later_s, (int, float)):
        later_units = units - first_units
        per_unit = float(later_s) / later_units if later_units > 0 else float(first_s) / max(first_units, 1)
    else:
        per_unit = float(median(later_s)) if later_s else float(first_s) / max(first_units, 1)
    return TrainingTime(max(0.0, float(first_s) - per_unit * first_units), per_unit, units)


# ---------------------------------------------------------------- what a sample costs
def _macs(layer: Any) -> int:
    kind = type(layer).__name__
    if hasattr(layer, "layers"):   # a model inside the model
        return sum(_macs(sub) for sub in getattr(layer, "layers", []))
    if kind == "Dense":
        shape = tuple(layer.input.shape[1:])
        return math.prod(shape[:-1]) * shape[-1] * layer.units
    if kind == "Conv2D":
        h, w, c_out = layer.output.shape[1:]
        return h * w * c_out * math.prod(layer.kernel_size) * layer.input.shape[-1]
    if kind == "Conv2DTranspose":
        h, w, c_in = layer.input.shape[1:]
        return h * w * c_in * math.prod(layer.kernel_size) * layer.filters
    return 0


def forward_flops(model: Any) -> int:
    """Floating-point operations of one image's forward pass through the dense and convolutional
    layers: 2 per multiply-add."""
    return 2 * sum(_macs(layer) for layer in model.layers)
