"""1.1j: one structural change, mirrored in the decoder: a fourth conv block down to 7x7."""
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

UNITS = {name: "nats" for name in (
    "variant_test_neg_elbo", "base_test_neg_elbo", "variant_test_nll_iwae", "base_test_nll_iwae",
    "variant_test_reconstruction", "base_test_reconstruction", "variant_test_kl", "base_test_kl")} | {
    "variant_images_per_s": "img/s", "base_images_per_s": "img/s", "variant_train_s": "s", "variant_train_cpu_s": "s",
    "base_train_cpu_s": "s", "base_train_s": "s"}
NOTES = {
    "variant_test_neg_elbo": common.likelihood_note,
    "cpu_ratio": W("notes", "cpu_ratio"),
    "variant_fid": common.fid_note,
    "base_fid": common.fid_note,
}
CAPTIONS = W.table("captions")
CHECKS = W.table("checks")


@dataclass
class ArchitectureComparison:
    rows: list[dict[str, Any]]      # the handout's model (1.1e's row), then the variant
    metrics: dict[str, Any]         # in report order
    encoder_layers: tuple[list, list]   # the variant's layer tables: (columns, rows)
    decoder_layers: tuple[list, list]
    digits: np.ndarray              # one test image per digit
    handout_reconstructions: np.ndarray
    variant_reconstructions: np.ndarray
    checks: dict[str, Check]


def feature_maps(variant: models.VAE) -> tuple[list[tuple], list[tuple]]:
    """The (height, width) after each convolution of the encoder and each transposed one of the decoder."""
    encoder_maps = [tuple(layer.output.shape[1:3]) for layer in variant.encoder.layers
                    if type(layer).__name__ == "Conv2D"]
    decoder_maps = [tuple(layer.output.shape[1:3]) for layer in variant.decoder.layers
                    if type(layer).__name__ == "Conv2DTranspose"]
    return encoder_maps, decoder_maps


def compare_architectures(ctx, handout: models.VAE, variant: models.VAE, run: models.Training,
                          base_metrics: dict[str, Any]) -> ArchitectureComparison:
    """Both models measured the same way, the variant's layers, and whether its decoder mirrors its encoder."""
    rows = [common.base_row(ctx, handout),
            common.measure(ctx, variant, "VAE z=2 BCE +conv block", training=run)]
    handout_row, variant_row = rows
    metrics = {
        "variant_test_neg_elbo": variant_row["neg_elbo"],
        "base_test_neg_elbo": handout_row["neg_elbo"],
        "variant_parameters": variant_row["params"],
        "base_parameters": handout_row["params"],
        "variant_test_nll_iwae": variant_row["nll"],
        "base_test_nll_iwae": handout_row["nll"],
        "variant_test_reconstruction": variant_row["reconstruction"],
        "base_test_reconstruction": handout_row["reconstruction"],
        "variant_test_kl": variant_row["kl"],
        "base_test_kl": handout_row["kl"],
        "variant_images_per_s": len(ctx.data.x_train) / run.timing.per_unit_s,
        "base_images_per_s": base_metrics["images_per_s"],
        "variant_train_s": run.train_s,
        "variant_train_cpu_s": run.cpu_s,
        "base_train_cpu_s": base_metrics["train_cpu_s"],
        "cpu_ratio": run.cpu_s / base_metrics["train_cpu_s"],
        "base_train_s": base_metrics["train_s"],
        "variant_fid": variant_row["fid"],
        "base_fid": handout_row["fid"],
        "variant_s_per_epoch": variant_row["s_per_epoch"],
        "base_s_per_epoch": base_metrics["s_per_epoch"],
        "variant_warmup_s": variant_row["warmup_s"],
        "base_warmup_s": base_metrics["warmup_s"],
        **common.uncertainties("variant", variant_row),
        **common.uncertainties("base", handout_row),
    }
    encoder_layers = architecture.layer_table(variant.encoder)
    decoder_layers = architecture.layer_table(variant.decoder)
    digits = ctx.data.x_test[common.first_of_each_digit(ctx.data.y_test)]
    handout_reconstructions = common.reconstructions(handout, digits)
    variant_reconstructions = common.reconstructions(variant, digits)

    encoder_maps, decoder_maps = feature_maps(variant)
    mirrored = (encoder_maps[::-1][1:] == [tuple(m) for m in decoder_maps[:len(encoder_maps) - 1]]
                and decoder_maps[-1] == (28, 28))
    epochs = len(run.history["loss"])
    checks = {
        "decoder_mirrors_encoder": Check(bool(mirrored), [list(m) for m in encoder_maps],
                                         [list(m) for m in decoder_maps]),
        "same_budget_as_1.1e": Check(epochs == base_metrics["epochs"], base_metrics["epochs"], epochs),
    }
    return ArchitectureComparison(rows, metrics, encoder_layers, decoder_layers, digits, handout_reconstructions,
                                  variant_reconstructions, checks)


def record(ctx, result: ArchitectureComparison) -> None:
    handout_row, variant_row = result.rows
    common.record_metrics(ctx, result.metrics, UNITS, NOTES)
    ctx.table("architecture_comparison", common.COMPARE_COLUMNS, common.compare_rows(result.rows),
              common.with_likelihood_note(CAPTIONS["architecture_comparison (table)"], ctx))
    ctx.table("variant_encoder_layers", *result.encoder_layers, CAPTIONS["variant_encoder_layers"], detail=True)
    ctx.table("variant_decoder_layers", *result.decoder_layers, CAPTIONS["variant_decoder_layers"], detail=True)
    ctx.figure("architecture_comparison",
               lambda lang: compare_figure(result.digits, result.handout_reconstructions, result.variant_reconstructions,
                                           handout_row["_samples"], variant_row["_samples"], lang),
               CAPTIONS["architecture_comparison (figure)"])
    ctx.save_value("model_rows", common.public_rows([variant_row]))
    common.record_checks(ctx, result.checks, CHECKS)


FIGURE_WORDS = W("figure_words")


def compare_figure(x, rec_base, rec_var, samples_base, samples_var, lang: str):
    import matplotlib.pyplot as plt

    w = FIGURE_WORDS[lang]
    fig = plt.figure(figsize=(12, 6.4))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 2.2])
    common.show_mosaic(fig.add_subplot(grid[0, :]), np.concatenate([x, rec_base, rec_var]), len(x),
                       w["reconstructions"], row_labels=["test", "1.1e (14×14)", "+ conv (7×7)"])
    common.show_mosaic(fig.add_subplot(grid[1, 0]), samples_base[:64], 8, w["base"])
    common.show_mosaic(fig.add_subplot(grid[1, 1]), samples_var[:64], 8, w["variant"])
    fig.tight_layout()
    return fig


@item("1.1j", "VAE architecture change", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "eval"))
def architecture_change(ctx):
    settings = common.settings(ctx)
    base = ctx.input("1.1e")
    handout = base.model("vae")
    variant = models.build_vae(settings, extra_block=True, seed=ctx.seed, name="vae_extra_block")
    run = models.fit_vae(ctx, variant, settings, "VAE z=2 extra conv block")
    record(ctx, compare_architectures(ctx, handout, variant, run, base.metrics))
