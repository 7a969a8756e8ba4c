"""1.2b: the generator G, as the handout defines it (with an integer filter count)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.gan.figures import image_grid
from experiments.gan.models import build_generator, expected_generator_params, sample_noise
from experiments.gan.spec import COMPARE_COLUMNS, compare, handout_generator
from harness.train.architecture import graph_figure, layer_table, parameter_counts
from harness.registry import item
from harness.words import words

W = words(__file__)

UNTRAINED_SAMPLES = 16

NOTES = W.table("notes")
CHECKS = W.table("checks")
TITLES = W.table("titles")

CAPTIONS = W.table("captions")


@dataclass
class GeneratorReport:
    model: Any
    noise_dim: int
    counts: dict[str, int]              # total, trainable, non-trainable
    expected: dict[str, int]            # counted by hand (models.expected_generator_params)
    wide_dense_params: int              # the Dense 14*14*depth layer
    deconv_filters: Any                 # what deconv1 got: an int, unlike the handout's depth/2
    layer_columns: list[Any]
    layer_rows: list[list[Any]]
    spec_rows: list[list[Any]]          # spec.compare: one row per handout line
    matches_handout: bool
    untrained: np.ndarray               # G's images before any training


def inspect_generator(model: Any, handout: list[dict[str, Any]], expected: dict[str, int], noise: str, noise_dim: int,
                      depth: int, seed: int) -> GeneratorReport:
    """G against the handout's lines (spec.handout_generator) and the counts made by hand, and G's untrained output."""
    layer_columns, layer_rows = layer_table(model)
    spec_rows, same = compare(model, handout)
    # An untrained G already maps any z to a valid image: the sigmoid keeps every pixel in (0, 1) like MNIST's.
    z = sample_noise(noise, UNTRAINED_SAMPLES, noise_dim, seed)
    return GeneratorReport(
        model=model, noise_dim=int(noise_dim), counts=parameter_counts(model), expected=expected,
        wide_dense_params=int(model.get_layer(f"dense14x14x{depth}").count_params()),
        deconv_filters=model.get_layer("deconv1").filters,
        layer_columns=layer_columns, layer_rows=layer_rows, spec_rows=spec_rows, matches_handout=same,
        untrained=np.asarray(model.predict(z, verbose=0)))


@item("1.2b", "GAN generator G", config=("gan",), uses_data=False)
def generator(ctx):
    settings = ctx.settings("gan")
    noise_dim, depth = settings["noise_dim"], settings["depth"]
    model = build_generator(noise_dim, depth, precision=settings["precision"])
    report = inspect_generator(model, handout_generator(depth), expected_generator_params(noise_dim, depth),
                               settings["noise"], noise_dim, depth, ctx.seed)
    record(ctx, report)


def record(ctx, report: GeneratorReport) -> None:
    counts = report.counts
    ctx.metric("params_total", counts["total"])
    ctx.metric("params_trainable", counts["trainable"])
    ctx.metric("params_non_trainable", counts["non_trainable"], note=NOTES["params_non_trainable"])
    ctx.metric("params_dense_wide", report.wide_dense_params)
    ctx.metric("noise_dim", report.noise_dim)
    ctx.metric("deconv_filters", int(report.deconv_filters), note=NOTES["deconv_filters"])

    ctx.table("layers", report.layer_columns, report.layer_rows, CAPTIONS["layers"], detail=True)
    ctx.figure("graph", lambda lang: graph_figure(report.model, TITLES["graph"], lang), CAPTIONS["graph"])
    ctx.table("handout_vs_ours", COMPARE_COLUMNS, report.spec_rows, CAPTIONS["handout_vs_ours"], detail=True)
    ctx.check("matches_handout_layer_by_layer", report.matches_handout, CHECKS["matches_handout_layer_by_layer"],
              expected=len(report.spec_rows), observed=sum(r[-1] == "✓" for r in report.spec_rows))
    ctx.check("parameter_count", counts == report.expected, CHECKS["parameter_count"], expected=report.expected, observed=counts)
    ctx.check("integer_filters", isinstance(report.deconv_filters, int), CHECKS["integer_filters"],
              expected="int", observed=type(report.deconv_filters).__name__)

    images = report.untrained
    ctx.metric("untrained_pixel_min", float(images.min()))
    ctx.metric("untrained_pixel_max", float(images.max()))
    ctx.check("output_shape_and_range", images.shape[1:] == (28, 28, 1) and images.min() >= 0 and images.max() <= 1,
              CHECKS["output_shape_and_range"],
              expected=[[28, 28, 1], [0, 1]], observed=[list(images.shape[1:]), [float(images.min()), float(images.max())]])
    ctx.figure("untrained_samples", lambda lang: image_grid(images, 4, 4, TITLES["untrained_samples"], lang=lang),
               CAPTIONS["untrained_samples"])
