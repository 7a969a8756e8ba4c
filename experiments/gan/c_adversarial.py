"""1.2c: the adversarial wiring, with the freezing proved on the weights.

Our GAN's step trains D with G fixed, then G through a frozen D, by giving
each optimizer only its own network's variables. The handout instead compiles
DM, sets D.trainable = False and compiles AM; this item also runs that recipe
literally in Keras 3 and measures what it does.
"""
from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np
from keras import ops

from experiments.gan.models import (GanSettings, build_discriminator, build_gan, build_generator, current_lr,
                                    rmsprop, sample_noise)
from harness.registry import item
from harness.train.steps import run_once


def snapshot(model: keras.Model) -> dict[str, np.ndarray]:
    """Every weight, trainable or not (BatchNorm's moving statistics included)."""
    return {w.path: np.array(w.numpy(), copy=True) for w in model.weights}


def rng_states(model: keras.Model) -> dict[str, np.ndarray]:
    """Random-number counters (dropout's seed state): variables of the model, but not weights."""
    weights = {id(w) for w in model.weights}
    return {v.path: np.array(v.numpy(), copy=True) for v in model.variables if id(v) not in weights}


def diff(before: dict[str, np.ndarray], model: keras.Model) -> dict[str, Any]:
    after = snapshot(model)
    same = [k for k in before if np.array_equal(before[k], after[k])]
    delta = max(float(np.max(np.abs(after[k] - before[k]))) for k in before)
    return {"n": len(before), "identical": len(same), "changed": len(before) - len(same), "max_abs_change": delta}


def proof_figure(p: dict[str, Any]) -> Any:
    """Per step and network: how many weights changed and how many stayed bit-identical."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("d_step_D", "D step: D"), ("d_step_G", "D step: G"), ("g_step_D", "G step: D"), ("g_step_G", "G step: G")]
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    for i, (key, label) in enumerate(keys):
        d = p[key]
        ax.barh(i, d["changed"], color="#e76f51", label="changed" if i == 0 else None)
        ax.barh(i, d["identical"], left=d["changed"], color="#2a9d8f", label="bit-identical" if i == 0 else None)
        note = f"max |Δ| = {d['max_abs_change']:.2e}" if d["changed"] else "all identical"
        ax.text(d["n"] + 0.4, i, note, va="center", fontsize=8)
    ax.set_yticks(range(len(keys)), [label for _, label in keys])
    ax.invert_yaxis()
    ax.set_xlim(0, max(p[k]["n"] for k, _ in keys) * 1.55)
    ax.set_xlabel("weight tensors (trainable and non-trainable)")
    ax.set_title("Freezing proof: what each step changed", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def proof_row(step: str, net: str, d: dict[str, Any]) -> list[Any]:
    return [step, net, d["n"], d["changed"], d["identical"], d["max_abs_change"]]


def freezing_proof(ctx, settings: GanSettings, batch: int) -> dict[str, dict[str, Any]]:
    """One D step, then one G step, on a real batch; what changed in each network after each."""
    gan = build_gan(settings)
    real = ctx.data.x_train[np.random.default_rng(ctx.seed).integers(0, len(ctx.data.x_train), batch)]
    d0, g0, rng0 = snapshot(gan.discriminator), snapshot(gan.generator), rng_states(gan.discriminator)
    run_once(lambda: ops.stack(gan.d_step(real)), gan.state())  # compiled, as training runs it
    out = {"d_step_D": diff(d0, gan.discriminator), "d_step_G": diff(g0, gan.generator)}
    d1, g1 = snapshot(gan.discriminator), snapshot(gan.generator)
    run_once(lambda: ops.stack(gan.g_step(batch)), gan.state())
    out.update({"g_step_D": diff(d1, gan.discriminator), "g_step_G": diff(g1, gan.generator)})
    rng1 = rng_states(gan.discriminator)
    out["rng_advanced"] = {"value": any(not np.array_equal(rng0[k], rng1[k]) for k in rng0), "n": len(rng0)}
    out["optimizers"] = {"d_lr": current_lr(gan.d_optimizer), "g_lr": current_lr(gan.g_optimizer),
                         "d_clip": gan.d_optimizer.clipvalue, "g_clip": gan.g_optimizer.clipvalue,
                         "d_iterations": int(gan.d_optimizer.iterations.numpy()),
                         "g_iterations": int(gan.g_optimizer.iterations.numpy())}
    return out


def handout_recipe(settings: GanSettings, real: np.ndarray, toggle: bool) -> dict[str, bool]:
    """The handout's DM/AM recipe run in Keras 3: does D train in DM, and is it frozen in AM?

    toggle=False is the handout as written (D.trainable = False once, between the
    two compiles); toggle=True flips D.trainable before each train_on_batch.
    """
    d, g = build_discriminator(settings.depth, settings.dropout), build_generator(settings.noise_dim, settings.depth)
    dm = keras.Sequential([d], name="DM")
    dm.compile(loss="binary_crossentropy", optimizer=rmsprop(settings.d_lr, settings.d_decay, settings.clipvalue), metrics=["accuracy"])
    d.trainable = False
    am = keras.Sequential([g, d], name="AM")
    am.compile(loss="binary_crossentropy", optimizer=rmsprop(settings.g_lr, settings.g_decay, settings.clipvalue), metrics=["accuracy"])
    n = len(real)
    fake = g.predict(sample_noise(settings.noise, n, settings.noise_dim, 1), verbose=0)
    y = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]).astype("float32")
    if toggle:
        d.trainable = True
    before = snapshot(d)
    with warnings.catch_warnings():
        # As written, DM has no trainable weights left and Keras says so: the very defect measured here.
        warnings.filterwarnings("ignore", message="The model does not have any trainable weights")
        dm.train_on_batch(np.concatenate([real, fake]), y)
    d_trains_in_dm = diff(before, d)["changed"] > 0
    if toggle:
        d.trainable = False
    before_d, before_g = snapshot(d), snapshot(g)
    am.train_on_batch(sample_noise(settings.noise, n, settings.noise_dim, 2), np.ones((n, 1), "float32"))
    return {"d_trains_in_dm": d_trains_in_dm, "d_frozen_in_am": diff(before_d, d)["changed"] == 0,
            "g_trains_in_am": diff(before_g, g)["changed"] > 0}


@item("1.2c", "Adversarial wiring and the freezing proof", config=("gan",))
def adversarial(ctx):
    gan_cfg = ctx.settings("gan")
    settings = GanSettings.from_config(gan_cfg)
    p = freezing_proof(ctx, settings, gan_cfg["batch_size"])

    d_step_ok = p["d_step_D"]["changed"] > 0 and p["d_step_G"]["changed"] == 0
    g_step_ok = p["g_step_G"]["changed"] > 0 and p["g_step_D"]["changed"] == 0
    ctx.metric("d_step_D_changed", p["d_step_D"]["changed"], "variables")
    ctx.metric("g_step_D_changed", p["g_step_D"]["changed"], "variables",
               note={"es": "debe ser 0: D congelado en el paso de G", "en": "must be 0: D frozen in the G step"})
    ctx.metric("d_step_G_changed", p["d_step_G"]["changed"], "variables",
               note={"es": "debe ser 0: G fijo en el paso de D", "en": "must be 0: G fixed in the D step"})
    ctx.metric("g_step_G_changed", p["g_step_G"]["changed"], "variables")
    ctx.metric("d_weights", p["d_step_D"]["n"], "variables")
    ctx.metric("g_weights", p["d_step_G"]["n"], "variables")
    ctx.metric("dropout_rng_advanced", bool(p["rng_advanced"]["value"]))
    rows = [proof_row("1: D", "D", p["d_step_D"]), proof_row("1: D", "G", p["d_step_G"]),
            proof_row("2: G", "D", p["g_step_D"]), proof_row("2: G", "G", p["g_step_G"])]
    ctx.table("freezing_proof", [
        {"es": "paso", "en": "step"}, {"es": "red", "en": "network"}, {"es": "pesos", "en": "weights"},
        {"es": "cambiaron", "en": "changed"}, {"es": "idénticos bit a bit", "en": "bit-identical"},
        {"es": "máx |Δ|", "en": "max |Δ|"}], rows,
        {"es": "Pesos de D y G (entrenables y no entrenables) antes y después de cada paso",
         "en": "D's and G's weights (trainable and not) before and after each step"})
    ctx.figure("freezing_proof", proof_figure(p), {
        "es": "Cada paso cambia solo su red: en rojo los tensores de pesos que cambiaron, en verde los idénticos bit a bit",
        "en": "Each step changes only its own network: red, weight tensors that changed; green, bit-identical ones"})
    ctx.check("d_step_trains_D_only", d_step_ok,
              {"es": "paso de D: cambian pesos de D; todos los de G quedan idénticos bit a bit (np.array_equal)",
               "en": "D step: D's weights change; every G weight stays bit-identical (np.array_equal)"},
              expected="D changed, G identical",
              observed=f"D {p['d_step_D']['changed']}/{p['d_step_D']['n']} changed, G {p['d_step_G']['identical']}/{p['d_step_G']['n']} identical")
    ctx.check("g_step_trains_G_only", g_step_ok,
              {"es": "paso de G: cambian pesos de G (incluidas las medias móviles de BatchNorm); todos los de D quedan idénticos bit a bit",
               "en": "G step: G's weights change (BatchNorm's moving statistics included); every D weight stays bit-identical"},
              expected="G changed, D identical",
              observed=f"G {p['g_step_G']['changed']}/{p['g_step_G']['n']} changed, D {p['g_step_D']['identical']}/{p['g_step_D']['n']} identical")

    o = p["optimizers"]
    opt_ok = (np.isclose(o["d_lr"], settings.d_lr) and np.isclose(o["g_lr"], settings.g_lr / (1 + settings.g_decay))
              and o["d_clip"] == settings.clipvalue == o["g_clip"])
    ctx.metric("d_lr", settings.d_lr)
    ctx.metric("g_lr", settings.g_lr)
    ctx.check("optimizers_as_handout", bool(opt_ok and settings.d_lr == 8e-4 and settings.g_lr == 4e-4 and settings.clipvalue == 1.0),
              {"es": "RMSprop, lr 8e-4 (D) y 4e-4 (G), clipvalue 1.0; cada optimizador solo ve su red",
               "en": "RMSprop, lr 8e-4 (D) and 4e-4 (G), clipvalue 1.0; each optimizer sees only its own network"},
              expected=[8e-4, 4e-4, 1.0], observed=[settings.d_lr, settings.g_lr, settings.clipvalue])
    decay_check(ctx, settings)

    real = ctx.data.x_train[:16]
    literal, toggled = handout_recipe(settings, real, toggle=False), handout_recipe(settings, real, toggle=True)
    ctx.metric("keras3_recipe_d_trains_in_dm", literal["d_trains_in_dm"],
               note={"es": "la receta del enunciado tal cual, en Keras 3", "en": "the handout's recipe as written, in Keras 3"})
    ctx.metric("keras3_recipe_d_frozen_in_am", literal["d_frozen_in_am"])
    ctx.metric("keras3_toggled_d_trains_in_dm", toggled["d_trains_in_dm"])
    mark = lambda r: ["✓" if r[k] else "✗" for k in ("d_trains_in_dm", "d_frozen_in_am", "g_trains_in_am")]
    ctx.table("keras3_trainable", [
        {"es": "receta", "en": "recipe"}, {"es": "D entrena en DM", "en": "D trains in DM"},
        {"es": "D congelado en AM", "en": "D frozen in AM"}, {"es": "G entrena en AM", "en": "G trains in AM"}],
        [["DM.compile; D.trainable = False; AM.compile", *mark(literal)],
         ["+ D.trainable = True / False before each train_on_batch", *mark(toggled)]],
        {"es": "Medido en Keras 3 con un lote real: qué hace la receta DM/AM del enunciado",
         "en": "Measured in Keras 3 on a real batch: what the handout's DM/AM recipe does"})
    ctx.check("handout_recipe_measured", True,
              {"es": f"en Keras {keras.__version__}, la receta literal {'sí' if literal['d_trains_in_dm'] else 'NO'} entrena D en DM; nuestro paso no depende de trainable",
               "en": f"in Keras {keras.__version__}, the literal recipe {'does' if literal['d_trains_in_dm'] else 'does NOT'} train D in DM; our step does not depend on trainable"},
              expected="measured", observed=literal)


def decay_check(ctx, settings: GanSettings) -> None:
    """Keras 2's decay: lr_t = lr / (1 + decay * t), t the optimizer's update count."""
    opt = rmsprop(settings.d_lr, settings.d_decay, settings.clipvalue)
    t = 5000
    opt.iterations.assign(t)  # as if D had already made t updates
    got = current_lr(opt)
    want = settings.d_lr / (1 + settings.d_decay * t)
    ctx.metric("d_lr_after_5000", got, note={"es": "con el decay de Keras 2 (6e-8)", "en": "with Keras 2's decay (6e-8)"})
    ctx.metric("decay_lr_drop_5000", 1 - got / settings.d_lr)
    ctx.check("keras2_decay", bool(np.isclose(got, want, rtol=1e-6)),
              {"es": "InverseTimeDecay reproduce lr / (1 + decay·t) de Keras 2", "en": "InverseTimeDecay reproduces Keras 2's lr / (1 + decay·t)"},
              expected=want, observed=got)
