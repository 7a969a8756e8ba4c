"""1.2b: the generator G, as the handout defines it (with an integer filter count)."""
from __future__ import annotations

import numpy as np

from experiments.gan.figures import image_grid
from experiments.gan.models import build_generator, expected_generator_params, sample_noise
from experiments.gan.spec import COMPARE_COLUMNS, compare, handout_generator
from harness.train.architecture import graph_figure, layer_table, parameter_counts
from harness.registry import item


@item("1.2b", "GAN generator G", config=("gan",), uses_data=False)
def generator(ctx):
    gan = ctx.settings("gan")
    g = build_generator(gan["noise_dim"], gan["depth"], precision=gan["precision"])
    counts = parameter_counts(g)
    expected = expected_generator_params(gan["noise_dim"], gan["depth"])
    wide = g.get_layer(f"dense14x14x{gan['depth']}")

    ctx.metric("params_total", counts["total"], "parameters")
    ctx.metric("params_trainable", counts["trainable"], "parameters")
    ctx.metric("params_non_trainable", counts["non_trainable"], "parameters",
               note={"es": "medias y varianzas móviles de BatchNormalization", "en": "BatchNormalization's moving means and variances"})
    ctx.metric("params_dense_wide", int(wide.count_params()), "parameters")
    ctx.metric("noise_dim", int(gan["noise_dim"]))
    ctx.metric("deconv_filters", int(g.get_layer("deconv1").filters),
               note={"es": "depth // 2: el enunciado escribe depth/2, un float", "en": "depth // 2: the handout writes depth/2, a float"})

    columns, rows = layer_table(g)
    ctx.table("layers", columns, rows, {"es": "G capa por capa (Keras 3)", "en": "G layer by layer (Keras 3)"})
    ctx.figure("graph", graph_figure(g, "Generator G"),
               {"es": "G: del ruido z a una imagen 28×28×1 con valores en (0, 1)",
                "en": "G: from the noise z to a 28×28×1 image with values in (0, 1)"})

    spec_rows, same = compare(g, handout_generator(gan["depth"]))
    ctx.table("handout_vs_ours", COMPARE_COLUMNS, spec_rows,
              {"es": "Cada línea G.add(...) del enunciado frente a nuestra capa",
               "en": "Each G.add(...) line of the handout against our layer"})
    ctx.check("matches_handout_layer_by_layer", same,
              {"es": "tipos, unidades, filtros (depth // 2 = 32), kernels 3×3, strides y activaciones como el enunciado",
               "en": "types, units, filters (depth // 2 = 32), 3×3 kernels, strides and activations as in the handout"},
              expected=len(spec_rows), observed=sum(r[-1] == "✓" for r in spec_rows))
    ctx.check("parameter_count", counts == expected,
              {"es": "parámetros entrenables y no entrenables contados a mano", "en": "trainable and non-trainable parameters counted by hand"},
              expected=expected, observed=counts)
    ctx.check("integer_filters", isinstance(g.get_layer("deconv1").filters, int),
              {"es": "Conv2DTranspose recibe un entero (el enunciado pasa depth/2 = 32.0)",
               "en": "Conv2DTranspose gets an integer (the handout passes depth/2 = 32.0)"},
              expected="int", observed=type(g.get_layer("deconv1").filters).__name__)

    # An untrained G already maps any z to a valid image: the sigmoid keeps every pixel in (0, 1) like MNIST's.
    z = sample_noise(gan["noise"], 16, gan["noise_dim"], ctx.seed)
    images = np.asarray(g.predict(z, verbose=0))
    ctx.metric("untrained_pixel_min", float(images.min()))
    ctx.metric("untrained_pixel_max", float(images.max()))
    ctx.check("output_shape_and_range", images.shape[1:] == (28, 28, 1) and images.min() >= 0 and images.max() <= 1,
              {"es": "salida 28×28×1 con píxeles en [0, 1], como las imágenes reales", "en": "28×28×1 output with pixels in [0, 1], like the real images"},
              expected=[[28, 28, 1], [0, 1]], observed=[list(images.shape[1:]), [float(images.min()), float(images.max())]])
    ctx.figure("untrained_samples", image_grid(images, 4, 4, "G before training"),
               {"es": "G sin entrenar: para cualquier z, un cuadrado gris uniforme (píxeles ≈ 0.5, la sigmoide de casi 0), en escala 0–1",
                "en": "Untrained G: for any z, a flat grey square (pixels ≈ 0.5, the sigmoid of nearly 0), on a 0–1 scale"})
