"""One language at a time: every figure with words is drawn once per language, and the
Spanish drawing carries none of the English words the figures used to show.

The figure functions are called as the items call them, on tiny inputs; `figure_texts`
reads back every title, label, tick label, legend entry and text of the drawn figure.
"""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from harness.run.store import result_to_json

from harness.locale import decimal_text, ident, localise_axes, num, pct
from harness.config import load_config
from harness.context import Context
from harness.figure_text import figure_texts
from harness.report.content import figure_file

ENGLISH = ("epoch", "train", "loss", "samples", "step", "generator", "discriminator", "accuracy", "real", "fake",
           "class", "digit")
ENGLISH_WORD = re.compile(r"\b(" + "|".join(ENGLISH) + r")s?\b", re.IGNORECASE)
RNG = np.random.default_rng(0)


def images(n: int) -> np.ndarray:
    return RNG.uniform(size=(n, 28, 28, 1)).astype("float32")


def gan_history(steps: int = 30):
    from experiments.gan.training import History

    return History(RNG.uniform(0.01, 2.0, size=(steps, 4)), 1.0, 0.1)


def scored(model: str, family: str) -> dict:
    return {"model": model, "family": family, "fid": float(RNG.uniform(1, 100)), "density": 0.5, "coverage": 0.5}


def tiny_model():
    import keras

    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(3, activation="relu")(inputs))


def figure_makers():
    """(name, make(lang)) for every figure function that writes words, as its item calls it."""
    from experiments.evaluation import classifier, compare, references
    from experiments.gan import c_adversarial, f_seeds, figures as gan, h_latent_dim
    from experiments.vae import b_decoder, c_sampling, d_loss, e_training, f_latent_space, g_generation, h_prior
    from experiments.vae import i_latent_dim, j_architecture
    from experiments.gan.b_generator import TITLES as G_TITLES
    from experiments.gan.e_generation import TITLES as E_TITLES
    from harness.train.architecture import graph_figure

    labels = np.arange(100) % 10
    mu, grid = RNG.normal(size=(100, 2)), np.linspace(-2, 2, 4)
    vae_history = {k: list(RNG.uniform(size=3)) for k in ("loss", "reconstruction_loss", "kl_loss")}
    vae_history |= {f"val_{k}": v for k, v in list(vae_history.items())}
    change = {"n": 4, "changed": 2, "identical": 2, "max_abs_change": 0.1}
    sweep_rows = [{"latent_dim": d, "neg_elbo": 1.0, "nll": 1.0, "reconstruction": 1.0, "kl": 1.0, "active_units": d,
                   "train_s": 1.0, "_samples": images(64)} for d in (2, 4)]
    points = [{"dim": d, "fid": 1.0, "coverage_entropy": 2.0} for d in (2, 8)]
    few, evidence = images(4), {"nn_distance": RNG.uniform(size=16), "ink": RNG.uniform(size=16)}
    return [
        ("gan curves", lambda lang: gan.curves_figure(gan_history(), {"es": "1.2d: 30 pasos", "en": "1.2d: 30 steps"}, lang)),
        ("gan class histogram", lambda lang: gan.class_histogram_figure({"GAN": np.ones(10)}, "GAN", lang)),
        ("gan titled grid", lambda lang: gan.image_grid(images(4), 2, 2, G_TITLES["untrained_samples"], lang=lang)),
        ("gan manifold", lambda lang: gan.manifold_figure(images(4), 2, -1, 1, E_TITLES["latent_manifold"], lang)),
        ("gan dynamics", lambda lang: f_seeds.dynamics_figure({"a": gan_history().values, "b": gan_history().values}, lang)),
        ("gan fid by seed", lambda lang: f_seeds.seed_figure({"handout": [90.0, 80.0], "g_layernorm": [50.0, 55.0]}, lang)),
        ("gan snapshots", lambda lang: gan.snapshots_figure({0: images(3), 10: images(3)}, lang)),
        ("gan mode probes", lambda lang: gan.probes_figure(np.array([[0, 1, 0, 1], [10, 0.9, 0.1, 0.8]]), lang)),
        ("gan sweep", lambda lang: h_latent_dim.sweep_figure(points, [], lang)),
        ("freezing proof", lambda lang: c_adversarial.proof_figure(
            {k: change for k in ("d_step_D", "d_step_G", "g_step_D", "g_step_G")}, lang)),
        ("graph", lambda lang: graph_figure(tiny_model(), G_TITLES["graph"], lang)),
        ("stride", lambda lang: b_decoder.stride_figure(np.ones((7, 7)), np.ones((6, 6)), lang)),
        ("sampling", lambda lang: c_sampling.sampling_figure(RNG.normal(size=(50, 2)), RNG.normal(size=(50, 2)), lang)),
        ("bce vs mse", lambda lang: d_loss.compare_figure(few, few, few, images(64), images(64), lang)),
        ("vae curves", lambda lang: e_training.curves_figure(vae_history, lang)),
        ("latent scatter", lambda lang: f_latent_space.scatter_figure(mu, labels, lang)),
        ("latent histograms", lambda lang: f_latent_space.histogram_figure(mu, np.exp(mu), lang)),
        ("grid evidence", lambda lang: g_generation.evidence_figure(grid, evidence, lang)),
        ("grid labels", lambda lang: g_generation.labels_figure(grid, labels[:16], np.ones(16), grid, labels[:16],
                                                                np.ones(16), lang)),
        ("prior", lambda lang: h_prior.compare_figure(mu, mu, labels, images(100), images(100), "Laplace", lang)),
        ("vae sweep", lambda lang: i_latent_dim.sweep_chart(sweep_rows, lang)),
        ("architecture", lambda lang: j_architecture.compare_figure(few, few, few, images(64), images(64), lang)),
        ("confusion", lambda lang: classifier.confusion_figure(np.eye(10, dtype=int) * 5, lang)),
        ("fid sanity", lambda lang: classifier.sanity_figure({"fid": 1.0}, {"fid": 100.0}, lang)),
        ("accuracy curve", lambda lang: classifier.accuracy_figure({"accuracy": [0.9, 0.95],
                                                                    "val_accuracy": [0.9, 0.96]}, lang)),
        ("fid by model", lambda lang: compare.fid_figure([scored("VAE z=2", "vae"), scored("GAN 1.2d", "gan")], 1, 100, lang)),
        ("density coverage", lambda lang: compare.density_coverage_figure(
            [scored("VAE z=2", "vae")], [{**scored("Real training digits", "reference"),
                                          "label": references.LABELS["real"]}], lang)),
    ]


def drawn_texts(make, lang: str) -> list[str]:
    fig = make(lang)
    fig.canvas.draw()  # tick labels exist once drawn
    try:
        return figure_texts(fig)
    finally:
        plt.close(fig)


@pytest.mark.parametrize("name,make", figure_makers(), ids=[name for name, _ in figure_makers()])
def test_spanish_figures_have_no_english_words(name, make):
    es, en = drawn_texts(make, "es"), drawn_texts(make, "en")
    english = sorted({m.group(0) for text in es for m in ENGLISH_WORD.finditer(text)})
    assert not english, f"{name} (es) shows {english}: {es}"
    assert es != en, f"{name} draws the same words in both languages: {es}"


def test_figure_texts_reads_titles_labels_ticks_and_legends():
    fig, ax = plt.subplots()
    ax.plot([0, 1], label="curve")
    ax.set(title="title", xlabel="x axis", ylabel="y axis", xticks=[0, 1], xticklabels=["tick a", "tick b"])
    ax.legend()
    ax.text(0, 0, "note")
    fig.suptitle("headline")
    fig.canvas.draw()
    assert {"curve", "title", "x axis", "y axis", "tick a", "note", "headline"} <= set(figure_texts(fig))
    plt.close(fig)


# ---------------------------------------------------------------- ctx.figure, and the readers
def toy_context(tmp_path) -> Context:
    return Context("9.9z", load_config("smoke"), (), 0, tmp_path, None, {})


def test_ctx_figure_saves_one_file_per_language(tmp_path):
    ctx = toy_context(tmp_path)

    def make(lang):
        fig, ax = plt.subplots()
        ax.set_title({"es": "época", "en": "epoch"}[lang])
        return fig

    ctx.figure("curves", make, {"es": "curvas", "en": "curves"})
    entry = ctx.result.figures[0]
    assert entry["files"] == {"es": "figures/curves.es.png", "en": "figures/curves.en.png"}
    assert entry["file"] == entry["files"]["es"]  # older readers still find a figure
    assert all((tmp_path / f).stat().st_size > 500 for f in entry["files"].values())
    assert figure_file(entry, "en") == "figures/curves.en.png"
    json.dumps(result_to_json(ctx.result))


def test_ctx_figure_keeps_a_language_neutral_figure_single(tmp_path):
    ctx = toy_context(tmp_path)
    fig, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4)))
    ctx.figure("grid", fig, "grid")
    entry = ctx.result.figures[0]
    assert entry["file"] == "figures/grid.png" and "files" not in entry
    assert figure_file(entry, "es") == figure_file(entry, "en") == "figures/grid.png"


def test_ctx_figure_prints_tick_numbers_in_the_figures_language(tmp_path):
    """Every axis of a per-language figure uses the language's decimal mark (harness.locale)."""
    ctx = toy_context(tmp_path)
    drawn = {}

    def make(lang):
        fig, ax = plt.subplots()
        ax.plot([0, 0.5, 1.5], [0.001, 0.002, 0.0035])
        ax.set_xticks([0, 0.5, 1.5])
        ax.set_yscale("log")
        drawn[lang] = fig
        return fig

    ctx.figure("curves", make, {"es": "curvas", "en": "curves"})
    labels = {lang: [t.get_text() for t in fig.axes[0].get_xticklabels()] for lang, fig in drawn.items()}
    assert labels == {"es": ["0,0", "0,5", "1,5"], "en": ["0.0", "0.5", "1.5"]}
    # a text label that looks like a number with a point (an item id) is left as it is
    fig, ax = plt.subplots()
    ax.bar(["1.1e", "1.2d"], [1, 2])
    localise_axes(fig, "es")
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1.1e", "1.2d"]
    plt.close(fig)


def test_numbers_that_name_things_are_never_grouped_and_decimals_follow_the_language():
    assert ident(1604079708) == "1604079708"
    assert num(1604079708, 0, "es") == "1\u202f604\u202f079\u202f708"
    assert num(0.0008, 4, "es") == "0,0008" and num(0.0008, 4, "en") == "0.0008"
    assert pct(0.125, 1, "es") == "12,5 %"
    assert decimal_text("$\\mathdefault{0.5}$", "es") == "$\\mathdefault{0{,}5}$"
    assert decimal_text("1.1e", "en") == "1.1e"


def test_one_or_two_measured_points_are_points_with_their_values_and_three_a_curve():
    """A 1-epoch run's curve had an axis '0.950 … 1.050' and a two-point sweep read as a trend."""
    from experiments.vae.e_training import curves_figure
    from harness.figure_text import series

    fig, (a, b, c) = plt.subplots(1, 3)
    two = series(a, [2, 4], [183.25, 175.5], "o-", "es")[0]
    three = series(b, [2, 4, 8], [183.25, 175.5, 170.0], "o-", "es")[0]
    one = series(c, [1], [0.1234], "s--", "en")[0]
    assert two.get_linestyle() == "None" and three.get_linestyle() == "-" and one.get_marker() == "s"
    assert [t.get_text() for t in a.texts] == ["183,2", "175,5"] and not b.texts and [t.get_text() for t in c.texts] == ["0.123"]
    assert c.get_xlim() == (0.0, 2.0)
    plt.close(fig)
    history = {k: [1.0] for k in ("loss", "reconstruction_loss", "kl_loss", "val_loss", "val_reconstruction_loss", "val_kl_loss")}
    fig = curves_figure(history, "es")
    ticks = {t for ax in fig.axes for t in [label.get_text() for label in ax.get_xticklabels()] if t}
    assert ticks <= {"0", "1", "2"} and not any(len(ax.lines[0].get_xdata()) > 1 for ax in fig.axes), ticks
    plt.close(fig)
