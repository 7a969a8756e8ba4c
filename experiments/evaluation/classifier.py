"""eval.classifier: the MNIST classifier whose feature space scores every generator.

It is trained like any item (cached, fingerprinted), and it proves it can be
trusted before anyone uses it: its test accuracy, and the two ends of the FID
scale in its feature space: real training digits against the test set (the
floor: what a perfect generator would score with this many samples) and
uniform noise against the test set (the ceiling).
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from experiments.evaluation.model_rows import EVALUATOR_ITEM, ModelRow
from harness.errors import ConfigError
from harness.train.evaluation import Evaluator, build_classifier, reference_key
from harness.registry import item

ID = EVALUATOR_ITEM
TITLE = "MNIST evaluator: CNN classifier for FID-MNIST and class coverage"
ACCURACY_BAR = 0.99  # issue 5: >= 99.0 % test accuracy at the full profile


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
    constant rate this CNN stops near 98.8 % after 3 epochs on 60k images; the
    decay takes it past 99 % in 5.
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
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def sanity_images(data, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The two ends of the scale, each as many images as the test set.

    floor: real training digits (a subset when the training set is larger);
    ceiling: uniform noise in [0, 1].
    """
    n = min(len(data.x_test), len(data.x_train))
    floor = data.x_train[np.sort(rng.choice(len(data.x_train), size=n, replace=False))]
    ceiling = rng.uniform(0.0, 1.0, size=(len(data.x_test), 28, 28, 1)).astype(np.float32)
    return {"floor": floor, "ceiling": ceiling}


def reference_row(label: str, scores: dict[str, Any]) -> dict[str, Any]:
    """A row in the model_rows format (experiments/README.md), for the comparison table."""
    return ModelRow.scored(label, "reference", ID, None, None, scores, n=scores["n"]).as_dict()


@item(ID, TITLE, config=("eval",))
def mnist_evaluator(ctx) -> None:
    epochs, batch, lr = training_settings(ctx.settings("eval"))
    data = ctx.data
    model, history, train_s = train(ctx, epochs, batch, lr)
    test_loss, test_accuracy = (float(v) for v in model.evaluate(data.x_test, data.y_test, batch_size=500, verbose=0))
    ctx.save_model("classifier", model)

    # Keyed like Evaluator.from_output, so the items that score generators in this
    # process reuse the test-set features computed here.
    key = reference_key(ctx.out_dir / "models" / "classifier.keras", data.x_test)
    evaluator = Evaluator(model, data.x_test, cache_key=key)
    images = sanity_images(data, np.random.default_rng(ctx.seed))
    floor, ceiling = evaluator.score(images["floor"]), evaluator.score(images["ceiling"])
    labels, _ = evaluator.classify(data.x_test)
    cm = confusion_matrix(data.y_test, labels)

    record_metrics(ctx, test_accuracy, test_loss, floor, ceiling, train_s, evaluator)
    record_confusion(ctx, cm)
    record_checks(ctx, test_accuracy, floor, ceiling)
    record_figures(ctx, cm, floor, ceiling, history)
    record_sanity_table(ctx, floor, ceiling)
    ctx.save_value("history", {k: [float(x) for x in v] for k, v in history.items()})
    ctx.save_value("confusion", cm.tolist())
    ctx.save_value("sanity", {"floor": floor, "ceiling": ceiling})
    ctx.save_value("reference_rows", [
        reference_row("Real train digits (floor)", floor), reference_row("Uniform noise (ceiling)", ceiling),
    ])


def record_metrics(ctx, accuracy, loss, floor, ceiling, train_s, evaluator) -> None:
    n = floor["n"]
    ctx.metric("test_accuracy", accuracy, note={
        "es": f"perfil {ctx.profile}, {len(ctx.data.x_train)} imágenes de entrenamiento",
        "en": f"profile {ctx.profile}, {len(ctx.data.x_train)} training images"})
    ctx.metric("fid_floor", floor["fid"], note={
        "es": f"{n} dígitos reales de entrenamiento contra {evaluator.n_reference} de test",
        "en": f"{n} real training digits against {evaluator.n_reference} test digits"})
    ctx.metric("fid_ceiling", ceiling["fid"], note={
        "es": f"{ceiling['n']} imágenes de ruido uniforme contra el test",
        "en": f"{ceiling['n']} uniform-noise images against the test set"})
    ctx.metric("test_loss", loss, unit="nats")
    ctx.metric("fid_ceiling_over_floor", ceiling["fid"] / max(floor["fid"], 1e-12))
    ctx.metric("train_s", train_s, unit="s")
    ctx.metric("n_train", len(ctx.data.x_train))
    ctx.metric("n_reference", evaluator.n_reference)
    ctx.metric("n_floor", n)
    ctx.metric("feature_dim", int(evaluator.reference.features.shape[1]))
    for name, s in (("floor", floor), ("ceiling", ceiling)):
        ctx.metric(f"{name}_precision", s["precision"])
        ctx.metric(f"{name}_recall", s["recall"])
        ctx.metric(f"{name}_coverage_entropy", s["coverage_entropy"], unit="nats")
        ctx.metric(f"{name}_classes_under_2pct", s["classes_under_2pct"])
        ctx.metric(f"{name}_mean_confidence", s["mean_confidence"])
    ctx.metric("fid_imag_residue_max", max(floor["fid_imag_residue"], ceiling["fid_imag_residue"]))


def record_confusion(ctx, cm: np.ndarray) -> None:
    """The evaluator's most frequent mistake: which digit it takes for which."""
    errors = cm - np.diag(np.diag(cm))
    true, predicted = np.unravel_index(errors.argmax(), errors.shape)
    ctx.metric("most_confused_true", int(true))
    ctx.metric("most_confused_predicted", int(predicted))
    ctx.metric("most_confused_count", int(errors[true, predicted]))
    ctx.metric("n_test_errors", int(errors.sum()))


def record_checks(ctx, accuracy: float, floor: dict, ceiling: dict) -> None:
    if ctx.profile == "full":
        ctx.check("test_accuracy_at_least_99pct", accuracy >= ACCURACY_BAR, {
            "es": "el evaluador debe clasificar bien el test para que sus rasgos signifiquen algo",
            "en": "the evaluator must classify the test set well for its features to mean anything"},
            expected=">= 0.99", observed=round(accuracy, 4))
    else:
        ctx.check("test_accuracy_at_least_99pct", True, {
            "es": f"informativo: el umbral de 99,0 % se exige en el perfil full; en '{ctx.profile}' "
                  f"(menos datos o épocas) se obtuvo {100 * accuracy:.2f} %",
            "en": f"informational: the 99.0 % bar applies at profile full; at '{ctx.profile}' "
                  f"(fewer images or epochs) it reached {100 * accuracy:.2f} %"},
            expected=">= 0.99 at full", observed=round(accuracy, 4))
    ctx.check("fid_floor_below_ceiling", floor["fid"] < ceiling["fid"], {
        "es": "dígitos reales deben quedar mucho más cerca del test que el ruido",
        "en": "real digits must score far closer to the test set than noise"},
        expected="floor < ceiling", observed=[round(floor["fid"], 3), round(ceiling["fid"], 3)])
    residue = max(floor["fid_imag_residue"], ceiling["fid_imag_residue"])
    ctx.check("sqrtm_imaginary_residue_negligible", residue <= 1e-3 * max(1.0, ceiling["fid"]), {
        "es": "la raíz matricial de scipy deja sólo una parte imaginaria de redondeo",
        "en": "scipy's matrix square root leaves only a rounding-sized imaginary part"},
        expected="<= 1e-3 x FID", observed=residue)


def record_figures(ctx, cm: np.ndarray, floor: dict, ceiling: dict, history: dict) -> None:
    ctx.figure("confusion", confusion_figure(cm), {
        "es": "Matriz de confusión del evaluador sobre el conjunto de test (filas: dígito real; columnas: predicho).",
        "en": "The evaluator's confusion matrix on the test set (rows: true digit; columns: predicted)."})
    ctx.figure("fid_sanity", sanity_figure(floor, ceiling), {
        "es": f"Extremos de la escala FID-MNIST (escala log): {floor['n']} dígitos reales de entrenamiento "
              f"(piso) y {ceiling['n']} imágenes de ruido uniforme (techo), contra el test.",
        "en": f"The two ends of the FID-MNIST scale (log scale): {floor['n']} real training digits (floor) "
              f"and {ceiling['n']} uniform-noise images (ceiling), against the test set."})
    ctx.figure("accuracy_curve", accuracy_figure(history), {
        "es": "Exactitud del evaluador por época, en entrenamiento y test (el test sólo se observa).",
        "en": "The evaluator's accuracy per epoch, on train and test (the test set is only watched)."})


def confusion_figure(cm: np.ndarray):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    # Log colours: the diagonal holds ~1000 per cell, the errors a handful.
    im = ax.imshow(np.log10(cm + 1), cmap="Blues")
    for (i, j), count in np.ndenumerate(cm):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                    color="white" if i == j else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted / predicho", ylabel="true / real")
    fig.colorbar(im, ax=ax, label="log10(count + 1)")
    return fig


def sanity_figure(floor: dict, ceiling: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    values = [floor["fid"], ceiling["fid"]]
    bars = ax.bar(["real train\n(floor)", "uniform noise\n(ceiling)"], values, color=["#2a9d8f", "#e76f51"])
    ax.set_yscale("log")
    ax.bar_label(bars, labels=[f"{v:.3g}" for v in values])
    ax.set_ylabel("FID-MNIST vs test")
    ax.margins(y=0.2)
    return fig


def accuracy_figure(history: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    ax.plot(epochs, history["accuracy"], "o-", label="train")
    ax.plot(epochs, history["val_accuracy"], "s-", label="test")
    ax.axhline(0.99, color="gray", ls="--", lw=1, label="99 %")
    ax.set(xlabel="epoch", ylabel="accuracy", xticks=epochs)
    ax.legend()
    return fig


def record_sanity_table(ctx, floor: dict, ceiling: dict) -> None:
    rows = [[label, s["n"], round(s["fid"], 3), round(s["precision"], 3), round(s["recall"], 3),
             round(s["coverage_entropy"], 3), s["classes_under_2pct"], round(s["mean_confidence"], 3)]
            for label, s in ((("Real train digits", floor)), ("Uniform noise", ceiling))]
    ctx.table("sanity", [
        {"es": "Imágenes", "en": "Images"}, "n", "FID-MNIST", {"es": "Precisión", "en": "Precision"},
        {"es": "Exhaustividad", "en": "Recall"}, {"es": "Entropía de clases (nats)", "en": "Class entropy (nats)"},
        {"es": "Clases < 2 %", "en": "Classes < 2 %"}, {"es": "Confianza media", "en": "Mean confidence"},
    ], rows, {
        "es": "Piso y techo de las métricas en el espacio de rasgos del evaluador.",
        "en": "Floor and ceiling of the metrics in the evaluator's feature space."})
