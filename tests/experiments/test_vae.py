"""Section 1.1 (VAE): the ten items at the smoke profile through the real runner, plus the maths
that needs no training (sampling, priors, transposed convolution, parameter counts)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from harness.locale import LANGS
from harness.report.answers import render_answer, variables
from harness.config import load_config
from harness.errors import ConfigError
from harness.registry import discover

VAE_ITEMS = ["1.1a", "1.1b", "1.1c", "1.1d", "1.1e", "1.1f", "1.1g", "1.1h", "1.1i", "1.1j"]
TRAINS = {"1.1d", "1.1e", "1.1h", "1.1i", "1.1j"}


# ---------------------------------------------------------------- no training
def test_parameter_counts_match_the_handout_by_hand():
    from experiments.vae import models

    counts = models.expected_parameters(**models.HANDOUT)
    assert counts == {"encoder": 1_634_340, "decoder": 1_646_561, "vae": 3_280_901,
                      "handout_encoder_z_mean_only": 1_634_082}
    enc = models.build_encoder(2, 32, 3, 128)
    dec = models.build_decoder(2, 32, 3, 128)
    assert enc.count_params() == counts["encoder"] and dec.count_params() == counts["decoder"]
    assert [tuple(t.shape[1:]) for t in enc.outputs] == [(2,), (2,)]
    assert tuple(dec.output.shape[1:]) == (28, 28, 1)
    assert tuple(enc.get_layer("conv_3").output.shape[1:]) == (14, 14, 64)
    spec = models.handout_layers(**models.HANDOUT)
    assert models.describe(enc) == spec["encoder"] and models.describe(dec) == spec["decoder"]
    assert all(isinstance(l.filters, int) for l in dec.layers if hasattr(l, "filters"))


def test_sampling_uses_the_standard_deviation_and_the_handout_uses_the_variance():
    from experiments.vae import c_sampling as C

    ours, handout = C.draw(seed=7)
    sigma = np.exp(0.5 * C.Z_LOG_VAR)
    np.testing.assert_allclose(ours.mean(0), C.Z_MEAN, atol=5 * sigma.max() / math.sqrt(C.DRAWS))
    np.testing.assert_allclose(ours.std(0), sigma, rtol=0.01)            # 0.5 and 2
    np.testing.assert_allclose(handout.std(0), sigma ** 2, rtol=0.01)    # 0.25 and 4: the defect
    np.testing.assert_allclose(handout.mean(0), C.Z_MEAN, atol=5 * 4 / math.sqrt(C.DRAWS))


@pytest.mark.parametrize("name", ["normal", "laplace", "student_t", "mixture"])
def test_prior_kl_matches_monte_carlo_and_density_integrates(name):
    from experiments.vae import models

    prior = models.get_prior(name)
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 1.5, (64, 2))
    log_var = rng.normal(-1.5, 0.7, (64, 2))
    z = mu + np.exp(0.5 * log_var) * rng.standard_normal((4000, 64, 2))
    log_ratio = np.asarray(models.gaussian_log_density(z, mu, log_var) - prior.log_prob(z))
    kl = np.asarray(prior.kl(mu, log_var, z)).mean(0) if not prior.analytic_kl else np.asarray(prior.kl(mu, log_var, z[0]))
    assert abs(kl.mean() - log_ratio.mean()) < 4 * log_ratio.std() / math.sqrt(log_ratio.size) + 1e-3
    side = np.linspace(-12, 12, 801)
    plane = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2)
    assert abs(np.exp(np.asarray(prior.log_prob(plane))).sum() * (side[1] - side[0]) ** 2 - 1) < 0.01
    samples = prior.sample(20000, 2, rng)
    assert samples.shape == (20000, 2) and np.isfinite(samples).all()


def test_transposed_convolution_by_hand_equals_keras():
    from experiments.vae import b_decoder as B

    full, same = B.transposed_conv_by_hand(B.FEATURE_MAP, B.KERNEL, stride=2)
    assert full.shape == (7, 7) and same.shape == (6, 6)
    np.testing.assert_allclose(same, B.transposed_conv_by_keras(B.FEATURE_MAP, B.KERNEL, stride=2))


@pytest.mark.parametrize("override", ["vae.latent_dim=0", "vae.epochs=0", "vae.batch_size=0",
                                      "vae_compare.prior=cauchy", "vae.loss=l1",
                                      "vae.precision='float16'"])
def test_bad_settings_are_refused_before_training(override):
    with pytest.raises(ConfigError):
        load_config("smoke", [override])


def test_mixed_bfloat16_keeps_the_heads_and_the_parameters_in_float32():
    from experiments.vae import models

    s = {**load_config("smoke").section("vae"), "precision": "mixed_bfloat16"}
    vae = models.build_vae(s, seed=0)
    fp32 = models.build_vae(load_config("smoke").section("vae"), seed=0)
    assert vae.count_params() == fp32.count_params()
    assert vae.encoder.get_layer("conv_2").compute_dtype == "bfloat16"
    # The dense layers on either side of z stay float32 (rounding them costs ELBO: benchmarks/RESULTS.md).
    assert vae.encoder.get_layer("hidden").compute_dtype == vae.decoder.get_layer("decoder_hid").compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in vae.trainable_weights)
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    z_mean, z_log_var = vae.encoder(x)
    x_hat = vae(x)
    assert z_mean.dtype == z_log_var.dtype == x_hat.dtype == "float32"
    total, _, _ = vae.negative_elbo(x)
    assert np.isfinite(float(total))
    with pytest.raises(ConfigError, match="vae.precision"):
        models.build_vae({**s, "precision": "float16"})


class _FitContext:
    """What fit_vae asks of an item's context, nothing more."""

    def __init__(self, x_train, x_test, seed=0):
        import types

        self.data = types.SimpleNamespace(x_train=x_train, x_test=x_test)
        self.seed, self.said, self.ticks, self.phases = seed, [], [], []

    def log(self, message):
        self.said.append(message)

    def progress(self, done, total, unit):
        self.ticks.append((done, total, unit))

    def phase(self, name):
        self.phases.append(name)


def _small_vae_settings(**changes):
    return {**load_config("smoke").section("vae"), "intermediate_dim": 8, "filters": 4, **changes}


def test_in_graph_epochs_visit_every_image_once_and_keep_fits_history():
    """The loop that replaces fit's tf.data pipeline: shuffled batches covering the set once per
    epoch (the last one partial), per-epoch train and validation means, progress per chunk."""
    from experiments.vae import models

    rng = np.random.default_rng(0)
    x, xt = rng.uniform(0, 1, (250, 28, 28, 1)).astype("float32"), rng.uniform(0, 1, (30, 28, 28, 1)).astype("float32")
    loop = models.Epochs(models.build_vae(_small_vae_settings(), seed=1), x, xt, batch_size=64, seed=3, chunk=2)
    order = loop.rng.permutation(250)
    calls = loop._calls(order)
    assert [c.shape for c in calls] == [(2, 64), (1, 64), (1, 58)]  # 3 full batches in chunks of 2, then 58
    assert sorted(np.concatenate([c.ravel() for c in calls])) == list(range(250))

    s = _small_vae_settings(epochs=2, batch_size=64)
    vae = models.build_vae(s, seed=1)
    ctx = _FitContext(x, xt)
    run = models.fit_vae(ctx, vae, s, "tiny")
    assert set(run.history) == {"loss", "reconstruction_loss", "kl_loss", "val_loss", "val_reconstruction_loss",
                                "val_kl_loss"}
    assert all(len(v) == 2 and np.isfinite(v).all() for v in run.history.values())
    h = run.history
    assert h["loss"][0] == pytest.approx(h["reconstruction_loss"][0] + h["kl_loss"][0], rel=1e-4)
    assert int(vae.optimizer.iterations) == 2 * 4  # 4 batches an epoch, each one optimizer step
    assert ctx.phases == ["compile"]  # said once, before the first batch
    assert ctx.ticks[-1] == (8, 8, "batch") and len(run.epoch_s) == 2 and run.images == 500


def test_likelihood_in_chunks_of_z_equals_all_at_once(monkeypatch):
    """log p(x|z) is decoded and scored a few samples of z at a time (memory), with the same
    numbers as decoding all k samples at once, and the bounds keep their order."""
    from experiments.vae import models

    rng = np.random.default_rng(0)
    x = (rng.uniform(0, 1, (20, 28, 28, 1)) > 0.5).astype("float32")
    vae = models.build_vae(_small_vae_settings(), seed=1)
    monkeypatch.setattr(models, "DECODED_AT_ONCE", 10**9)
    whole = models.test_likelihood(vae, x, k=7, iwae_images=20, seed=5, batch=10)
    monkeypatch.setattr(models, "DECODED_AT_ONCE", 30)  # 3 samples of 10 images a chunk: 3, 3, then 1
    chunked = models.test_likelihood(vae, x, k=7, iwae_images=20, seed=5, batch=10)
    for key in ("neg_elbo", "nll", "reconstruction", "kl", "nll_se"):
        assert chunked[key] == pytest.approx(whole[key], rel=1e-6), key
    assert chunked["nll"] <= chunked["neg_elbo"] + 3 * chunked["nll_se"]


def test_a_diverging_vae_stops_with_the_epoch_and_the_setting_at_fault():
    from experiments.vae import models
    from harness.errors import ItemFailed

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (100, 28, 28, 1)).astype("float32")
    s = _small_vae_settings(epochs=3, batch_size=50)
    vae = models.build_vae(s, seed=1)
    kernel = vae.encoder.get_layer("z_mean").kernel  # linear: a ReLU could turn NaN into 0
    kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))  # injected: every loss is NaN from the start
    with pytest.raises(ItemFailed, match=r"diverged in epoch 1: loss nan.*vae.learning_rate"):
        models.fit_vae(_FitContext(x, x[:20]), vae, s, "tiny")


def test_bad_settings_the_schema_cannot_see():
    from experiments.vae import models

    s = load_config("smoke").section("vae")
    with pytest.raises(ConfigError):
        models.validate({**s, "iwae_images": 0})
    with pytest.raises(ConfigError):
        models.get_prior("cauchy")


# ---------------------------------------------------------------- the items, at smoke
@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, smoke_all):
    from harness.data import load_dataset
    from harness.run.runner import Runner
    from tests.conftest import smoke_copy

    registry = discover()
    config = load_config("smoke")
    store, summary = smoke_copy(tmp_path_factory, smoke_all, VAE_ITEMS)  # the suite's shared run of them
    runner = Runner(registry, config, store, dataset_loader=lambda: load_dataset("mnist"))
    results = {o.id: store.load_result(o.id) for o in summary.outcomes}
    return {"registry": registry, "config": config, "store": store, "runner": runner,
            "summary": summary, "results": results}


@pytest.mark.slow
def test_every_headline_number_has_a_label_in_both_languages(smoke_run):
    from tests.experiments.headlines import unlabelled_headlines

    assert not unlabelled_headlines(smoke_run["store"], smoke_run["registry"])


@pytest.mark.slow
def test_every_item_runs_and_writes_figures(smoke_run):
    outcomes = {o.id: o for o in smoke_run["summary"].outcomes}
    for item_id in VAE_ITEMS:
        assert outcomes[item_id].status == "ok", (item_id, outcomes[item_id].error)
        result = smoke_run["results"][item_id]
        assert result.figures, item_id
        for fig in result.figures:
            path = smoke_run["store"].item_dir(item_id) / fig["file"]
            assert path.stat().st_size > 5000, path
            assert fig["caption"]["es"] and fig["caption"]["en"]
        assert result.metrics, item_id


@pytest.mark.slow
def test_every_check_passes(smoke_run):
    from harness.context import FAILED, check_state

    for item_id in VAE_ITEMS:
        checks = smoke_run["results"][item_id].checks
        assert checks, item_id
        # Not graded at smoke (the epochs' range) is accepted; a graded failure is not.
        failed = [(c["name"], c["expected"], c["observed"]) for c in checks if check_state(c) == FAILED]
        assert not failed, (item_id, failed)


@pytest.mark.slow
def test_rubric_checks_are_recorded(smoke_run):
    names = {i: {c["name"] for c in smoke_run["results"][i].checks} for i in VAE_ITEMS}
    assert {"encoder_layers_match_handout", "encoder_parameters_match_handout", "latent_dim_is_2"} <= names["1.1a"]
    assert {"decoder_layers_match_handout", "decoder_parameters_match_handout"} <= names["1.1b"]
    assert {"sampled_std_is_exp_half_log_var", "handout_sampling_is_wrong", "vae_parameters_match_handout"} <= names["1.1c"]
    assert {"prior_is_standard_normal", "reconstruction_is_784_times_mean_bce"} <= names["1.1d"]
    assert {"optimizer_as_handout", "epochs_between_10_and_15"} <= names["1.1e"]
    assert all("latent_dim_is_2" in names[i] for i in ["1.1a", "1.1c", "1.1d", "1.1e", "1.1f", "1.1g"])
    assert {"prior_density_integrates_to_1", "prior_kl_is_correct"} <= names["1.1h"]
    assert "decoder_mirrors_encoder" in names["1.1j"]


@pytest.mark.slow
def test_parameters_and_likelihood_are_consistent(smoke_run):
    r = smoke_run["results"]
    metric = lambda i, k: r[i].metrics[k]["value"]  # noqa: E731
    assert metric("1.1a", "parameters") == 1_634_340
    assert metric("1.1b", "parameters") == 1_646_561
    assert metric("1.1c", "parameters") == 3_280_901
    elbo, nll = metric("1.1e", "test_neg_elbo"), metric("1.1e", "test_nll_iwae")
    assert 0 < nll <= elbo + 1.0 and elbo < 560  # IWAE bound below the ELBO; far below a uniform decoder's 784·ln 2
    assert metric("1.1e", "test_neg_elbo") == pytest.approx(
        metric("1.1e", "test_reconstruction") + metric("1.1e", "test_kl"))
    sweep = smoke_run["store"].load_result("1.1i").values["sweep"]
    assert [row["latent_dim"] for row in sweep] == sorted(smoke_run["config"].get("vae_compare.latent_dims"))
    assert all(0 <= row["active_units"] <= row["latent_dim"] for row in sweep)


@pytest.mark.slow
def test_model_rows_follow_the_readme(smoke_run):
    owners = {}
    for item_id in TRAINS:
        for row in smoke_run["results"][item_id].values["model_rows"]:
            assert row["family"] == "vae" and row["item"] == item_id
            for key in ("model", "train_s", "sample_ips", "neg_elbo", "nll", "fid", "coverage_entropy",
                        "kl_uniform", "classes_under_2pct", "mean_confidence", "precision", "recall"):
                assert row[key] is not None, (item_id, key)
            owners.setdefault(row["model"], []).append(item_id)
    assert all(len(v) == 1 for v in owners.values()), owners  # no model reported by two items


@pytest.mark.slow
def test_base_model_loads_and_is_reused(smoke_run):
    from harness.context import ItemOutput
    from experiments.vae.models import VAE

    store = smoke_run["store"]
    vae = ItemOutput("1.1e", store.item_dir("1.1e"), store.load_result("1.1e")).model("vae")
    assert isinstance(vae, VAE) and vae.latent_dim == 2
    x = np.zeros((3, 28, 28, 1), "float32")
    assert vae.predict(x, verbose=0).shape == (3, 28, 28, 1)
    again = smoke_run["runner"].run(["1.1g"])
    assert {o.id: o.status for o in again.outcomes}.get("1.1e") == "cached"
    assert all(o.status == "cached" for o in again.outcomes)


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_answers_render_with_the_run_numbers(smoke_run, lang):
    registry, config = smoke_run["registry"], smoke_run["config"]
    results = {i: r for i, r in smoke_run["results"].items()}
    for item_id in VAE_ITEMS:
        module_file = registry.get(item_id).module.__file__
        text = render_answer(module_file, item_id, lang, variables(item_id, results, config.values, config.profile))
        assert text and "{{" not in text and "{%" not in text, item_id
        assert "http://" not in text and "https://" not in text


# Figures with words (titles, axis labels, legends): one PNG per language. The others are image grids
# labelled only with notation (z values, "dim z = 2"), drawn once.
WORDED_FIGURES = {
    "1.1a": {"encoder_graph"}, "1.1b": {"decoder_graph", "stride_example"}, "1.1c": {"sampling_check", "vae_graph"},
    "1.1d": {"bce_vs_mse"}, "1.1e": {"learning_curves"}, "1.1f": {"latent_scatter", "latent_histograms"},
    "1.1g": {"extreme_evidence", "grid_labels"}, "1.1h": {"prior_comparison"}, "1.1i": {"sweep_chart"},
    "1.1j": {"architecture_comparison"},
}


def test_worded_figures_exist_in_both_languages(smoke_run):
    from tests.conftest import assert_worded_figures_in_both_languages

    assert_worded_figures_in_both_languages(smoke_run["results"], smoke_run["store"].item_dir, WORDED_FIGURES,
                                            min_bytes=5000)
