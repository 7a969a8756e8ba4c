"""1.1e: train the handout's VAE with RMSprop; the base model every later 1.1 item reuses."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from harness.figure_text import series
from harness.train.hardware import resolve_precision
from harness.train.timing import SAMPLE_BATCH, TIMED_CALLS
from harness.registry import item
from harness.words import words

from experiments.vae import common
from experiments.vae import models
from experiments.vae.common import Check

W = words(__file__)

CURVES = ("loss", "reconstruction_loss", "kl_loss")
CURVE_WORDS = W("curve_words")

UNITS = {"test_neg_elbo": "nats", "test_nll_iwae": "nats", "images_per_s": "img/s", "test_nll_iwae_se": "nats",
         "test_reconstruction": "nats", "test_kl": "nats", "s_per_epoch": "s", "warmup_s": "s", "steady_train_s": "s", "train_s": "s", "train_cpu_s": "s",
         "final_train_loss": "nats", "final_val_loss": "nats", "sample_ips": "img/s"}
NOTES = {
    "test_neg_elbo": common.likelihood_note,
    "test_nll_iwae": common.likelihood_note,
    "images_per_s": W("notes", "images_per_s"),
    "s_per_epoch": W("notes", "s_per_epoch"),
    "warmup_s": W("notes", "warmup_s"),
    "steady_train_s": W("notes", "steady_train_s"),
    "fid_se": W("notes", "fid_se"),
    "test_nll_iwae_se": W("notes", "test_nll_iwae_se"),
    "train_cpu_s": W("notes", "train_cpu_s"),
    "fid": common.fid_note,
}
ARITHMETIC_NOTE = W("arithmetic_note")

EPOCH_COLUMNS = W.list("epoch_columns")
CAPTIONS = W.table("captions")
CHECKS = W.table("checks")
# The reduced profiles cut the epochs on purpose: the 10–15 range is graded only at `full`.
REDUCED_EPOCHS = W("reduced_epochs")
VALIDATED = ("val_loss", "val_reconstruction_loss", "val_kl_loss")


@dataclass
class TrainedBase:
    """The trained base model and what 1.1e reports about it."""
    vae: models.VAE
    history: dict[str, list[float]]
    epoch_s: list[float]
    row: dict[str, Any]             # its model row (common.measure)
    metrics: dict[str, Any]         # in report order
    epoch_rows: list[list[Any]]     # one per epoch, EPOCH_COLUMNS
    precision: str                  # the vae.precision setting
    profile: str
    checks: dict[str, Check]


# keras.optimizers.RMSprop() as `optimizer='rmsprop'` builds it: the handout names no setting, so Keras's
# defaults are the handout's values.
HANDOUT_RMSPROP = {"class": "RMSprop", "learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-07,
                   "centered": False, "clipvalue": None, "clipnorm": None}


def optimizer_reading(optimizer: Any) -> dict[str, Any]:
    """The optimizer object's own settings, in HANDOUT_RMSPROP's terms."""
    value = lambda v: None if v is None else float(keras.ops.convert_to_numpy(v))  # noqa: E731
    return {"class": "RMSprop" if isinstance(optimizer, keras.optimizers.RMSprop) else type(optimizer).__name__,
            "learning_rate": value(optimizer.learning_rate), "rho": value(getattr(optimizer, "rho", None)),
            "momentum": value(getattr(optimizer, "momentum", None)), "epsilon": value(optimizer.epsilon),
            "centered": bool(getattr(optimizer, "centered", False)), "clipvalue": value(optimizer.clipvalue),
            "clipnorm": value(optimizer.clipnorm)}


def optimizer_matches(reading: dict[str, Any], handout: dict[str, Any] = HANDOUT_RMSPROP) -> bool:
    def same(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return bool(np.isclose(a, b, rtol=1e-6, atol=0.0))
        return a == b
    return all(same(reading.get(key), want) for key, want in handout.items())


def loss_part_errors(history: dict[str, list[float]]) -> list[str]:
    """Where the recorded −ELBO curves break their own arithmetic: 'epoch 1 kl_loss -3.2', 'epoch 2 val_loss ≠ sum'."""
    wrong = []
    for prefix in ("", "val_"):
        totals = history.get(f"{prefix}loss", [])
        for epoch, total in enumerate(totals):
            rec, kl = history[f"{prefix}reconstruction_loss"][epoch], history[f"{prefix}kl_loss"][epoch]
            for name, value in ((f"{prefix}reconstruction_loss", rec), (f"{prefix}kl_loss", kl)):
                if value < -1e-4:
                    wrong.append(f"epoch {epoch + 1} {name} {value:.4g}")
            if abs(total - (rec + kl)) > 1e-3 * max(1.0, abs(total)):
                wrong.append(f"epoch {epoch + 1} {prefix}loss {total:.6g} ≠ {rec + kl:.6g}")
    return wrong


def summarise(vae: models.VAE, run: models.Training, row: dict[str, Any], settings: dict[str, Any],
              n_train: int, profile: str) -> TrainedBase:
    history = run.history
    timing = run.timing  # the first epoch also builds the graph: its extra is the warm-up
    epochs = len(history["loss"])
    metrics = {
        "test_neg_elbo": row["neg_elbo"],
        "test_nll_iwae": row["nll"],
        "images_per_s": n_train / timing.per_unit_s,
        "test_nll_iwae_se": row["nll_se"],
        "test_reconstruction": row["reconstruction"],
        "test_kl": row["kl"],
        "s_per_epoch": timing.per_unit_s,
        "warmup_s": timing.warmup_s,
        "steady_train_s": timing.steady_s,
        "train_s": run.train_s,
        "train_cpu_s": run.cpu_s,
        "epochs": epochs,
        "batch_size": settings["batch_size"],
        "arithmetic": resolve_precision(settings.get("precision", "float32"), "vae.precision"),
        "steps_per_epoch": -(-n_train // settings["batch_size"]),
        "final_train_loss": history["loss"][-1],
        "final_val_loss": _last(history, "val_loss"),
        "active_units": row["active_units"],
        "sample_ips": row["sample_ips"],
        "sample_batch": SAMPLE_BATCH,
        "timed_calls": TIMED_CALLS,
        "n_train": n_train,
        "fid": row["fid"],
        "fid_se": row["fid_se"],
        "classes_under_2pct": row["classes_under_2pct"],
        "precision": row["precision"],
        "recall": row["recall"],
    }
    metrics = {name: value for name, value in metrics.items() if value is not None}
    epoch_rows = [[epoch + 1, *(_at(history, key, epoch) for key in EPOCH_KEYS),
                   round(run.epoch_s[epoch], 2), round(n_train / run.epoch_s[epoch], 1)] for epoch in range(epochs)]
    validated = [len(history.get(key, [])) for key in VALIDATED]
    reduced = None if profile == "full" else common.fill(REDUCED_EPOCHS, profile=profile, epochs=epochs)
    checks = {
        # Read from the optimizer that trained, against the handout's vae.compile(optimizer='rmsprop'):
        # a changed rate, rho or clipping (in the code or through --set) fails, not only another class.
        "optimizer_as_handout": Check(optimizer_matches(reading := optimizer_reading(vae.optimizer)),
                                      HANDOUT_RMSPROP, reading),
        "epochs_between_10_and_15": Check(10 <= epochs <= 15, "10–15", epochs, not_graded=reduced),
        # One held-out −ELBO, reconstruction and KL per epoch, as the handout's validation_data gives.
        # The curves the training step itself recorded: a KL of the wrong sign or parts that do not make the
        # total (a term dropped from the loss, or one left out of its tracker) fail on the first epoch.
        "loss_parts_add_up": Check(not (bad := loss_part_errors(history)), "KL ≥ 0, reconstruction ≥ 0, −ELBO = sum",
                                   bad[:3] or "every epoch"),
        "validated_on_test_set": Check(validated == [epochs] * len(VALIDATED), f"{epochs} per curve", validated),
    }
    return TrainedBase(vae, history, run.epoch_s, row, metrics, epoch_rows, settings.get("precision", "float32"),
                       profile, checks)


EPOCH_KEYS = ("loss", "reconstruction_loss", "kl_loss", *VALIDATED)


def _at(history: dict[str, list[float]], key: str, epoch: int) -> float | str:
    """One epoch's value of a curve, a dash where the curve was not recorded (validation skipped)."""
    values = history.get(key, [])
    return round(values[epoch], 2) if epoch < len(values) else "—"


def _last(history: dict[str, list[float]], key: str) -> float | None:
    return history[key][-1] if history.get(key) else None


def record(ctx, result: TrainedBase) -> None:
    arithmetic = common.fill(ARITHMETIC_NOTE, precision=result.precision)
    common.record_metrics(ctx, result.metrics, UNITS, {**NOTES, "arithmetic": arithmetic})
    ctx.figure("learning_curves", lambda lang: curves_figure(result.history, lang), CAPTIONS["learning_curves"])
    ctx.table("epochs", EPOCH_COLUMNS, result.epoch_rows, CAPTIONS["epochs"], detail=True)

    ctx.save_model("vae", result.vae)
    ctx.save_value("history", {**result.history, "epoch_s": result.epoch_s})
    ctx.save_value("model_rows", common.public_rows([result.row]))

    common.record_checks(ctx, result.checks, CHECKS)
    common.check_latent_dim(ctx, result.vae.latent_dim)


def curves_figure(history: dict[str, list[float]], lang: str):
    import matplotlib.pyplot as plt

    w = CURVE_WORDS[lang]
    epochs = range(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, key in zip(axes, CURVES):
        series(ax, epochs, history[key], "o-", lang, label=w["fit"])
        if history.get(f"val_{key}"):
            series(ax, range(1, len(history[f"val_{key}"]) + 1), history[f"val_{key}"], "s--", lang, left=True,
                   label=w["held_out"])
        ax.set_title(w[key], fontsize=10)
        ax.set_xlabel(w["epoch"])
        ax.set_ylabel(w["unit"])
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


@item("1.1e", "VAE training with RMSprop", needs=(common.EVALUATOR_ITEM,), config=("vae", "eval"), shows=("vae_explorer",))
def training(ctx):
    settings = common.settings(ctx)
    vae = models.build_vae(settings, seed=ctx.seed)
    run = models.fit_vae(ctx, vae, settings, "VAE z=2 BCE")
    row = common.measure(ctx, vae, f"VAE z={vae.latent_dim} {settings['loss'].upper()}", training=run)
    record(ctx, summarise(vae, run, row, settings, len(ctx.data.x_train), ctx.profile))
