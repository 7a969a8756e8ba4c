"""1.1b: the decoder, a dense block back to the 14x14x64 map and three transposed convolutions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.train import architecture
from harness.registry import item
from harness.words import words

from experiments.vae import common
from experiments.vae import models
from experiments.vae.common import Check

W = words(__file__)

# The worked example: a 3x3 feature map and a 3x3 kernel, small integers so every cell reads.
FEATURE_MAP = np.arange(1, 10, dtype="float32").reshape(3, 3)
KERNEL = np.array([[0, 1, 0], [1, 2, 1], [0, 1, 0]], dtype="float32")

NOTES = W.table("notes")
TITLES = W.table("titles")
STRIDE_WORDS = W("stride_words")
CAPTIONS = W.table("captions")
CHECKS = W.table("checks")


def transposed_conv_by_hand(x: np.ndarray, kernel: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Each input pixel stamps value * kernel onto the output, stamps `stride` pixels apart;
    overlaps add. 'same' padding then keeps the first in*stride rows and columns (TensorFlow
    puts the odd padding pixel at the end). Returns (full 'valid' map, 'same' map)."""
    n, k = x.shape[0], kernel.shape[0]
    full = np.zeros(((n - 1) * stride + k,) * 2, dtype="float32")
    for i in range(n):
        for j in range(n):
            full[i * stride:i * stride + k, j * stride:j * stride + k] += x[i, j] * kernel
    return full, full[:n * stride, :n * stride]


def transposed_conv_by_keras(x: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    import keras

    layer = keras.layers.Conv2DTranspose(1, kernel.shape[0], strides=stride, padding="same", use_bias=False)
    layer.build((1, *x.shape, 1))
    layer.set_weights([kernel[:, :, None, None]])
    return np.asarray(layer(x[None, :, :, None]))[0, :, :, 0]


def stride_figure(full: np.ndarray, same: np.ndarray, lang: str):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n, stride = FEATURE_MAP.shape[0], 2
    dilated = np.zeros(((n - 1) * stride + 1,) * 2, dtype="float32")
    dilated[::stride, ::stride] = FEATURE_MAP
    w = STRIDE_WORDS[lang]
    panels = list(zip((FEATURE_MAP, KERNEL, dilated, full, same), w["panels"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 3.6), gridspec_kw={"width_ratios": [3, 3, 5, 7, 6]})
    for ax, (arr, title) in zip(axes, panels):
        ax.imshow(arr, cmap="Blues", vmin=0, vmax=max(arr.max(), 1))
        for (r, c), v in np.ndenumerate(arr):
            ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=8,
                    color="white" if v > 0.6 * arr.max() else "black")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[3].add_patch(Rectangle((-0.5, -0.5), same.shape[1], same.shape[0], fill=False, edgecolor="crimson", lw=2))
    fig.suptitle(w["title"], fontsize=11)
    fig.tight_layout()
    return fig


@dataclass
class DecoderStudy:
    model: Any                      # the decoder (a keras.Model)
    metrics: dict[str, Any]         # in report order
    layers: tuple[list, list]       # its layer table: (columns, rows)
    full: np.ndarray                # the worked example by hand: 'valid' map
    same: np.ndarray                # and 'same' map
    keras_same: np.ndarray          # the same example through Keras's Conv2DTranspose
    checks: dict[str, Check]


def study_decoder(model) -> DecoderStudy:
    """The decoder's size and layers, and the stride-2 transposed convolution worked by hand."""
    out_shape = tuple(model.output.shape[1:])
    upsample = model.get_layer("decoder_upsample")
    metrics = {"parameters": int(model.count_params()),
               "upsample_units": int(upsample.units),
               "upsample_share": upsample.count_params() / model.count_params()}
    layers = architecture.layer_table(model)
    full, same = transposed_conv_by_hand(FEATURE_MAP, KERNEL, stride=2)
    keras_same = transposed_conv_by_keras(FEATURE_MAP, KERNEL, stride=2)
    checks = {"output_is_an_image": Check(out_shape == (28, 28, 1), [28, 28, 1], list(out_shape)),
              "stride_example_matches_keras": Check(bool(np.allclose(same, keras_same)), same, keras_same)}
    return DecoderStudy(model, metrics, layers, full, same, keras_same, checks)


def record(ctx, result: DecoderStudy) -> None:
    common.record_metrics(ctx, result.metrics, notes=NOTES)
    ctx.table("decoder_layers", *result.layers, CAPTIONS["decoder_layers"], detail=True)
    ctx.figure("decoder_graph", lambda lang: architecture.graph_figure(result.model, TITLES["decoder_graph"], lang),
               CAPTIONS["decoder_graph"])
    ctx.figure("stride_example", lambda lang: stride_figure(result.full, result.same, lang), CAPTIONS["stride_example"])
    ctx.save_value("stride_example", {"input": FEATURE_MAP, "kernel": KERNEL, "same": result.keras_same})
    common.check_layers(ctx, "decoder", result.model)
    common.record_checks(ctx, result.checks, CHECKS)


@item("1.1b", "VAE decoder and transposed convolution", config=("vae",), uses_data=False)
def decoder(ctx):
    settings = common.settings(ctx)
    model = models.build_decoder(settings["latent_dim"], settings["filters"], settings["num_conv"],
                                 settings["intermediate_dim"])
    record(ctx, study_decoder(model))
