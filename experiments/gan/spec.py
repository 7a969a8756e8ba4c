"""The handout's D and G written down as data, line by line, to check our models against.

Each entry is one `D.add(...)` / `G.add(...)` line of the handout: the layer
type and the hyper-parameters it sets. Filters follow `depth`; G's
`depth/2` is read as the integer it means.
"""
from __future__ import annotations

from typing import Any

from harness.train.architecture import activation_of, flat_layers
from harness.words import words

W = words(__file__)

LRELU = "leaky_relu(0.2)"


def handout_discriminator(depth: int, dropout: float) -> list[dict[str, Any]]:
    conv = lambda f: {"type": "Conv2D", "filters": f, "kernel": (5, 5), "strides": (2, 2), "padding": "same", "activation": LRELU}
    drop = {"type": "Dropout", "rate": dropout}
    return [conv(depth), drop, conv(2 * depth), drop, conv(4 * depth), drop, {"type": "Flatten"},
            {"type": "Dense", "units": 1024, "activation": LRELU}, {"type": "Dense", "units": 1, "activation": "sigmoid"}]


def handout_generator(depth: int, dim: int = 14) -> list[dict[str, Any]]:
    bn, relu = {"type": "BatchNormalization"}, {"type": "Activation", "activation": "relu"}
    tconv = lambda f, s: {"type": "Conv2DTranspose", "filters": f, "kernel": (3, 3), "strides": (s, s), "padding": "same", "activation": "linear"}
    return [{"type": "Dense", "units": 128, "activation": "linear"}, bn, relu,
            {"type": "Dense", "units": dim * dim * depth, "activation": "linear"}, bn, relu,
            {"type": "Reshape", "target_shape": (dim, dim, depth)},
            tconv(depth // 2, 2), bn, relu, tconv(depth // 2, 1), bn, relu, tconv(1, 1),
            {"type": "Activation", "activation": "sigmoid"}]


def describe(layer: Any) -> dict[str, Any]:
    """The same fields, read from a built Keras layer."""
    kind = type(layer).__name__
    out: dict[str, Any] = {"type": kind}
    if hasattr(layer, "filters"):
        out.update(filters=layer.filters, kernel=tuple(layer.kernel_size), strides=tuple(layer.strides), padding=layer.padding)
    if hasattr(layer, "units"):
        out["units"] = layer.units
    if kind == "Dropout":
        out["rate"] = layer.rate
    if kind == "Reshape":
        out["target_shape"] = tuple(layer.target_shape)
    if kind in ("Conv2D", "Conv2DTranspose", "Dense", "Activation"):
        out["activation"] = activation_of(layer)
    return out


def compare(model: Any, spec: list[dict[str, Any]]) -> tuple[list[list[Any]], bool]:
    """One row per handout line: expected, observed, match; and whether all match."""
    layers = flat_layers(model)
    rows, ok = [], len(layers) == len(spec)
    for i in range(max(len(layers), len(spec))):
        want = spec[i] if i < len(spec) else {}
        got = describe(layers[i]) if i < len(layers) else {}
        seen = {k: got.get(k) for k in want}
        match = bool(want) and seen == want
        ok = ok and match
        rows.append([i + 1, layers[i].name if i < len(layers) else "—", _fmt(want), _fmt(seen if want else got),
                     "✓" if match else "✗"])
    return rows, ok


def _fmt(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in fields.items()) or "—"


COMPARE_COLUMNS = W.list("compare_columns")
