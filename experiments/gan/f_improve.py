"""1.2f: D or G, which matters more, and one change that should give better digits.

The change is chosen by `gan_compare.improve` and trained at 1.2d's budget;
both generators are scored by the evaluator on the same noise, so "better"
is FID-MNIST and class coverage, not an impression.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.gan.figures import class_histogram_figure, comparison_grids, smooth, smoothing_window
from experiments.gan.models import GAN, sample_noise
from experiments.gan.training import (TABLE_SCORES, CODE, EVALUATOR_ITEM, History, evaluator, generate, model_row, n_eval_samples,
                                      record_scores, score, train_one, train_settings)
from harness.train.timing import sampling_speed
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


BASE_LABEL = "1.2d (handout)"

NOTES = {
    "fid": {"es": "variante {name}", "en": "variant {name}"},
    "base_fid": {"es": "GAN del enunciado (1.2d), mismo ruido", "en": "the handout's GAN (1.2d), same noise"},
    "fid_change": {"es": "negativo = mejor", "en": "negative = better"},
}
CHECKS = {
    # Starts with the variant's own description (VARIANTS).
    "improves_fid": {"es": "{what}: FID-MNIST menor que la GAN del enunciado con el mismo ruido",
                     "en": "{what}: lower FID-MNIST than the handout's GAN on the same noise"},
    "coverage_not_worse": {"es": "no pierde dígitos: clases bajo el 2 % no aumentan",
                           "en": "loses no digits: classes under 2 % do not increase"},
}
TITLES = {"class_histogram": {"es": "Dígitos generados, antes y después del cambio",
                                "en": "Digits generated, before and after the change"}}

CAPTIONS = {
    "comparison": {"es": "Mismo ruido, mismo evaluador, {n} muestras", "en": "Same noise, same evaluator, {n} samples"},
    "samples": {"es": "Las mismas diez z por ambos generadores", "en": "The same ten z through both generators"},
    "class_histogram": {"es": "Cobertura de clases de ambos generadores", "en": "Class coverage of both generators"},
    "dynamics": {"es": "Cómo cambia el juego: exactitud de D y pérdida de G, ambos entrenamientos",
                 "en": "How the game changes: D's accuracy and G's loss, both trainings"},
}
TABLE_COLUMNS = ["model", "FID-MNIST", {"es": "entropía de clases", "en": "class entropy"},
                 {"es": "clases < 2 %", "en": "classes < 2 %"}, {"es": "confianza media", "en": "mean confidence"},
                 "precision", "recall"]


def variant(name: str) -> tuple[dict[str, Any], str, dict[str, str]]:
    if name not in VARIANTS:
        raise ConfigError(f"setting 'gan_compare.improve' = '{name}' is not known: use one of {', '.join(VARIANTS)}")
    return VARIANTS[name]


DYNAMICS_WORDS = {
    "es": {"d_acc": "exactitud de D", "g_loss": "pérdida de G", "average": "{title} (media móvil, {window} pasos)",
           "step": "paso"},
    "en": {"d_acc": "D accuracy", "g_loss": "G loss", "average": "{title} (moving average, {window} steps)",
           "step": "step"},
}


def d_acc_figure(base: np.ndarray, new: np.ndarray, labels: tuple[str, str], lang: str) -> Any:
    import matplotlib.pyplot as plt

    w = DYNAMICS_WORDS[lang]
    window = smoothing_window(len(base))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    for ax, col, title in ((axes[0], 1, w["d_acc"]), (axes[1], 2, w["g_loss"])):
        for values, label in ((base, labels[0]), (new, labels[1])):
            ax.plot(np.arange(1, len(values) + 1), smooth(values[:, col], window), label=label)
        ax.set_title(w["average"].format(title=title, window=window), fontsize=10)
        ax.set_xlabel(w["step"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@dataclass
class SameNoise:
    """Two generators scored on the very same noise: the difference is the model, not the draw."""

    base_images: np.ndarray
    new_images: np.ndarray
    base_scores: dict[str, Any]
    new_scores: dict[str, Any]
    new_ips: float          # the new G's sampling rate


def compare_on_same_noise(base_generator: Any, new_generator: Any, scorer: Any, noise: str, dim: int, n: int) -> SameNoise:
    z = sample_noise(noise, n, dim, SAMPLE_SEED)
    base_images, new_images = generate(base_generator, z), generate(new_generator, z)
    base_scores, new_scores = score(scorer, base_images), score(scorer, new_images)
    return SameNoise(base_images, new_images, base_scores, new_scores, sampling_speed(new_generator, z).images_per_s)


@dataclass
class Improvement:
    name: str                         # the variant (gan_compare.improve)
    changes: dict[str, Any]
    target: str
    what: dict[str, str]
    label: str
    gan: GAN
    history: History
    train_s: float
    base_history: np.ndarray          # 1.2d's record of every step
    comparison: SameNoise


@item("1.2f", "Improving the GAN: a change to D, measured", needs=("1.2d", EVALUATOR_ITEM), config=("gan", "gan_compare", "eval"), extra_code=CODE)
def improve(ctx):
    name = ctx.settings("gan_compare")["improve"]
    changes, target, what = variant(name)
    settings = train_settings(ctx, **changes)
    label = f"GAN z=2 {name}"

    gan, history, train_s = train_one(ctx, settings, label)
    base = ctx.input("1.2d")
    comparison = compare_on_same_noise(base.model("generator"), gan.generator, evaluator(ctx), settings.noise,
                                       settings.noise_dim, n_eval_samples(ctx))
    record(ctx, Improvement(name, changes, target, what, label, gan, history, train_s, base.array("history"), comparison))


def record(ctx, result: Improvement) -> None:
    name, history, comparison = result.name, result.history, result.comparison
    base_scores, new_scores = comparison.base_scores, comparison.new_scores
    ctx.metric("fid", new_scores["fid"], note={lang: text.format(name=name) for lang, text in NOTES["fid"].items()})
    ctx.metric("base_fid", base_scores["fid"], note=NOTES["base_fid"])
    ctx.metric("fid_change", new_scores["fid"] - base_scores["fid"], note=NOTES["fid_change"])
    record_scores(ctx, new_scores, prefix="new_")
    record_scores(ctx, base_scores, prefix="base_")
    ctx.metric("train_s", result.train_s, "s")
    ctx.metric("ms_per_step", history.ms_per_step, "ms")
    ctx.metric("d_acc_last10", history.tail("d_acc"))
    base_hist = result.base_history
    ctx.metric("base_d_acc_last10", float(base_hist[-max(1, len(base_hist) // 10):, 1].mean()))
    ctx.metric("d_acc_stuck_frac", history.stuck_fraction())

    better_fid = new_scores["fid"] < base_scores["fid"]
    no_worse_coverage = new_scores["classes_under_2pct"] <= base_scores["classes_under_2pct"]
    ctx.check("improves_fid", better_fid,
              {lang: text.format(what=result.what[lang]) for lang, text in CHECKS["improves_fid"].items()},
              expected=f"< {base_scores['fid']:.2f}", observed=round(float(new_scores["fid"]), 2))
    ctx.check("coverage_not_worse", no_worse_coverage, CHECKS["coverage_not_worse"],
              expected=f"<= {base_scores['classes_under_2pct']}", observed=new_scores["classes_under_2pct"])

    new_label = f"1.2f ({name})"
    ctx.table("comparison", TABLE_COLUMNS,
              [[BASE_LABEL, *(round(float(base_scores[k]), 3) for k in TABLE_SCORES)],
               [new_label, *(round(float(new_scores[k]), 3) for k in TABLE_SCORES)]],
              {lang: text.format(n=new_scores["n"]) for lang, text in CAPTIONS["comparison"].items()})
    ctx.figure("samples", comparison_grids({"1.2d": comparison.base_images[:10], name: comparison.new_images[:10]}, 10),
               CAPTIONS["samples"])
    hists = {BASE_LABEL: base_scores["class_hist"], new_label: new_scores["class_hist"]}
    ctx.figure("class_histogram", lambda lang: class_histogram_figure(hists, TITLES["class_histogram"], lang),
               CAPTIONS["class_histogram"])
    ctx.figure("dynamics", lambda lang: d_acc_figure(base_hist, history.values, (BASE_LABEL, new_label), lang),
               CAPTIONS["dynamics"])

    ctx.save_array("history", history.values)
    ctx.save_model("generator", result.gan.generator)
    ctx.save_value("variant", {"name": name, "target": result.target, "changes": result.changes, "what": result.what})
    ctx.save_value("model_rows", [model_row(result.label, ctx.id, result.train_s, comparison.new_ips, new_scores,
                                                timing=history.timing)])
