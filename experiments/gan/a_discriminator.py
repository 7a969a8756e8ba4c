"""1.2a: the discriminator D, as the handout defines it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from experiments.gan.models import build_discriminator, expected_discriminator_params
from experiments.gan.spec import COMPARE_COLUMNS, compare, handout_discriminator
from harness.train.architecture import activation_of, flat_layers, graph_figure, layer_table, parameter_counts
from harness.registry import item
from harness.words import words

W = words(__file__)

NOTES = W.table("notes")
CHECKS = W.table("checks")
TITLES = W.table("titles")

CAPTIONS = W.table("captions")


@dataclass
class DiscriminatorReport:
    model: Any
    dropout: float
    counts: dict[str, int]              # total, trainable, non-trainable
    expected_total: int                 # counted by hand (models.expected_discriminator_params)
    dense1024_params: int
    conv_layers: int
    flatten_units: int
    layer_columns: list[Any]
    layer_rows: list[list[Any]]
    spec_rows: list[list[Any]]          # spec.compare: one row per handout line
    matches_handout: bool
    output_shape: tuple


def inspect_discriminator(model: Any, handout: list[dict[str, Any]], expected_total: int, dropout: float) -> DiscriminatorReport:
    """D against the handout's lines (spec.handout_discriminator) and the parameter count made by hand."""
    layer_columns, layer_rows = layer_table(model)
    spec_rows, same = compare(model, handout)
    return DiscriminatorReport(
        model=model, dropout=float(dropout), counts=parameter_counts(model), expected_total=expected_total,
        dense1024_params=int(model.get_layer("dense1024").count_params()),
        conv_layers=sum(type(layer).__name__ == "Conv2D" for layer in model.layers),
        flatten_units=int(model.get_layer("flatten").output.shape[-1]),
        layer_columns=layer_columns, layer_rows=layer_rows, spec_rows=spec_rows, matches_handout=same,
        output_shape=tuple(model.layers[-1].output.shape[1:]))


@item("1.2a", "GAN discriminator D", config=("gan",), uses_data=False)
def discriminator(ctx):
    settings = ctx.settings("gan")
    depth, dropout = settings["depth"], settings["dropout"]
    model = build_discriminator(depth, dropout, precision=settings["precision"])
    report = inspect_discriminator(model, handout_discriminator(depth, dropout), expected_discriminator_params(depth), dropout)
    record(ctx, report)


def record(ctx, report: DiscriminatorReport) -> None:
    total = report.counts["total"]
    ctx.metric("params_total", total)
    ctx.metric("params_dense1024", report.dense1024_params, note=NOTES["params_dense1024"])
    ctx.metric("dense1024_share", report.dense1024_params / total)
    ctx.metric("conv_layers", report.conv_layers)
    ctx.metric("flatten_units", report.flatten_units)
    ctx.metric("dropout", report.dropout)

    ctx.table("layers", report.layer_columns, report.layer_rows, CAPTIONS["layers"], detail=True)
    ctx.figure("graph", lambda lang: graph_figure(report.model, TITLES["graph"], lang), CAPTIONS["graph"])
    ctx.table("handout_vs_ours", COMPARE_COLUMNS, report.spec_rows, CAPTIONS["handout_vs_ours"], detail=True)
    ctx.check("matches_handout_layer_by_layer", report.matches_handout, CHECKS["matches_handout_layer_by_layer"],
              expected=len(report.spec_rows), observed=sum(r[-1] == "✓" for r in report.spec_rows))
    ctx.check("parameter_count", total == report.expected_total, CHECKS["parameter_count"],
              expected=report.expected_total, observed=total)
    activation = activation_of(flat_layers(report.model)[-1])  # Keras's name, not the table's words
    ctx.check("output_is_one_probability", report.output_shape == (1,) and activation == "sigmoid",
              CHECKS["output_is_one_probability"], expected=[1, "sigmoid"], observed=[list(report.output_shape), activation])
