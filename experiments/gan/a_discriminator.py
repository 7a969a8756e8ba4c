"""1.2a: the discriminator D, as the handout defines it."""
from __future__ import annotations

from experiments.gan.models import build_discriminator, expected_discriminator_params
from experiments.gan.spec import COMPARE_COLUMNS, compare, handout_discriminator
from harness.train.architecture import graph_figure, layer_table, parameter_counts
from harness.registry import item


@item("1.2a", "GAN discriminator D", config=("gan",), uses_data=False)
def discriminator(ctx):
    gan = ctx.settings("gan")
    d = build_discriminator(gan["depth"], gan["dropout"], precision=gan["precision"])
    counts = parameter_counts(d)
    expected = expected_discriminator_params(gan["depth"])
    convs = [l for l in d.layers if type(l).__name__ == "Conv2D"]
    dense = next(l for l in d.layers if l.name == "dense1024")

    ctx.metric("params_total", counts["total"], "parameters")
    ctx.metric("params_dense1024", int(dense.count_params()), "parameters",
               note={"es": "la capa densa de 1024 unidades", "en": "the 1024-unit dense layer"})
    ctx.metric("dense1024_share", dense.count_params() / counts["total"])
    ctx.metric("conv_layers", len(convs))
    ctx.metric("flatten_units", int(d.get_layer("flatten").output.shape[-1]))
    ctx.metric("dropout", float(gan["dropout"]))

    columns, rows = layer_table(d)
    ctx.table("layers", columns, rows, {"es": "D capa por capa (Keras 3)", "en": "D layer by layer (Keras 3)"})
    ctx.figure("graph", graph_figure(d, "Discriminator D"),
               {"es": "D: de la imagen 28×28×1 a la probabilidad de que sea real",
                "en": "D: from a 28×28×1 image to the probability that it is real"})

    spec_rows, same = compare(d, handout_discriminator(gan["depth"], gan["dropout"]))
    ctx.table("handout_vs_ours", COMPARE_COLUMNS, spec_rows,
              {"es": "Cada línea D.add(...) del enunciado frente a nuestra capa",
               "en": "Each D.add(...) line of the handout against our layer"})
    ctx.check("matches_handout_layer_by_layer", same,
              {"es": "tipos, filtros, kernels 5×5, strides 2, padding, activaciones y dropout como el enunciado",
               "en": "types, filters, 5×5 kernels, strides 2, padding, activations and dropout as in the handout"},
              expected=len(spec_rows), observed=sum(r[-1] == "✓" for r in spec_rows))
    ctx.check("parameter_count", counts["total"] == expected,
              {"es": "parámetros contados a mano desde las formas del enunciado",
               "en": "parameters counted by hand from the handout's shapes"},
              expected=expected, observed=counts["total"])
    out = d.layers[-1].output.shape
    ctx.check("output_is_one_probability", tuple(out[1:]) == (1,) and rows[-1][4] == "sigmoid",
              {"es": "una salida sigmoide por imagen", "en": "one sigmoid output per image"},
              expected=[1, "sigmoid"], observed=[list(out[1:]), rows[-1][4]])
