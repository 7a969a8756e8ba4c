"""eval.classifier: the MNIST classifier whose feature space scores every generator.

It is trained like any item (cached, fingerprinted), and it proves it can be
trusted before anyone uses it: its test accuracy, and four reference sets
scored like any generator (experiments/evaluation/references.py): real
training digits (the floor of the FID scale: what a perfect generator would
score with this many samples), uniform noise (the ceiling), blank images and a
one-digit generator. A fidelity or diversity metric is quoted only if it tells
these apart.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.evaluation import references
from experiments.evaluation.model_rows import EVALUATOR_ITEM
from harness.errors import ConfigError
from harness.train import evaluation as feature_space
from harness.train.evaluation import Evaluator, build_classifier, reference_key
from harness.registry import item
from harness.words import words

W = words(__file__)

ID = EVALUATOR_ITEM
TITLE = "MNIST evaluator: CNN classifier for FID-MNIST and class coverage"
ACCURACY_BAR = 0.99  # issue 5: >= 99.0 % test accuracy at the full profile

NOTES = W.table("notes")
CHECKS = {
    "test_accuracy_at_least_99pct": W("checks", "test_accuracy_at_least_99pct"),
    # Below the full profile the bar is not graded: the reason gives the profile and the accuracy reached.
    "test_accuracy_not_graded": W("checks", "test_accuracy_not_graded"),
    "fid_of_test_with_itself_is_0": W("checks", "fid_of_test_with_itself_is_0"),
    "fid_floor_below_ceiling": W("checks", "fid_floor_below_ceiling"),
    "sqrtm_imaginary_residue_negligible": W("checks", "sqrtm_imaginary_residue_negligible"),
    **references.CHECKS,
}
CAPTIONS = {
    "confusion": W("captions", "confusion"),
    "fid_sanity": W("captions", "fid_sanity"),
    "accuracy_curve": W("captions", "accuracy_curve"),
    "sanity": W("captions", "sanity"),
    **references.CAPTIONS,
}
SANITY_COLUMNS = W.list("sanity_columns")


def bilingual_format(texts: dict[str, str], **values: Any) -> dict[str, str]:
    return {lang: text.format(**values) for lang, text in texts.items()}


def training_settings(settings: dict[str, Any]) -> tuple[int, int, float]:
    """(epochs, batch size, learning rate) from the eval section, checked before training."""
    epochs, batch = settings["evaluator_epochs"], settings["evaluator_batch_size"]
    lr = settings["evaluator_learning_rate"]
    if batch < 1:
        raise ConfigError(f"setting 'eval.evaluator_batch_size' = {batch} is out of range: it must be >= 1")
    if lr <= 0:
        raise ConfigError(f"setting 'eval.evaluator_learning_rate' = {lr} is out of range: it must be > 0")
    return epochs, batch, lr


def train(ctx, epochs: int, batch: int, lr: float):
    """Adam on sparse cross-entropy; the test set is only watched (accuracy curve), never used to select.

    The learning rate decays to zero along a cosine over the whole run: with a
    constant rate this CNN stalls short of the 99 % bar within the epoch budget;
    the decay takes it past.
    """
    import keras

    data = ctx.data
    model = build_classifier()
    schedule = keras.optimizers.schedules.CosineDecay(lr, decay_steps=epochs * math.ceil(len(data.x_train) / batch))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(
        data.x_train, data.y_train, epochs=epochs, batch_size=batch, shuffle=True, verbose=0,
        validation_data=(data.x_test, data.y_test), callbacks=[ctx.keras_progress()],
    )
    return model, history.history, time.perf_counter() - start


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 10) -> np.ndarray:
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


@dataclass
class Assessment:
    """The trained classifier judged as an evaluator: its test scores and the two ends of the FID scale."""

    history: dict[str, list[float]]     # Keras's per-epoch history
    train_s: float
    test_accuracy: float
    test_loss: float
    floor: dict[str, Any]               # the evaluator's scores of real training digits
    ceiling: dict[str, Any]             # ... and of uniform noise
    blank: dict[str, Any]               # ... of all-black images
    one_digit: dict[str, Any]           # ... of copies of real 1s (a fully collapsed generator)
    confusion: np.ndarray               # on the test set
    n_reference: int                    # test images the FID compares against
    feature_dim: int
    self_fid: float                     # the test set against itself: 0 unless the formula is wrong


def scale_ends(evaluator: Evaluator, data, seed: int) -> dict[str, Any]:
    """The reference sets' scores and the test-set confusion matrix of an evaluator."""
    images = references.reference_images(data, np.random.default_rng(seed))
    scores = {name: evaluator.score(x) for name, x in images.items()}
    labels, _ = evaluator.classify(data.x_test)
    reference = evaluator.reference
    self_fid, _ = feature_space.frechet_distance(reference.mu, reference.sigma, reference.mu, reference.sigma)
    return {"floor": scores["real"], "ceiling": scores["noise"], "blank": scores["blank"],
            "one_digit": scores["one_digit"], "confusion": confusion_matrix(data.y_test, labels),
            "n_reference": evaluator.n_reference, "feature_dim": int(reference.features.shape[1]), "self_fid": self_fid}


@item(ID, TITLE, config=("eval",), shows=("evaluator",))
def mnist_evaluator(ctx) -> None:
    epochs, batch, lr = training_settings(ctx.settings("eval"))
    data = ctx.data
    model, history, train_s = train(ctx, epochs, batch, lr)
    test_loss, test_accuracy = (float(v) for v in model.evaluate(data.x_test, data.y_test, batch_size=500, verbose=0))
    ctx.save_model("classifier", model)

    # Keyed like Evaluator.from_output, so the items that score generators in this
    # process reuse the test-set features computed here.
    key = reference_key(ctx.out_dir / "models" / "classifier.keras", data.x_test)
    ends = scale_ends(Evaluator(model, data.x_test, cache_key=key), data, ctx.seed)
    record(ctx, Assessment(history, train_s, test_accuracy, test_loss, **ends))


def record(ctx, result: Assessment) -> None:
    floor, ceiling = result.floor, result.ceiling
    record_metrics(ctx, result)
    record_confusion(ctx, result.confusion)
    record_checks(ctx, result.test_accuracy, floor, ceiling)
    ctx.check("fid_of_test_with_itself_is_0", result.self_fid <= 1e-6 * max(1.0, ceiling["fid"]),
              CHECKS["fid_of_test_with_itself_is_0"], expected=0.0, observed=result.self_fid)
    scores = reference_scores(result)
    references.record(ctx, scores)
    record_figures(ctx, result.confusion, floor, ceiling, result.history)
    record_sanity_table(ctx, scores)
    ctx.save_value("history", {k: [float(x) for x in v] for k, v in result.history.items()})
    ctx.save_value("confusion", result.confusion.tolist())
    ctx.save_value("sanity", scores)
    ctx.save_value("reference_rows", references.rows(scores, ID))


def reference_scores(result: Assessment) -> dict[str, dict[str, Any]]:
    """The reference sets' scores by name (references.LABELS)."""
    return {"real": result.floor, "noise": result.ceiling, "blank": result.blank, "one_digit": result.one_digit}


def record_metrics(ctx, result: Assessment) -> None:
    floor, ceiling = result.floor, result.ceiling
    n = floor["n"]
    ctx.metric("test_accuracy", result.test_accuracy,
               note=bilingual_format(NOTES["test_accuracy"], profile=ctx.profile, n_train=len(ctx.data.x_train)))
    ctx.metric("fid_floor", floor["fid"], note=bilingual_format(NOTES["fid_floor"], n=n, n_reference=result.n_reference))
    ctx.metric("fid_ceiling", ceiling["fid"], note=bilingual_format(NOTES["fid_ceiling"], n=ceiling["n"]))
    ctx.metric("test_loss", result.test_loss, unit="nats")
    ctx.metric("fid_ceiling_over_floor", ceiling["fid"] / max(floor["fid"], 1e-12))
    ctx.metric("train_s", result.train_s, unit="s")
    ctx.metric("n_train", len(ctx.data.x_train))
    ctx.metric("n_reference", result.n_reference)
    ctx.metric("n_floor", n)
    ctx.metric("feature_dim", result.feature_dim)
    for name, scores in (("floor", floor), ("ceiling", ceiling)):
        ctx.metric(f"{name}_precision", scores["precision"])
        ctx.metric(f"{name}_recall", scores["recall"])
        ctx.metric(f"{name}_coverage_entropy", scores["coverage_entropy"], unit="nats")
        ctx.metric(f"{name}_classes_under_2pct", scores["classes_under_2pct"])
        ctx.metric(f"{name}_mean_confidence", scores["mean_confidence"])
    ctx.metric("fid_imag_residue_max", max(floor["fid_imag_residue"], ceiling["fid_imag_residue"]))


def record_confusion(ctx, confusion: np.ndarray) -> None:
    """The evaluator's most frequent mistake: which digit it takes for which."""
    errors = confusion - np.diag(np.diag(confusion))
    true, predicted = np.unravel_index(errors.argmax(), errors.shape)
    ctx.metric("most_confused_true", int(true))
    ctx.metric("most_confused_predicted", int(predicted))
    ctx.metric("most_confused_count", int(errors[true, predicted]))
    ctx.metric("n_test_errors", int(errors.sum()))


def record_checks(ctx, accuracy: float, floor: dict, ceiling: dict) -> None:
    reduced = None if ctx.profile == "full" else bilingual_format(CHECKS["test_accuracy_not_graded"],
                                                                  profile=ctx.profile, percent=100 * accuracy)
    ctx.check("test_accuracy_at_least_99pct", accuracy >= ACCURACY_BAR, CHECKS["test_accuracy_at_least_99pct"],
              expected=">= 0.99", observed=round(accuracy, 4), not_graded=reduced)
    ctx.check("fid_floor_below_ceiling", floor["fid"] < ceiling["fid"], CHECKS["fid_floor_below_ceiling"],
              expected="floor < ceiling", observed=[round(floor["fid"], 3), round(ceiling["fid"], 3)])
    residue = max(floor["fid_imag_residue"], ceiling["fid_imag_residue"])
    ctx.check("sqrtm_imaginary_residue_negligible", residue <= 1e-3 * max(1.0, ceiling["fid"]),
              CHECKS["sqrtm_imaginary_residue_negligible"], expected="<= 1e-3 x FID", observed=residue)


FIGURE_WORDS = W("figure_words")


def record_figures(ctx, confusion: np.ndarray, floor: dict, ceiling: dict, history: dict) -> None:
    ctx.figure("confusion", lambda lang: confusion_figure(confusion, lang), CAPTIONS["confusion"])
    ctx.figure("fid_sanity", lambda lang: sanity_figure(floor, ceiling, lang),
               bilingual_format(CAPTIONS["fid_sanity"], n_floor=floor["n"], n_ceiling=ceiling["n"]))
    ctx.figure("accuracy_curve", lambda lang: accuracy_figure(history, lang), CAPTIONS["accuracy_curve"])


def confusion_figure(confusion: np.ndarray, lang: str):
    import matplotlib.pyplot as plt

    w = FIGURE_WORDS[lang]
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    # Log colours: the diagonal holds orders of magnitude more than the error cells, which would vanish on a linear scale.
    im = ax.imshow(np.log10(confusion + 1), cmap="Blues")
    for (i, j), count in np.ndenumerate(confusion):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                    color="white" if i == j else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel=w["predicted"], ylabel=w["true"])
    fig.colorbar(im, ax=ax, label=w["count"])
    return fig


def sanity_figure(floor: dict, ceiling: dict, lang: str):
    import matplotlib.pyplot as plt

    w = FIGURE_WORDS[lang]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    values = [floor["fid"], ceiling["fid"]]
    bars = ax.bar([w["floor"], w["ceiling"]], values, color=["#2a9d8f", "#e76f51"])
    ax.set_yscale("log")
    ax.bar_label(bars, labels=[f"{v:.3g}" for v in values])
    ax.set_ylabel(w["fid"])
    ax.margins(y=0.2)
    return fig


def accuracy_figure(history: dict, lang: str):
    import matplotlib.pyplot as plt

    w = FIGURE_WORDS[lang]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    ax.plot(epochs, history["accuracy"], "o-", label=w["fit"])
    ax.plot(epochs, history["val_accuracy"], "s-", label=w["held_out"])
    ax.axhline(0.99, color="gray", ls="--", lw=1, label="99 %")
    ax.set(xlabel=w["epoch"], ylabel=w["accuracy"], xticks=epochs)
    ax.legend()
    return fig


def record_sanity_table(ctx, scores: dict[str, dict[str, Any]]) -> None:
    rows = [[references.LABELS[name], s["n"], round(s["fid"], 3), round(s["density"], 3), round(s["coverage"], 3),
             round(s["precision"], 3), round(s["recall"], 3), round(s["coverage_entropy"], 3),
             s["classes_under_5pct"], s["classes_under_2pct"], round(s["mean_confidence"], 3)]
            for name, s in scores.items()]
    ctx.table("sanity", SANITY_COLUMNS, rows, CAPTIONS["sanity"])
    references.record_table(ctx, scores, CAPTIONS["metric_references"])
