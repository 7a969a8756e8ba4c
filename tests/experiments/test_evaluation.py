"""The evaluation machinery: FID, precision/recall and class coverage on cases whose
answer is known, the evaluator item at smoke through the real runner, and the
comparison item on a toy registry."""
import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from experiments.evaluation import references
from harness.train import evaluation
from harness.config import load_config
from harness.context import FAILED, NOT_GRADED, PASSED, check_state
from harness.train.evaluation import Evaluator, class_coverage, frechet_distance, knn_radii, precision_recall
from harness.registry import REGISTRY, Registry
from harness.run.runner import Runner
from harness.run.store import RunStore

LN10 = math.log(10)


def random_covariance(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# ---------------------------------------------------------------- Fréchet distance


def test_identical_gaussians_are_at_distance_zero():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=32), random_covariance(rng, 32)
    fid, residue = frechet_distance(mu, sigma, mu, sigma)
    assert fid == pytest.approx(0.0, abs=1e-8)
    assert residue < 1e-6


def test_diagonal_gaussians_match_the_closed_form():
    # Diagonal covariances commute: d^2 = ||mu1 - mu2||^2 + sum(s1 + s2 - 2 sqrt(s1 s2)).
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    s1, s2 = rng.uniform(0.2, 3.0, 8), rng.uniform(0.2, 3.0, 8)
    expected = ((mu1 - mu2) ** 2).sum() + (s1 + s2 - 2 * np.sqrt(s1 * s2)).sum()
    fid, _ = frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2))
    assert fid == pytest.approx(expected, rel=1e-10)


def test_one_dimensional_case_by_hand():
    # N(0, 1) vs N(1, 4): 1 + 1 + 4 - 2 * sqrt(4) = 2.
    assert frechet_distance([0.0], [[1.0]], [1.0], [[4.0]])[0] == pytest.approx(2.0)


def test_singular_covariances_still_give_the_closed_form():
    # Dead ReLU features have zero variance: the product is singular.
    s1, s2 = np.array([1.0, 0.0, 2.0]), np.array([0.0, 0.0, 3.0])
    fid, residue = frechet_distance(np.zeros(3), np.diag(s1), np.ones(3), np.diag(s2))
    assert fid == pytest.approx(3 + (s1 + s2 - 2 * np.sqrt(s1 * s2)).sum(), rel=1e-6)
    assert np.isfinite(residue)


def test_rotated_gaussians_match_the_closed_form():
    # Same spectrum in two bases that differ by an orthogonal Q does not commute; but with
    # sigma2 = c^2 sigma1 the root is c sigma1, so d^2 = (1 - c)^2 Tr(sigma1).
    rng = np.random.default_rng(2)
    sigma = random_covariance(rng, 16)
    fid, _ = frechet_distance(np.zeros(16), sigma, np.zeros(16), 9 * sigma)
    assert fid == pytest.approx(4 * np.trace(sigma), rel=1e-8)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="mismatched"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# ---------------------------------------------------------------- precision and recall


def test_identical_clouds_have_full_precision_and_recall():
    x = np.random.default_rng(0).normal(size=(500, 4))
    assert precision_recall(x, x.copy()) == (1.0, 1.0)


def test_two_samples_of_one_distribution_score_high():
    rng = np.random.default_rng(1)
    precision, recall = precision_recall(rng.uniform(size=(2000, 2)), rng.uniform(size=(2000, 2)))
    assert precision > 0.95 and recall > 0.95


def test_disjoint_far_clouds_score_zero():
    rng = np.random.default_rng(2)
    assert precision_recall(rng.normal(size=(400, 3)), rng.normal(size=(400, 3)) + 100.0) == (0.0, 0.0)


def test_fake_covering_half_the_real_support_has_recall_one_half():
    # Real: uniform on [0, 2] x [0, 1]; fake: uniform on its left half. Every fake is
    # real-looking (precision ~1), but only the left half of the real set is covered.
    rng = np.random.default_rng(3)
    real = rng.uniform(size=(4000, 2)) * [2.0, 1.0]
    fake = rng.uniform(size=(4000, 2))
    precision, recall = precision_recall(real, fake)
    assert precision > 0.97
    assert recall == pytest.approx(0.5, abs=0.03)


def test_chunked_distances_match_brute_force(monkeypatch):
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) + 0.5
    whole = precision_recall(real, fake)
    brute_radii = np.sort(cdist(real, real, "sqeuclidean"), axis=1)[:, 3]
    monkeypatch.setattr(evaluation, "DISTANCE_BLOCK_BYTES", 8 * 300 * 7)  # 7 rows per block
    assert np.allclose(knn_radii(real, 3), brute_radii)
    assert precision_recall(real, fake) == whole
    inside = (cdist(fake, real, "sqeuclidean") <= brute_radii[None, :]).any(axis=1).mean()
    assert whole[0] == pytest.approx(inside)


# ---------------------------------------------------------------- class coverage


def test_collapsed_generator_has_zero_entropy_and_nine_missing_digits():
    cov = class_coverage(np.full(1000, 7), np.full(1000, 0.99))
    assert cov["coverage_entropy"] == 0.0
    assert cov["classes_under_2pct"] == 9
    assert cov["kl_uniform"] == pytest.approx(LN10)
    assert cov["class_hist"] == [0] * 7 + [1000] + [0] * 2
    assert cov["mean_confidence"] == pytest.approx(0.99)


def test_real_test_labels_cover_every_digit(mnist):
    cov = class_coverage(mnist.y_test, np.ones(len(mnist.y_test)))
    assert cov["coverage_entropy"] == pytest.approx(LN10, abs=0.01)
    assert cov["classes_under_2pct"] == 0
    assert 0 <= cov["kl_uniform"] < 0.01
    assert sum(cov["class_hist"]) == 10000


def test_bad_labels_are_refused():
    with pytest.raises(ValueError):
        class_coverage([0, 10], [0.5, 0.5])
    with pytest.raises(ValueError):
        class_coverage([1, 2], [0.5])


# ---------------------------------------------------------------- the evaluator item, at smoke


@pytest.fixture(scope="module")
def mnist():
    from harness.data import load_dataset

    return load_dataset("mnist")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, smoke_all, mnist):
    import experiments.evaluation.classifier  # noqa: F401  (registers eval.classifier)
    from tests.conftest import smoke_copy

    store, summary = smoke_copy(tmp_path_factory, smoke_all, ["eval.classifier"])  # the suite's shared run
    return Runner(REGISTRY, load_config("smoke"), store, lambda: mnist), summary


@pytest.mark.slow
def test_the_evaluators_headline_numbers_have_labels(smoke_run):
    from tests.experiments.headlines import unlabelled_headlines

    runner, _ = smoke_run
    assert not unlabelled_headlines(runner.store, REGISTRY)


def test_a_metric_that_fails_a_reference_names_it_in_each_language():
    from experiments.evaluation import references

    class Ctx:
        def __init__(self):
            self.metrics = {}

        def metric(self, name, value, unit=None, note=None):
            self.metrics[name] = (value, note)

        def check(self, *args, **kwargs):
            pass

    good = {"density": 0.9, "coverage": 0.9, "precision": 0.9, "recall": 0.9, "n": 10000}
    scores = {"real": good, "noise": {**good, "precision": 0.99, "density": 0.0, "coverage": 0.0, "recall": 0.0},
              "blank": {**good, "precision": 0.5, "density": 0.0, "coverage": 0.0, "recall": 0.0},
              "one_digit": {**good, "coverage": 0.1, "recall": 0.1}}
    ctx = Ctx()
    references.record(ctx, scores)
    value, note = ctx.metrics["precision_passes_references"]
    assert value is False
    assert note == {"es": "ruido uniforme; imágenes vacías (negras)", "en": "uniform noise; blank (black) images"}
    assert ctx.metrics["density_passes_references"] == (True, None)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_evaluator_item_trains_at_smoke_and_frames_the_fid_scale(smoke_run):
    runner, summary = smoke_run
    (outcome,) = summary.outcomes
    assert outcome.status == "ok", outcome.error
    result = runner.store.load_result("eval.classifier")
    metrics = {k: v["value"] for k, v in result.metrics.items()}
    assert list(metrics)[:3] == ["test_accuracy", "fid_floor", "fid_ceiling"]
    assert metrics["test_accuracy"] > 0.9
    assert 0 <= metrics["fid_floor"] < metrics["fid_ceiling"]
    states = {c["name"]: check_state(c) for c in result.checks}
    assert FAILED not in states.values(), result.checks
    # The 99 % bar is graded at full only: at smoke it is not graded, and says why; never a pass by construction.
    accuracy = next(c for c in result.checks if c["name"] == "test_accuracy_at_least_99pct")
    assert states["test_accuracy_at_least_99pct"] == NOT_GRADED and "full" in accuracy["reason"]["en"]
    assert states["fid_of_test_with_itself_is_0"] == PASSED
    assert [f["name"] for f in result.figures] == ["confusion", "fid_sanity", "accuracy_curve"]
    reference_rows = result.values["reference_rows"]
    assert [r["reference"] for r in reference_rows] == ["real", "noise", "blank", "one_digit"]
    assert all(r["family"] == "reference" and r["label"]["es"] != r["label"]["en"] for r in reference_rows)
    assert {"metric_references", "sanity"} <= set(result.tables)
    # Smoke scores a few hundred images per set: the reference bounds are recorded, not graded.
    assert isinstance(metrics["density_passes_references"], bool)
    graded_from = {c["name"]: c for c in result.checks if c["name"].endswith("_passes_references")}
    assert set(graded_from) == {"density_passes_references", "coverage_passes_references"}
    assert all(check_state(c) == NOT_GRADED and "5000" in c["reason"]["en"] for c in graded_from.values())
    # Unchanged settings and code: the second run reuses it.
    assert runner.run(["eval.classifier"]).outcomes[0].status == "cached"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_evaluator_from_output_scores_real_and_collapsed_images(smoke_run, mnist):
    from harness.context import ItemOutput, Splits

    runner, _ = smoke_run
    result = runner.store.load_result("eval.classifier")
    output = ItemOutput("eval.classifier", runner.store.item_dir("eval.classifier"), result)
    splits = Splits.from_dataset(mnist, 2000, 500)
    evaluator = Evaluator.from_output(output, splits)
    # The item already embedded this test set with this classifier file in this process.
    assert Evaluator.from_output(output, splits).reference is evaluator.reference
    assert evaluator.features(splits.x_test[:7]).shape == (7, 128)
    labels, confidences = evaluator.classify(splits.x_test)
    assert (labels == splits.y_test).mean() > 0.9 and confidences.max() <= 1.0

    real = evaluator.score(splits.x_test)
    assert set(real) == {"fid", "fid_imag_residue", "class_hist", "coverage_entropy", "kl_uniform",
                         "classes_under_2pct", "classes_under_5pct", "mean_confidence", "precision", "recall",
                         "density", "coverage", "n", "fid_se"}
    assert real["coverage"] == 1.0 and real["density"] > 0.9  # the reference against itself
    assert real["fid"] == pytest.approx(0.0, abs=1e-3) and real["precision"] == real["recall"] == 1.0
    assert real["coverage_entropy"] > 0.95 * LN10 and real["classes_under_2pct"] == 0

    ones = splits.x_train[splits.y_train == 1]  # a generator collapsed onto the digit 1
    collapsed = evaluator.score(ones)
    assert collapsed["coverage_entropy"] < 0.5 and collapsed["classes_under_2pct"] >= 8
    assert collapsed["recall"] < 0.5 and collapsed["fid"] > result.metrics["fid_floor"]["value"]
    assert collapsed["coverage"] < 0.3 and collapsed["classes_under_5pct"] >= 8
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluator.score(2 * splits.x_test - 1)  # a tanh generator not rescaled


# ---------------------------------------------------------------- the comparison item, on a toy registry


def row(model, family, item, fid, **extra):
    base = {"model": model, "family": family, "item": item, "train_s": 10.0, "sample_ips": 5000.0,
            "neg_elbo": None, "nll": None, "fid": fid, "fid_se": 1.0, "coverage_entropy": 2.2, "kl_uniform": 0.1,
            "classes_under_2pct": 0, "classes_under_5pct": 0, "mean_confidence": 0.9, "precision": 0.7, "recall": 0.6,
            "density": 0.9, "coverage": 0.8}
    return {**base, **extra}


VAE_BASE = row("VAE z=2 BCE", "vae", "1.1e", 30.0, neg_elbo=150.0, nll=145.0)
MODEL_ROWS = {
    "1.1d": [row("VAE z=2 MSE", "vae", "1.1d", 45.0, neg_elbo=160.0, nll=150.0), VAE_BASE],  # reuses 1.1e's
    "1.1e": [VAE_BASE],
    "1.1h": [row("VAE Laplace prior", "vae", "1.1h", 28.0, neg_elbo=149.0, nll=144.0)],
    "1.1i": [row(f"VAE z={z}", "vae", "1.1i", 30.0 - z, neg_elbo=140.0, nll=130.0) for z in (4, 8)],
    "1.1j": [row("VAE deeper", "vae", "1.1j", 25.0, neg_elbo=145.0, nll=140.0)],
    "1.2d": [row("GAN handout", "gan", "1.2d", 60.0, classes_under_2pct=3)],
    "1.2f": [row("GAN improved", "gan", "1.2f", 12.0)],
    "1.2g": [row("GAN gaussian", "gan", "1.2g", 50.0)],
    "1.2h": [row(f"GAN z={z}", "gan", "1.2h", 40.0 + z) for z in (10, 100)],
}


def toy_registry(model_rows):
    from experiments.evaluation import compare

    reg = Registry()

    @reg.item("eval.classifier", "fake evaluator", config=("eval",), uses_data=False)
    def fake_evaluator(ctx):
        ctx.metric("fid_floor", 1.5)
        ctx.metric("fid_ceiling", 300.0)
        ctx.save_value("reference_rows", [
            row("Real training digits", "reference", "eval.classifier", 1.5, label=references.LABELS["real"]),
            row("Uniform noise", "reference", "eval.classifier", 300.0, label=references.LABELS["noise"])])

    def fake_models(ctx):
        if ctx.id in model_rows:
            ctx.save_value("model_rows", model_rows[ctx.id])

    for item_id in compare.MODEL_ITEMS:
        reg.item(item_id, f"fake {item_id}", needs=("eval.classifier",), uses_data=False)(fake_models)
    reg.item(compare.ID, compare.TITLE, needs=REGISTRY.get(compare.ID).needs, config=("eval",),
             uses_data=False)(compare.compare_models)
    return reg


def run_compare(tmp_path, model_rows):
    runner = Runner(toy_registry(model_rows), load_config("smoke"), RunStore(tmp_path, "toy"), lambda: None)
    summary = runner.run(["eval.compare"])
    return summary.outcomes[-1], runner.store.load_result("eval.compare")


def test_compare_item_needs_every_model_item():
    from experiments.evaluation import compare

    assert set(REGISTRY.get("eval.compare").needs) == {"eval.classifier", *compare.MODEL_ITEMS}
    assert REGISTRY.get("eval.compare").title == "VAE versus GAN: comparison of every trained model"


def test_compare_gathers_every_model_once_and_finds_the_best(tmp_path):
    outcome, result = run_compare(tmp_path, MODEL_ROWS)
    assert outcome.status == "ok", outcome.error
    metrics = {k: v["value"] for k, v in result.metrics.items()}
    assert metrics["best_vae_fid"] == 22.0 and metrics["best_vae_model"] == "VAE z=8"
    assert metrics["best_gan_fid"] == 12.0 and metrics["best_gan_model"] == "GAN improved"
    assert metrics["best_family"] == "gan"
    assert (metrics["n_models"], metrics["n_vae"], metrics["n_gan"]) == (11, 6, 5)  # 1.1e's row once
    assert metrics["n_models_missing_digits"] == 1
    table = result.tables["comparison"]
    models = [r[0] for r in table["rows"]]
    assert models.count("VAE z=2 BCE") == 1
    assert models[:6] == ["VAE z=8", "VAE deeper", "VAE z=4", "VAE Laplace prior", "VAE z=2 BCE", "VAE z=2 MSE"]
    assert models[-2:] == [references.LABELS["real"], references.LABELS["noise"]]  # the report picks its language
    assert table["rows"][-1][1] == {"es": "referencia", "en": "reference"}
    columns = [c["en"] for c in table["columns"]]
    assert {"Density (fidelity)", "Coverage (diversity)", "Classes < 5 %"} <= set(columns)
    assert not {"Precision", "Recall"} & set(columns)  # they fail the noise reference: never quoted
    nll = [c["en"] for c in table["columns"]].index("NLL IWAE (nats)")
    assert table["rows"][models.index("GAN improved")][nll] == "—"
    assert table["rows"][models.index("VAE z=8")][nll] == 130.0
    assert [f["name"] for f in result.figures] == ["fid_by_model", "density_coverage"]
    assert all(check_state(c) == PASSED for c in result.checks)


def test_compare_reports_an_item_that_saved_no_rows(tmp_path):
    rows = {k: v for k, v in MODEL_ROWS.items() if k != "1.1j"}
    outcome, result = run_compare(tmp_path, rows)
    assert outcome.status == "ok"
    check = next(c for c in result.checks if c["name"] == "every_model_item_reported")
    assert check_state(check) == FAILED and check["observed"] == ["1.1j"]


def test_compare_fails_clearly_without_one_family_or_on_a_malformed_row(tmp_path):
    vae_only = {k: v for k, v in MODEL_ROWS.items() if k.startswith("1.1")}
    outcome, _ = run_compare(tmp_path / "a", vae_only)
    assert outcome.status == "failed" and "no GAN model rows" in outcome.error
    bad = {**MODEL_ROWS, "1.2g": [{"model": "GAN gaussian", "family": "gan", "item": "1.2g"}]}
    outcome, _ = run_compare(tmp_path / "b", bad)
    assert outcome.status == "failed" and "1.2g" in outcome.error and "fid" in outcome.error


# ---------------------------------------------------------------- written answers


def render_both(module_file, item_id, results, profile):
    from harness.locale import LANGS
    from harness.report.answers import item_text, render_answer, variables

    context = variables(item_id, results, load_config(profile).values, profile)
    texts = {lang: render_answer(module_file, item_id, lang, context) for lang in LANGS}
    for lang in LANGS:
        assert texts[lang] and "{{" not in texts[lang] and "{%" not in texts[lang]
        assert item_text(module_file, item_id, lang)["title"] and item_text(module_file, item_id, lang)["summary"]
    return texts


@pytest.mark.slow
def test_evaluator_answers_render_with_the_run_numbers(smoke_run):
    from experiments.evaluation import classifier

    runner, _ = smoke_run
    result = runner.store.load_result("eval.classifier")
    texts = render_both(classifier.__file__, "eval.classifier", {"eval.classifier": result}, "smoke")
    accuracy = result.metrics["test_accuracy"]["value"]
    assert f"{100 * accuracy:.2f} %" in texts["en"] and "checked at the `full` profile" in texts["en"]


NOISY_ROWS = {k: [{**r, "fid_se": 10.0} for r in rows] for k, rows in MODEL_ROWS.items()}


# Best VAE 22 against best GAN 12 (or 50 without 1.2f), each ± 1: a clear gap; ± 10: inside the noise.
@pytest.mark.parametrize("rows, verdict", [
    (MODEL_ROWS, "The best GAN (GAN improved) is better than the best VAE (VAE z=8) on FID-MNIST: 10.00 apart, more than "
                 "the combined uncertainty ±2.83 (the error of sampling the images only: each model was trained once). "
                 "The difference is indicative"),
    ({**MODEL_ROWS, "1.2f": []}, "The best VAE (VAE z=8) is better than the best GAN (GAN Gaussian) on FID-MNIST"),
    (NOISY_ROWS, "There is no clear difference between the best VAE (VAE z=8) and the best GAN (GAN improved) on FID-MNIST "
                 "at this budget: 10.00 apart, within the combined uncertainty ±28.28 (the error"),
])
def test_compare_answers_word_the_winner_by_the_uncertainty(tmp_path, rows, verdict):
    from experiments.evaluation import compare

    outcome, result = run_compare(tmp_path, rows)
    assert outcome.status == "ok", outcome.error
    texts = render_both(compare.__file__, "eval.compare", {"eval.compare": result}, "smoke")
    assert verdict in texts["en"]
    assert "GAN handout" in texts["en"]  # the model with a missing digit is named
    # decided once: the record eval.compare saved is what the answer words
    assert result.values["family_verdict"]["winner"] == {"GAN improved": "gan", "VAE z=8": "vae", None: None}[
        "GAN improved" if verdict.startswith("The best GAN") else "VAE z=8" if verdict.startswith("The best VAE") else None]


def test_crowded_points_share_one_label_and_distant_ones_keep_their_own():
    from experiments.evaluation.compare import label_groups

    named = [((0.01, 0.04), "VAE z=2 BCE"), ((0.02, 0.05), "GAN z=10"), ((0.0, 0.0), "Imágenes vacías"),
             ((0.92, 0.81), "Dígitos reales")]
    groups = label_groups(named, span=(1.08, 1.38))
    assert groups == [((0.01, 0.04), ["VAE z=2 BCE", "GAN z=10", "Imágenes vacías"]),
                      ((0.92, 0.81), ["Dígitos reales"])]
    # every name is printed exactly once
    assert sorted(n for _, names in groups for n in names) == sorted(n for _, n in named)
