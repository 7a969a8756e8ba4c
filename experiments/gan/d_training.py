"""1.2d: the handout's alternating training, every step recorded.

The base GAN of section 1.2: 1.2e samples from it, 1.2f-h compare against it.
"""
from __future__ import annotations

import numpy as np

from experiments.gan.figures import class_histogram_figure, curves_figure, image_grid
from experiments.gan.models import GanSettings
from harness.train.hardware import resolve_precision
from experiments.gan.training import (CODE, COLUMNS, EVALUATOR_ITEM, STUCK_TAIL, evaluate, evaluator, model_row, record_scores,
                                      train_one, train_settings)
from harness.registry import item

HANDOUT_STEPS, HANDOUT_BATCH = 5000, 64
LABEL = "GAN z=2 U(-1,1)"


def budget_checks(ctx, gan_cfg: dict) -> None:
    steps, batch = gan_cfg["steps"], gan_cfg["batch_size"]
    reduced = ctx.profile != "full"
    ctx.check("handout_budget", steps == HANDOUT_STEPS or reduced,
              {"es": f"{steps} pasos de lote {batch}" + (f" (el perfil '{ctx.profile}' reduce los {HANDOUT_STEPS} pasos del enunciado)" if reduced and steps != HANDOUT_STEPS else ""),
               "en": f"{steps} steps of batch {batch}" + (f" (profile '{ctx.profile}' reduces the handout's {HANDOUT_STEPS} steps)" if reduced and steps != HANDOUT_STEPS else "")},
              expected=[HANDOUT_STEPS, HANDOUT_BATCH], observed=[steps, batch])
    ctx.check("batch_64", batch == HANDOUT_BATCH, {"es": "lotes de 64 como el enunciado", "en": "batches of 64 as in the handout"},
              expected=HANDOUT_BATCH, observed=batch)


def noise_check(ctx, gan, settings: GanSettings) -> None:
    """What the GAN really feeds G: 10 000 draws of its own in-graph sampler."""
    z = np.asarray(gan.sample_z(10000))
    lo, hi = float(z.min()), float(z.max())
    uniform = settings.noise == "uniform"
    ctx.metric("noise_min", lo)
    ctx.metric("noise_max", hi)
    ctx.check("noise_uniform_in_range", uniform and -1.0 <= lo and hi <= 1.0 and z.shape[1] == settings.noise_dim,
              {"es": "z ~ U(-1, 1) de dimensión noise_dim, como np.random.uniform(-1, 1) del enunciado",
               "en": "z ~ U(-1, 1) of dimension noise_dim, as the handout's np.random.uniform(-1, 1)"},
              expected=["uniform", -1.0, 1.0], observed=[settings.noise, lo, hi])


def stuck_check(ctx, history) -> None:
    frac = history.stuck_fraction()
    ctx.metric("d_acc_stuck_frac", frac, note={
        "es": f"fracción del último {STUCK_TAIL:.0%} de pasos con exactitud de D = 1.0",
        "en": f"share of the last {STUCK_TAIL:.0%} of steps with D accuracy = 1.0"})
    ctx.check("d_not_stuck_at_1", frac < 1.0,
              {"es": f"D no acierta el 100 % en todo el último {STUCK_TAIL:.0%} de los pasos (si lo hace, G dejó de recibir señal útil)",
               "en": f"D is not 100 % right over the whole last {STUCK_TAIL:.0%} of steps (if it is, G stopped getting a useful signal)"},
              expected="< 1.0", observed=frac)


@item("1.2d", "GAN training, step by step", needs=(EVALUATOR_ITEM,), config=("gan", "eval"), extra_code=CODE,
      shows=("gan_explorer",))
def training(ctx):
    gan_cfg = ctx.settings("gan")
    settings = train_settings(ctx)
    budget_checks(ctx, gan_cfg)

    gan, history, train_s = train_one(ctx, settings, LABEL)
    ev = evaluator(ctx)
    scores, images, ips = evaluate(ctx, ev, gan.generator, settings.noise, settings.noise_dim)
    # The slide shows the first three metrics: the step's cost, then FID-MNIST and coverage.
    ctx.metric("ms_per_step", history.ms_per_step, "ms", note={
        "es": "un paso = actualización de D + actualización de G; sin el primero (traza el grafo)",
        "en": "one step = a D update + a G update; the first (graph tracing) excluded"})
    record_scores(ctx, scores)
    ctx.metric("train_s", train_s, "s")
    ctx.metric("steps", history.steps)
    noise_check(ctx, gan, settings)
    for name in COLUMNS:
        ctx.metric(f"{name}_last10", history.tail(name), note={
            "es": "media del último 10 % de los pasos", "en": "mean over the last 10 % of steps"})
        ctx.metric(f"{name}_first10", history.head(name))
    ctx.metric("first_step_s", history.first_step_s, "s")
    ctx.metric("arithmetic", resolve_precision(settings.precision, "gan.precision"), note={
        "es": f"gan.precision = {settings.precision} en esta máquina",
        "en": f"gan.precision = {settings.precision} on this machine"})
    stuck_check(ctx, history)

    ctx.figure("curves", curves_figure(history, f"{LABEL}: {history.steps} steps, batch {gan_cfg['batch_size']}"), {
        "es": "Pérdida y exactitud de D y de G por paso (tenue: cada paso; grueso: media móvil)",
        "en": "Loss and accuracy of D and of G per step (faint: every step; bold: moving average)"})
    ctx.metric("sample_ips", ips, "img/s")
    ctx.figure("samples", image_grid(images[:16], 4, 4, f"{LABEL} after {history.steps} steps"), {
        "es": "16 muestras de G al final del entrenamiento", "en": "16 samples from G at the end of training"})
    ctx.figure("class_histogram", class_histogram_figure({LABEL: scores["class_hist"]}, "Digits G generates (evaluator's labels)"), {
        "es": f"Clase predicha de {scores['n']} muestras: las barras que faltan son modos colapsados",
        "en": f"Predicted class of {scores['n']} samples: missing bars are collapsed modes"})

    ctx.save_array("history", history.values)
    ctx.save_value("history_columns", list(COLUMNS))
    ctx.save_value("class_hist", scores["class_hist"])
    ctx.save_model("generator", gan.generator)
    ctx.save_value("noise", {"law": gan_cfg["noise"], "dim": gan_cfg["noise_dim"]})  # the GAN explorer draws z from it
    ctx.save_model("discriminator", gan.discriminator)
    ctx.save_value("model_rows", [model_row(LABEL, ctx.id, train_s, ips, scores)])
