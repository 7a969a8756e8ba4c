"""1.1a: the encoder, three convolutional blocks and one dense block onto a 2-D Gaussian."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.train import architecture
from harness.registry import item

from experiments.vae import common
from experiments.vae import models

NOTES = {
    "parameters": {"es": "encoder con sus dos cabezas, z_mean y z_log_var",
                   "en": "encoder with both heads, z_mean and z_log_var"},
    "handout_encoder_parameters": {"es": "el Model(x, z_mean) del enunciado, sin la cabeza z_log_var",
                                   "en": "the handout's Model(x, z_mean), without the z_log_var head"},
    "hidden_share": {"es": "fracción de los parámetros en la capa densa 'hidden'",
                     "en": "share of parameters in the dense 'hidden' layer"},
}
FLATTEN_NOTE = {"es": "salida de conv_3 {shape} aplanada", "en": "conv_3's {shape} output, flattened"}
TITLES = {"encoder_graph": {"es": "Codificador del VAE (1.1a)", "en": "VAE encoder (1.1a)"}}
CAPTIONS = {
    "encoder_layers": {
        "es": "Encoder capa por capa: de la imagen 28×28×1 a la media y el log-varianza de q(z|x).",
        "en": "Encoder layer by layer: from the 28×28×1 image to the mean and log-variance of q(z|x)."},
    "encoder_graph": {
        "es": "Grafo del encoder: dos convoluciones 'same', una con stride 2 (28→14), una densa y dos cabezas lineales.",
        "en": "Encoder graph: two 'same' convolutions, one with stride 2 (28→14), a dense layer and two linear heads."},
}
CONV_3_CHECK = {"es": "conv_3 (stride 2, padding 'same') deja un mapa de 14×14×64.",
                "en": "conv_3 (stride 2, 'same' padding) leaves a 14×14×64 map."}


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
