"""1.1a: the encoder, three convolutional blocks and one dense block onto a 2-D Gaussian."""
from __future__ import annotations

from harness.train import architecture
from harness.registry import item

from experiments.vae import common
from experiments.vae import models


@item("1.1a", "VAE encoder", config=("vae",), uses_data=False)
def encoder(ctx):
    s = common.settings(ctx)
    enc = models.build_encoder(s["latent_dim"], s["filters"], s["num_conv"], s["intermediate_dim"])
    counts = models.expected_parameters(**models.HANDOUT)
    conv_3 = enc.get_layer("conv_3").output.shape[1:]

    ctx.metric("parameters", int(enc.count_params()), note={
        "es": "encoder con sus dos cabezas, z_mean y z_log_var", "en": "encoder with both heads, z_mean and z_log_var"})
    ctx.metric("latent_dim", s["latent_dim"])
    ctx.metric("flatten_units", int(enc.get_layer("flat").output.shape[-1]), note={
        "es": f"salida de conv_3 {tuple(conv_3)} aplanada", "en": f"conv_3's {tuple(conv_3)} output, flattened"})
    ctx.metric("handout_encoder_parameters", counts["handout_encoder_z_mean_only"], note={
        "es": "el Model(x, z_mean) del enunciado, sin la cabeza z_log_var",
        "en": "the handout's Model(x, z_mean), without the z_log_var head"})
    ctx.metric("hidden_share", enc.get_layer("hidden").count_params() / enc.count_params(), note={
        "es": "fracción de los parámetros en la capa densa 'hidden'", "en": "share of parameters in the dense 'hidden' layer"})

    columns, rows = architecture.layer_table(enc)
    ctx.table("encoder_layers", columns, rows, {
        "es": "Encoder capa por capa: de la imagen 28×28×1 a la media y el log-varianza de q(z|x).",
        "en": "Encoder layer by layer: from the 28×28×1 image to the mean and log-variance of q(z|x)."})
    ctx.figure("encoder_graph", architecture.graph_figure(enc, "VAE encoder (1.1a)"), {
        "es": "Grafo del encoder: dos convoluciones 'same', una con stride 2 (28→14), una densa y dos cabezas lineales.",
        "en": "Encoder graph: two 'same' convolutions, one with stride 2 (28→14), a dense layer and two linear heads."})

    common.check_layers(ctx, "encoder", enc)
    common.check_latent_dim(ctx, s["latent_dim"])
    ctx.check("conv_3_halves_the_image", tuple(conv_3) == (14, 14, 2 * models.HANDOUT["filters"]),
              {"es": "conv_3 (stride 2, padding 'same') deja un mapa de 14×14×64.",
               "en": "conv_3 (stride 2, 'same' padding) leaves a 14×14×64 map."},
              expected=[14, 14, 64], observed=list(conv_3))
