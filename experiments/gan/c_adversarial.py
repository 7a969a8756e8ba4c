"""1.2c: the adversarial wiring, with the freezing proved on the weights.

Our GAN's step trains D with G fixed, then G through a frozen D, by giving
each optimizer only its own network's variables. The handout instead compiles
DM, sets D.trainable = False and compiles AM; this item also runs that recipe
literally in Keras 3 and measures what it does.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from experiments.gan.models import (GAN, GanSettings, build_discriminator, build_gan, build_generator, current_lr,
                                    rmsprop, sample_noise)
from harness.locale import localise
from harness.registry import item
from harness.train.steps import run_once
from harness.words import words

W = words(__file__)

DECAY_UPDATES = 5000  # D's updates after which the Keras 2 decay is checked (the metric d_lr_after_5000)

NOTES = W.table("notes")
CHECKS = W.table("checks")
# Filled with the Keras version that ran and whether the literal recipe trained D in DM.
RECIPE_DETAIL = W("recipe_detail")
CAPTIONS = W.table("captions")
PROOF_COLUMNS = W.list("proof_columns")
RECIPE_COLUMNS = W.list("recipe_columns")


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


PROOF_WORDS = W("proof_words")


def proof_figure(proof: dict[str, Any], lang: str) -> Any:
    """Per step and network: how many weights changed and how many stayed bit-identical."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = PROOF_WORDS[lang]
    keys = list(zip(("d_step_D", "d_step_G", "g_step_D", "g_step_G"), w["steps"]))
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    _proof_bars(ax, proof, keys, w, height=0.8, fontsize=8, gap=0.4,
                note=lambda change: f"max |Δ| = {change['max_abs_change']:.2e}")
    ax.set_yticks(range(len(keys)), [label for _, label in keys])
    ax.invert_yaxis()
    ax.set_xlim(0, max(proof[k]["n"] for k, _ in keys) * 1.55)
    ax.set_xlabel(w["tensors"])
    ax.set_title(w["title"], fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def proof_screen_figure(proof: dict[str, Any], lang: str) -> Any:
    """The same bars drawn for a slide: taller than wide, so it sits beside the talking points
    where the box is tall enough for rows of large text (the report's strip, shown full width
    under them, left 225 px for four rows and their notes); shorter words, the legend on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    w = PROOF_WORDS[lang]
    keys = list(zip(("d_step_D", "d_step_G", "g_step_D", "g_step_G"), w["steps"]))
    fig, ax = plt.subplots(figsize=(5.6, 4.4))

    def short_note(change: dict[str, Any]) -> str:
        return f"{w['max']} |Δ| {localise(format(change['max_abs_change'], '.1e'), lang)}"

    _proof_bars(ax, proof, keys, w, height=0.55, fontsize=9, gap=0.5, note=short_note)
    ax.set_yticks(range(len(keys)), [label for _, label in keys], fontsize=9)
    ax.tick_params(axis="x", labelsize=9)
    ax.invert_yaxis()
    n_max = max(proof[k]["n"] for k, _ in keys)
    ax.set_xlim(0, n_max * 2.0)  # room for the note beside the longest bar
    ax.set_xticks([t for t in MaxNLocator(nbins=3, integer=True).tick_values(0, n_max) if 0 <= t <= n_max])
    ax.set_xlabel(w["screen_tensors"], fontsize=9)
    ax.set_title(w["screen_title"], fontsize=10, pad=26)
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False,
              handlelength=1.2, columnspacing=1.0, borderaxespad=0.1)
    fig.tight_layout()
    return fig


def _proof_bars(ax: Any, proof: dict[str, Any], keys: list[tuple[str, str]], w: dict[str, Any], height: float,
                fontsize: float, gap: float, note: Any) -> None:
    """One bar per step and network: the tensors that changed (red), then the bit-identical ones
    (green), with a note after it: note(change) for a changed network, "all identical" otherwise."""
    for i, (key, _) in enumerate(keys):
        change = proof[key]
        ax.barh(i, change["changed"], height=height, color="#e76f51", label=w["changed"] if i == 0 else None)
        ax.barh(i, change["identical"], height=height, left=change["changed"], color="#2a9d8f",
                label=w["identical"] if i == 0 else None)
        text = note(change) if change["changed"] else w["all_identical"]
        ax.text(change["n"] + gap, i, text, va="center", fontsize=fontsize)


def proof_row(step: str, net: str, change: dict[str, Any]) -> list[Any]:
    return [step, net, change["n"], change["changed"], change["identical"], change["max_abs_change"]]


def d_verdicts(gan: GAN, real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """D's mean probability of 'real' on the real batch and on fakes, in inference mode (no dropout)."""
    return {"real": float(np.mean(gan.discriminator(real, training=False))),
            "fake": float(np.mean(gan.discriminator(fake, training=False)))}


def freezing_proof(gan: GAN, real: np.ndarray) -> dict[str, dict[str, Any]]:
    """One D step on the real batch, then one G step of as many images; what changed in each network after each,
    and where D's step moved its verdicts: labels 1 for reals and 0 for fakes push D(real) up and D(fake) down."""
    d0, g0, rng0 = snapshot(gan.discriminator), snapshot(gan.generator), rng_states(gan.discriminator)
    fake = np.asarray(gan.generator(sample_noise(gan.noise, len(real), gan.noise_dim, 3), training=False))
    before = d_verdicts(gan, real, fake)
    run_once(lambda: ops.stack(gan.d_step(real)), gan.state())  # compiled, as training runs it
    out = {"d_step_D": diff(d0, gan.discriminator), "d_step_G": diff(g0, gan.generator),
           "d_verdicts": {"before": before, "after": d_verdicts(gan, real, fake)}}
    d1, g1 = snapshot(gan.discriminator), snapshot(gan.generator)
    run_once(lambda: ops.stack(gan.g_step(len(real))), gan.state())
    out.update({"g_step_D": diff(d1, gan.discriminator), "g_step_G": diff(g1, gan.generator)})
    rng1 = rng_states(gan.discriminator)
    out["rng_advanced"] = {"value": any(not np.array_equal(rng0[k], rng1[k]) for k in rng0), "n": len(rng0)}
    out["optimizers"] = {"d": optimizer_reading(gan.d_optimizer), "g": optimizer_reading(gan.g_optimizer),
                         "d_lr": current_lr(gan.d_optimizer), "g_lr": current_lr(gan.g_optimizer),
                         "d_clip": gan.d_optimizer.clipvalue, "g_clip": gan.g_optimizer.clipvalue,
                         "d_iterations": int(gan.d_optimizer.iterations.numpy()),
                         "g_iterations": int(gan.g_optimizer.iterations.numpy())}
    return out


def optimizer_reading(optimizer: Any) -> dict[str, Any]:
    """What the optimizer object itself holds: Keras 2's RMSprop(lr, clipvalue, decay) as our schedule writes it."""
    schedule = optimizer._learning_rate if hasattr(optimizer, "_learning_rate") else optimizer.learning_rate
    lr = getattr(schedule, "initial_learning_rate", None)
    return {"class": "RMSprop" if isinstance(optimizer, keras.optimizers.RMSprop) else type(optimizer).__name__,
            "lr": float(lr if lr is not None else current_lr(optimizer)),
            "decay": float(getattr(schedule, "decay_rate", 0.0)),
            "rho": float(getattr(optimizer, "rho", float("nan"))),
            "clipvalue": None if optimizer.clipvalue is None else float(optimizer.clipvalue)}


def keras2_decay(settings: GanSettings, updates: int = DECAY_UPDATES) -> dict[str, float]:
    """Keras 2's decay: lr_t = lr / (1 + decay * t), t the optimizer's update count.
    The rate our schedule gives after `updates` updates of D, and the rate that formula wants."""
    optimizer = rmsprop(settings.d_lr, settings.d_decay, settings.clipvalue)
    optimizer.iterations.assign(updates)  # as if D had already made that many updates
    return {"got": current_lr(optimizer), "want": settings.d_lr / (1 + settings.d_decay * updates)}


def handout_recipe(settings: GanSettings, real: np.ndarray, toggle: bool) -> dict[str, bool]:
    """The handout's DM/AM recipe run in Keras 3: does D train in DM, and is it frozen in AM?

    toggle=False is the handout as written (D.trainable = False once, between the
    two compiles); toggle=True flips D.trainable before each train_on_batch.
    """
    discriminator = build_discriminator(settings.depth, settings.dropout)
    generator = build_generator(settings.noise_dim, settings.depth)
    dm = keras.Sequential([discriminator], name="DM")
    dm.compile(loss="binary_crossentropy", optimizer=rmsprop(settings.d_lr, settings.d_decay, settings.clipvalue), metrics=["accuracy"])
    discriminator.trainable = False
    am = keras.Sequential([generator, discriminator], name="AM")
    am.compile(loss="binary_crossentropy", optimizer=rmsprop(settings.g_lr, settings.g_decay, settings.clipvalue), metrics=["accuracy"])
    n = len(real)
    fake = generator.predict(sample_noise(settings.noise, n, settings.noise_dim, 1), verbose=0)
    labels = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]).astype("float32")
    if toggle:
        discriminator.trainable = True
    before = snapshot(discriminator)
    with warnings.catch_warnings():
        # As written, DM has no trainable weights left and Keras says so: the very defect measured here.
        warnings.filterwarnings("ignore", message="The model does not have any trainable weights")
        dm.train_on_batch(np.concatenate([real, fake]), labels)
    d_trains_in_dm = diff(before, discriminator)["changed"] > 0
    if toggle:
        discriminator.trainable = False
    before_d, before_g = snapshot(discriminator), snapshot(generator)
    am.train_on_batch(sample_noise(settings.noise, n, settings.noise_dim, 2), np.ones((n, 1), "float32"))
    return {"d_trains_in_dm": d_trains_in_dm, "d_frozen_in_am": diff(before_d, discriminator)["changed"] == 0,
            "g_trains_in_am": diff(before_g, generator)["changed"] > 0}


@dataclass
class AdversarialResult:
    settings: GanSettings
    proof: dict[str, dict[str, Any]]     # freezing_proof
    decay: dict[str, float]              # keras2_decay
    literal: dict[str, bool]             # handout_recipe as written
    toggled: dict[str, bool]             # handout_recipe with trainable flipped before each step


@item("1.2c", "Adversarial wiring and the freezing proof", config=("gan",))
def adversarial(ctx):
    gan_cfg = ctx.settings("gan")
    settings = GanSettings.from_config(gan_cfg)
    gan = build_gan(settings)
    real = ctx.data.x_train[np.random.default_rng(ctx.seed).integers(0, len(ctx.data.x_train), gan_cfg["batch_size"])]
    proof = freezing_proof(gan, real)
    decay = keras2_decay(settings)
    recipe_batch = ctx.data.x_train[:16]
    literal = handout_recipe(settings, recipe_batch, toggle=False)
    toggled = handout_recipe(settings, recipe_batch, toggle=True)
    record(ctx, AdversarialResult(settings, proof, decay, literal, toggled))


def record(ctx, result: AdversarialResult) -> None:
    record_freezing(ctx, result.proof)
    record_optimizers(ctx, result.settings, result.proof["optimizers"], result.decay)
    record_recipe(ctx, result.literal, result.toggled)


def record_freezing(ctx, proof: dict[str, dict[str, Any]]) -> None:
    d_step_ok = proof["d_step_D"]["changed"] > 0 and proof["d_step_G"]["changed"] == 0
    g_step_ok = proof["g_step_G"]["changed"] > 0 and proof["g_step_D"]["changed"] == 0
    ctx.metric("d_step_D_changed", proof["d_step_D"]["changed"], "variables")
    ctx.metric("g_step_D_changed", proof["g_step_D"]["changed"], "variables", note=NOTES["g_step_D_changed"])
    ctx.metric("d_step_G_changed", proof["d_step_G"]["changed"], "variables", note=NOTES["d_step_G_changed"])
    ctx.metric("g_step_G_changed", proof["g_step_G"]["changed"], "variables")
    ctx.metric("d_weights", proof["d_step_D"]["n"], "variables")
    ctx.metric("g_weights", proof["d_step_G"]["n"], "variables")
    ctx.metric("dropout_rng_advanced", bool(proof["rng_advanced"]["value"]))
    rows = [proof_row("1: D", "D", proof["d_step_D"]), proof_row("1: D", "G", proof["d_step_G"]),
            proof_row("2: G", "D", proof["g_step_D"]), proof_row("2: G", "G", proof["g_step_G"])]
    ctx.table("freezing_proof", PROOF_COLUMNS, rows, CAPTIONS["freezing_table"])
    ctx.figure("freezing_proof", lambda lang: proof_figure(proof, lang), CAPTIONS["freezing_figure"],
               screen=lambda lang: proof_screen_figure(proof, lang))
    ctx.check("d_step_trains_D_only", d_step_ok, CHECKS["d_step_trains_D_only"],
              expected="D changed, G identical",
              observed=f"D {proof['d_step_D']['changed']}/{proof['d_step_D']['n']} changed, G {proof['d_step_G']['identical']}/{proof['d_step_G']['n']} identical")
    ctx.check("g_step_trains_G_only", g_step_ok, CHECKS["g_step_trains_G_only"],
              expected="G changed, D identical",
              observed=f"G {proof['g_step_G']['changed']}/{proof['g_step_G']['n']} changed, D {proof['g_step_D']['identical']}/{proof['g_step_D']['n']} identical")
    verdicts = proof["d_verdicts"]
    before, after = verdicts["before"], verdicts["after"]
    ctx.metric("d_real_before", before["real"])
    ctx.metric("d_real_after", after["real"])
    ctx.metric("d_fake_before", before["fake"])
    ctx.metric("d_fake_after", after["fake"])
    # One large first RMSprop step may move every output down; the fakes must move down further than the reals.
    separates = after["fake"] < before["fake"] and after["real"] - after["fake"] > before["real"] - before["fake"]
    ctx.check("d_step_labels_real_1_fake_0", separates,
              CHECKS["d_step_labels_real_1_fake_0"], expected="D(fake) down, D(real) − D(fake) up",
              observed=[round(before["real"], 4), round(after["real"], 4), round(before["fake"], 4), round(after["fake"], 4)])


# The handout's two optimizers: RMSprop(lr=0.0008, clipvalue=1.0, decay=6e-8) for D,
# RMSprop(lr=0.0004, clipvalue=1.0, decay=3e-8) for G; rho is Keras's default. Constants, never the run's settings.
HANDOUT_OPTIMIZERS = {"d": {"class": "RMSprop", "lr": 8e-4, "decay": 6e-8, "rho": 0.9, "clipvalue": 1.0},
                      "g": {"class": "RMSprop", "lr": 4e-4, "decay": 3e-8, "rho": 0.9, "clipvalue": 1.0}}


def optimizers_match(readings: dict[str, dict[str, Any]]) -> bool:
    same = lambda a, b: bool(np.isclose(a, b, rtol=1e-6, atol=0.0)) if isinstance(a, float) and isinstance(b, float) \
        else a == b  # noqa: E731
    return all(same(readings[net].get(key), want) for net, handout in HANDOUT_OPTIMIZERS.items()
               for key, want in handout.items())


def record_optimizers(ctx, settings: GanSettings, optimizers: dict[str, Any], decay: dict[str, float]) -> None:
    readings = {net: optimizers[net] for net in HANDOUT_OPTIMIZERS}
    ctx.metric("d_lr", readings["d"]["lr"])
    ctx.metric("g_lr", readings["g"]["lr"])
    # Read from the optimizers the models were compiled with: a rate, decay, rho or clipping changed in the
    # code or through --set fails here.
    ctx.check("optimizers_as_handout", optimizers_match(readings), CHECKS["optimizers_as_handout"],
              expected=HANDOUT_OPTIMIZERS, observed=readings)
    got, want = decay["got"], decay["want"]
    ctx.metric("d_lr_after_5000", got, note=NOTES["d_lr_after_5000"])
    ctx.metric("decay_lr_drop_5000", 1 - got / settings.d_lr)
    ctx.check("keras2_decay", bool(np.isclose(got, want, rtol=1e-6)), CHECKS["keras2_decay"], expected=want, observed=got)


def record_recipe(ctx, literal: dict[str, bool], toggled: dict[str, bool]) -> None:
    trains = literal["d_trains_in_dm"]
    ctx.metric("keras3_recipe_d_trains_in_dm", trains,
               note=W.fill("recipe_detail", version=keras.__version__, trains=W("recipe_trains", "yes" if trains else "no")))
    ctx.metric("keras3_recipe_d_frozen_in_am", literal["d_frozen_in_am"])
    ctx.metric("keras3_toggled_d_trains_in_dm", toggled["d_trains_in_dm"])
    mark = lambda r: ["✓" if r[k] else "✗" for k in ("d_trains_in_dm", "d_frozen_in_am", "g_trains_in_am")]
    ctx.table("keras3_trainable", RECIPE_COLUMNS,
              [["DM.compile; D.trainable = False; AM.compile", *mark(literal)],
               [W("record_recipe", "table_keras3_trainable"), *mark(toggled)]],
              CAPTIONS["keras3_trainable"])
    # What the literal recipe does is a measurement (the table, the metric); the workaround the report gives must work.
    ctx.check("toggled_recipe_trains_both", all(toggled.values()), CHECKS["toggled_recipe_trains_both"],
              expected=[True, True, True], observed=[toggled[k] for k in ("d_trains_in_dm", "d_frozen_in_am", "g_trains_in_am")])
