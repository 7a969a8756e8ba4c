"""1.2g: the same GAN with another latent law, trained at 1.2d's budget and compared.

The change is two lines of the handout: np.random.uniform(-1, 1, ...) becomes
np.random.normal(0, 1, ...) both where G is trained (noise_gen, noise_tr) and
where it is sampled (1.2e). Here it is the GAN's in-graph sampler.
"""
from __future__ import annotations

import numpy as np

from experiments.gan.figures import class_histogram_figure, comparison_grids, curves_figure, manifold_figure
from experiments.gan.training import (CODE, EVALUATOR_ITEM, evaluate, evaluator, generate, model_row, record_scores, train_one,
                                      train_settings)
from harness.errors import ConfigError
from harness.registry import item

MANIFOLD_N = 20
GAUSS_SPAN = 2.5   # the manifold of a N(0, 1) latent is drawn over [-2.5, 2.5]², 99 % of each coordinate


@item("1.2g", "Another latent distribution for z", needs=("1.2d", EVALUATOR_ITEM), config=("gan", "gan_compare", "eval"), extra_code=CODE)
def latent_distribution(ctx):
    gan_cfg, cmp_cfg = ctx.settings("gan"), ctx.settings("gan_compare")
    noise = cmp_cfg["noise"]
    if noise == gan_cfg["noise"]:
        raise ConfigError(f"setting 'gan_compare.noise' = '{noise}' equals 'gan.noise': 1.2g needs a different law (e.g. gaussian)")
    settings = train_settings(ctx, noise=noise)
    label = f"GAN z={settings.noise_dim} {noise}"

    gan, history, train_s = train_one(ctx, settings, label)
    ev = evaluator(ctx)
    scores, images, ips = evaluate(ctx, ev, gan.generator, noise, settings.noise_dim)
    base = ctx.input("1.2d")
    base_scores, base_images, _ = evaluate(ctx, ev, base.model("generator"), gan_cfg["noise"], settings.noise_dim)

    z = np.asarray(gan.sample_z(10000))
    ctx.metric("fid", scores["fid"], note={"es": f"z ~ {noise}", "en": f"z ~ {noise}"})
    ctx.metric("base_fid", base_scores["fid"], note={"es": "z ~ U(-1, 1) (1.2d)", "en": "z ~ U(-1, 1) (1.2d)"})
    ctx.metric("fid_change", scores["fid"] - base_scores["fid"], note={"es": "negativo = mejor", "en": "negative = better"})
    record_scores(ctx, scores, prefix="new_")
    record_scores(ctx, base_scores, prefix="base_")
    ctx.metric("train_s", train_s, "s")
    ctx.metric("ms_per_step", history.ms_per_step, "ms")
    ctx.metric("z_mean", float(z.mean()))
    ctx.metric("z_std", float(z.std()))
    ctx.metric("z_outside_unit_box", float(np.mean(np.any(np.abs(z) > 1, axis=1))),
               note={"es": "fracción de z fuera de [-1, 1]^d: regiones que la uniforme nunca visita", "en": "share of z outside [-1, 1]^d: regions the uniform never visits"})
    ctx.metric("d_acc_stuck_frac", history.stuck_fraction())
    gaussian_ok = noise != "gaussian" or (abs(float(z.mean())) < 0.05 and abs(float(z.std()) - 1) < 0.05)
    ctx.check("latent_law_used", gaussian_ok and noise != gan_cfg["noise"],
              {"es": "la GAN se entrena con la otra ley: media ≈ 0 y desviación ≈ 1 medidas en su propio muestreador",
               "en": "the GAN trains on the other law: mean ≈ 0 and std ≈ 1 measured on its own sampler"},
              expected=[noise, 0.0, 1.0], observed=[noise, float(z.mean()), float(z.std())])
    ctx.check("same_budget_as_1.2d", history.steps == base.metrics["steps"],
              {"es": "entrenada completa, con los mismos pasos que 1.2d", "en": "trained fully, with the same steps as 1.2d"},
              expected=base.metrics["steps"], observed=history.steps)

    keys = ("fid", "coverage_entropy", "classes_under_2pct", "mean_confidence", "precision", "recall")
    ctx.table("comparison", ["z", "FID-MNIST", {"es": "entropía de clases", "en": "class entropy"},
                             {"es": "clases < 2 %", "en": "classes < 2 %"}, {"es": "confianza media", "en": "mean confidence"},
                             "precision", "recall"],
              [[f"{gan_cfg['noise']} (1.2d)", *(round(float(base_scores[k]), 3) for k in keys)],
               [f"{noise} (1.2g)", *(round(float(scores[k]), 3) for k in keys)]],
              {"es": f"Cada generador con su propia ley de z, mismo evaluador, {scores['n']} muestras",
               "en": f"Each generator with its own law of z, same evaluator, {scores['n']} samples"})
    ctx.figure("curves", curves_figure(history, f"{label}: {history.steps} steps"), {
        "es": "Curvas de entrenamiento con la nueva ley de z", "en": "Training curves with the new law of z"})
    ctx.figure("samples", comparison_grids({gan_cfg["noise"]: base_images[:10], noise: images[:10]}, 10), {
        "es": "Diez muestras de cada generador", "en": "Ten samples of each generator"})
    ctx.figure("class_histogram", class_histogram_figure({f"{gan_cfg['noise']} (1.2d)": base_scores["class_hist"], f"{noise} (1.2g)": scores["class_hist"]},
                                                         "Digits generated under each law of z"), {
        "es": "Cobertura de clases con cada ley de z", "en": "Class coverage under each law of z"})
    if settings.noise_dim == 2:
        axis = np.linspace(-GAUSS_SPAN, GAUSS_SPAN, MANIFOLD_N, dtype="float32")
        grid = np.array([[x, y] for y in axis[::-1] for x in axis], dtype="float32")
        ctx.figure("latent_manifold", manifold_figure(generate(gan.generator, grid), MANIFOLD_N, -GAUSS_SPAN, GAUSS_SPAN,
                                                      f"G over a grid of z in [-{GAUSS_SPAN}, {GAUSS_SPAN}]² (z ~ N(0, I))"), {
            "es": "El plano latente de la GAN gaussiana: el centro concentra la masa; los bordes se muestrean poco",
            "en": "The Gaussian GAN's latent plane: the centre holds the mass; the edges are rarely sampled"})

    ctx.save_array("history", history.values)
    ctx.save_model("generator", gan.generator)
    ctx.save_value("model_rows", [model_row(label, ctx.id, train_s, ips, scores)])
