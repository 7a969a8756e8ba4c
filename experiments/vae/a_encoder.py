"""1.1a: the encoder, three convolutional blocks and one dense block onto a 2-D Gaussian."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.train import architecture
from harness.registry import item
from harness.words import words

from experiments.vae import common
from experiments.vae import models

W = words(__file__)

NOTES = W.table("notes")
FLATTEN_NOTE = W("flatten_note")
TITLES = W.table("titles")
CAPTIONS = W.table("captions")
CONV_3_CHECK = W("conv_3_check")


@dataclass
class EncoderStudy:
    model: Any                      # the encoder (a keras.Model)
    conv_3: tuple[int, ...]         # conv_3's output shape
    metrics: dict[str, Any]         # in report order
    layers: tuple[list, list]       # its layer table: (columns, rows)
    latent_dim: int


def study_encoder(model, latent_dim: int) -> EncoderStudy:
    """The encoder's size, where its parameters are, and its layers."""
    conv_3 = tuple(model.get_layer("conv_3").output.shape[1:])
    metrics = {
        "parameters": int(model.count_params()),
        "latent_dim": latent_dim,
        "flatten_units": int(model.get_layer("flat").output.shape[-1]),
        "handout_encoder_parameters": models.expected_parameters(**models.HANDOUT)["handout_encoder_z_mean_only"],
        "hidden_share": model.get_layer("hidden").count_params() / model.count_params(),
    }
    return EncoderStudy(model, conv_3, metrics, architecture.layer_table(model), latent_dim)


def record(ctx, result: EncoderStudy) -> None:
    notes = {**NOTES, "flatten_units": common.fill(FLATTEN_NOTE, shape=result.conv_3)}
    common.record_metrics(ctx, result.metrics, notes=notes)
    ctx.table("encoder_layers", *result.layers, CAPTIONS["encoder_layers"], detail=True)
    ctx.figure("encoder_graph", lambda lang: architecture.graph_figure(result.model, TITLES["encoder_graph"], lang),
               CAPTIONS["encoder_graph"])

    common.check_layers(ctx, "encoder", result.model)
    common.check_latent_dim(ctx, result.latent_dim)
    ctx.check("conv_3_halves_the_image", result.conv_3 == (14, 14, 2 * models.HANDOUT["filters"]), CONV_3_CHECK,
              expected=[14, 14, 64], observed=list(result.conv_3))


@item("1.1a", "VAE encoder", config=("vae",), uses_data=False)
def encoder(ctx):
    settings = common.settings(ctx)
    model = models.build_encoder(settings["latent_dim"], settings["filters"], settings["num_conv"],
                                 settings["intermediate_dim"])
    record(ctx, study_encoder(model, settings["latent_dim"]))
