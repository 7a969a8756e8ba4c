"""1.2f: D or G, which matters more, and one change that should give better digits.

The change is chosen by `gan_compare.improve` and trained at 1.2d's budget;
both generators are scored by the evaluator on the same noise, so "better"
is FID-MNIST and class coverage, not an impression.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from experiments.gan.figures import class_histogram_figure, comparison_grids, smooth, smoothing_window
from experiments.gan.models import sample_noise
from experiments.gan.training import (CODE, EVALUATOR_ITEM, evaluator, generate, model_row, n_eval_samples, record_scores, score,
                                      sample_images, train_one, train_settings)
from harness.errors import ConfigError
from harness.train.evaluation import SAMPLE_SEED
from harness.registry import item

# name -> (changes to the handout's settings, which network it targets, what it does)
VARIANTS: dict[str, tuple[dict[str, Any], str, dict[str, str]]] = {
    "label_smoothing": ({"real_label": 0.9}, "D", {
        "es": "suavizado de etiquetas por un lado: D aprende a decir 0.9 (no 1) a las imágenes reales",
        "en": "one-sided label smoothing: D learns to say 0.9 (not 1) to real images"}),
    "fakes_training": ({"fakes_training": True}, "D", {
        "es": "D ve las imágenes falsas que G produce en modo entrenamiento (BatchNorm con estadísticas del lote), las mismas que G optimiza",
        "en": "D sees the fakes G makes in training mode (BatchNorm with batch statistics), the very ones G optimises"}),
    "d_lr_quarter": ({"d_lr": 2e-4}, "D", {
        "es": "tasa de aprendizaje de D a un cuarto (2e-4): un D menos dominante",
        "en": "D's learning rate at a quarter (2e-4): a less dominant D"}),
}


def variant(name: str) -> tuple[dict[str, Any], str, dict[str, str]]:
    if name not in VARIANTS:
        raise ConfigError(f"setting 'gan_compare.improve' = '{name}' is not known: use one of {', '.join(VARIANTS)}")
    return VARIANTS[name]


def d_acc_figure(base: np.ndarray, new: np.ndarray, labels: tuple[str, str]) -> Any:
    import matplotlib.pyplot as plt

    w = smoothing_window(len(base))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for ax, col, title in ((axes[0], 1, "D accuracy"), (axes[1], 2, "G loss")):
        for values, label in ((base, labels[0]), (new, labels[1])):
            ax.plot(np.arange(1, len(values) + 1), smooth(values[:, col], w), label=label)
        ax.set_title(f"{title} (moving average, {w} steps)", fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@item("1.2f", "Improving the GAN: a change to D, measured", needs=("1.2d", EVALUATOR_ITEM), config=("gan", "gan_compare", "eval"), extra_code=CODE)
def improve(ctx):
    name = ctx.settings("gan_compare")["improve"]
    changes, target, what = variant(name)
    settings = train_settings(ctx, **changes)
    label = f"GAN z=2 {name}"

    gan, history, train_s = train_one(ctx, settings, label)
    base = ctx.input("1.2d")
    base_g = base.model("generator")
    ev = evaluator(ctx)
    # Both generators on the very same noise: the difference is the model, not the draw.
    z = sample_noise(settings.noise, n_eval_samples(ctx), settings.noise_dim, SAMPLE_SEED)
    base_images, new_images = generate(base_g, z), generate(gan.generator, z)
    base_scores, new_scores = score(ev, base_images), score(ev, new_images)
    _, ips = sample_images(gan.generator, settings.noise, settings.noise_dim, n_eval_samples(ctx), SAMPLE_SEED)

    ctx.metric("fid", new_scores["fid"], note={"es": f"variante {name}", "en": f"variant {name}"})
    ctx.metric("base_fid", base_scores["fid"], note={"es": "GAN del enunciado (1.2d), mismo ruido", "en": "the handout's GAN (1.2d), same noise"})
    ctx.metric("fid_change", new_scores["fid"] - base_scores["fid"], note={"es": "negativo = mejor", "en": "negative = better"})
    record_scores(ctx, new_scores, prefix="new_")
    record_scores(ctx, base_scores, prefix="base_")
    ctx.metric("train_s", train_s, "s")
    ctx.metric("ms_per_step", history.ms_per_step, "ms")
    ctx.metric("d_acc_last10", history.tail("d_acc"))
    base_hist = base.array("history")
    ctx.metric("base_d_acc_last10", float(base_hist[-max(1, len(base_hist) // 10):, 1].mean()))
    ctx.metric("d_acc_stuck_frac", history.stuck_fraction())

    better_fid = new_scores["fid"] < base_scores["fid"]
    no_worse_coverage = new_scores["classes_under_2pct"] <= base_scores["classes_under_2pct"]
    ctx.check("improves_fid", better_fid,
              {"es": f"{what['es']}: FID-MNIST menor que la GAN del enunciado con el mismo ruido",
               "en": f"{what['en']}: lower FID-MNIST than the handout's GAN on the same noise"},
              expected=f"< {base_scores['fid']:.2f}", observed=round(float(new_scores["fid"]), 2))
    ctx.check("coverage_not_worse", no_worse_coverage,
              {"es": "no pierde dígitos: clases bajo el 2 % no aumentan", "en": "loses no digits: classes under 2 % do not increase"},
              expected=f"<= {base_scores['classes_under_2pct']}", observed=new_scores["classes_under_2pct"])

    keys = ("fid", "coverage_entropy", "classes_under_2pct", "mean_confidence", "precision", "recall")
    ctx.table("comparison", ["model", "FID-MNIST", {"es": "entropía de clases", "en": "class entropy"},
                             {"es": "clases < 2 %", "en": "classes < 2 %"}, {"es": "confianza media", "en": "mean confidence"},
                             "precision", "recall"],
              [["1.2d (handout)", *(round(float(base_scores[k]), 3) for k in keys)],
               [f"1.2f ({name})", *(round(float(new_scores[k]), 3) for k in keys)]],
              {"es": f"Mismo ruido, mismo evaluador, {new_scores['n']} muestras", "en": f"Same noise, same evaluator, {new_scores['n']} samples"})
    ctx.figure("samples", comparison_grids({"1.2d": base_images[:10], name: new_images[:10]}, 10), {
        "es": "Las mismas diez z por ambos generadores", "en": "The same ten z through both generators"})
    ctx.figure("class_histogram", class_histogram_figure({"1.2d (handout)": base_scores["class_hist"], f"1.2f ({name})": new_scores["class_hist"]},
                                                         "Digits generated, before and after the change"), {
        "es": "Cobertura de clases de ambos generadores", "en": "Class coverage of both generators"})
    ctx.figure("dynamics", d_acc_figure(base_hist, history.values, ("1.2d (handout)", f"1.2f ({name})")), {
        "es": "Cómo cambia el juego: exactitud de D y pérdida de G, ambos entrenamientos",
        "en": "How the game changes: D's accuracy and G's loss, both trainings"})

    ctx.save_array("history", history.values)
    ctx.save_model("generator", gan.generator)
    ctx.save_value("variant", {"name": name, "target": target, "changes": changes, "what": what})
    ctx.save_value("model_rows", [model_row(label, ctx.id, train_s, ips, new_scores)])
