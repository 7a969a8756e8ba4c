"""1.1j: one structural change, mirrored in the decoder: a fourth conv block down to 7x7."""
from __future__ import annotations

import numpy as np

from harness.train import architecture
from harness.registry import item

from experiments.vae import common
from experiments.vae import models


def compare_figure(x, rec_base, rec_var, samples_base, samples_var):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12, 6.4))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 2.2])
    common.show_mosaic(fig.add_subplot(grid[0, :]), np.concatenate([x, rec_base, rec_var]), len(x),
                       "reconstrucciones / reconstructions", row_labels=["test", "1.1e (14×14)", "+ conv (7×7)"])
    common.show_mosaic(fig.add_subplot(grid[1, 0]), samples_base[:64], 8, "muestras / samples 1.1e")
    common.show_mosaic(fig.add_subplot(grid[1, 1]), samples_var[:64], 8, "muestras / samples, bloque extra / extra block")
    fig.tight_layout()
    return fig


@item("1.1j", "VAE architecture change", needs=("1.1e", common.EVALUATOR_ITEM), config=("vae", "eval"))
def architecture_change(ctx):
    s = common.settings(ctx)
    base = ctx.input("1.1e")
    handout = base.model("vae")
    variant = models.build_vae(s, extra_block=True, seed=ctx.seed, name="vae_extra_block")
    run = models.fit_vae(ctx, variant, s, "VAE z=2 extra conv block")

    rows = [common.base_row(ctx, handout),
            common.measure(ctx, variant, "VAE z=2 BCE +conv block", training=run)]
    h, v = rows
    base_ips = base.metrics["images_per_s"]
    steady = run.epoch_s[1:] or run.epoch_s
    variant_ips = len(ctx.data.x_train) * len(steady) / sum(steady)

    ctx.metric("variant_test_neg_elbo", v["neg_elbo"], "nats", note=common.likelihood_note(ctx))
    ctx.metric("base_test_neg_elbo", h["neg_elbo"], "nats")
    ctx.metric("variant_parameters", v["params"])
    ctx.metric("base_parameters", h["params"])
    ctx.metric("variant_test_nll_iwae", v["nll"], "nats")
    ctx.metric("base_test_nll_iwae", h["nll"], "nats")
    ctx.metric("variant_test_reconstruction", v["reconstruction"], "nats")
    ctx.metric("base_test_reconstruction", h["reconstruction"], "nats")
    ctx.metric("variant_test_kl", v["kl"], "nats")
    ctx.metric("base_test_kl", h["kl"], "nats")
    ctx.metric("variant_images_per_s", variant_ips, "img/s")
    ctx.metric("base_images_per_s", base_ips, "img/s")
    ctx.metric("variant_train_s", run.train_s, "s")
    ctx.metric("variant_train_cpu_s", run.cpu_s, "s")
    ctx.metric("base_train_cpu_s", base.metrics["train_cpu_s"], "s")
    ctx.metric("cpu_ratio", run.cpu_s / base.metrics["train_cpu_s"], note={
        "es": "CPU del modelo modificado / CPU del de 1.1e al entrenar", "en": "training CPU of the changed model / of 1.1e's"})
    ctx.metric("base_train_s", base.metrics["train_s"], "s")
    ctx.metric("variant_fid", v["fid"], note=common.fid_note(ctx))
    ctx.metric("base_fid", h["fid"], note=common.fid_note(ctx))

    ctx.table("architecture_comparison", common.COMPARE_COLUMNS, common.compare_rows(rows), {
        "es": "El VAE del enunciado (1.1e) frente al que agrega un bloque conv con stride 2 (y su espejo transpuesto), "
              "mismo presupuesto. " + common.likelihood_note(ctx)["es"],
        "en": "The handout's VAE (1.1e) against one with an extra stride-2 conv block (and its transposed mirror), "
              "same budget. " + common.likelihood_note(ctx)["en"]})
    columns, layer_rows = architecture.layer_table(variant.encoder)
    ctx.table("variant_encoder_layers", columns, layer_rows, {"es": "Encoder modificado.", "en": "Modified encoder."})
    columns, layer_rows = architecture.layer_table(variant.decoder)
    ctx.table("variant_decoder_layers", columns, layer_rows, {"es": "Decoder modificado (espejo).", "en": "Modified decoder (mirror)."})
    idx = common.first_of_each_digit(ctx.data.y_test)
    x = ctx.data.x_test[idx]
    ctx.figure("architecture_comparison", compare_figure(
        x, common.reconstructions(handout, x), common.reconstructions(variant, x), h["_samples"], v["_samples"]), {
        "es": "Arriba: test, reconstrucción del modelo de 1.1e y del modelo con bloque extra. Abajo: muestras de N(0, I).",
        "en": "Top: test, reconstruction by 1.1e's model and by the extra-block model. Bottom: draws from N(0, I)."})
    ctx.save_value("model_rows", common.public_rows([v]))

    enc_maps = [tuple(l.output.shape[1:3]) for l in variant.encoder.layers if type(l).__name__ == "Conv2D"]
    dec_maps = [tuple(l.output.shape[1:3]) for l in variant.decoder.layers if type(l).__name__ == "Conv2DTranspose"]
    mirrored = enc_maps[::-1][1:] == [tuple(m) for m in dec_maps[:len(enc_maps) - 1]] and dec_maps[-1] == (28, 28)
    ctx.check("decoder_mirrors_encoder", bool(mirrored),
              {"es": "Los mapas del decoder recorren en orden inverso los del encoder (28→14→7 y 7→14→28).",
               "en": "The decoder's maps retrace the encoder's in reverse (28→14→7 and 7→14→28)."},
              expected=[list(m) for m in enc_maps], observed=[list(m) for m in dec_maps])
    ctx.check("same_budget_as_1.1e", len(run.history["loss"]) == base.metrics["epochs"],
              {"es": "Mismas épocas y batch que 1.1e.", "en": "Same epochs and batch as 1.1e."},
              expected=base.metrics["epochs"], observed=len(run.history["loss"]))
