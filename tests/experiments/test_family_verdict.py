"""The VAE-versus-GAN verdict is decided once, by eval.compare, and a generator that draws no digits is ranked
against nothing (experiments/evaluation/compare.py); the pages word that record (compare_words.family_sentence)."""
from __future__ import annotations

from experiments.evaluation.compare import family_verdict
from harness.verdicts import degenerate
from harness.report.compare_words import family_sentence

NOISE_FID = 300.0


def row(model, family, fid, se=1.0, hist=(10,) * 10):
    return {"model": model, "family": family, "fid": fid, "fid_se": se, "class_hist": list(hist)}


def test_a_generator_with_90_percent_in_one_class_or_noise_like_fid_is_degenerate_and_a_working_one_is_not():
    assert degenerate(row("G", "gan", 120.0, hist=(91,) + (1,) * 9), NOISE_FID) == "one_class"
    assert degenerate(row("G", "gan", 299.0, se=1.0), NOISE_FID) == "noise"  # 299 + 2 not clearly below 300
    assert degenerate(row("G", "gan", 40.0, hist=(12, 8, 10, 9, 11, 10, 10, 10, 10, 10)), NOISE_FID) is None
    assert degenerate(row("G", "gan", 40.0, hist=(89,) + (1,) * 11), NOISE_FID) is None  # 88 %: not one class


def test_no_ranking_when_every_gan_is_degenerate_and_the_sentence_says_why():
    rows = [row("VAE z=2", "vae", 60.0), row("GAN", "gan", 57.0, hist=(100,) + (0,) * 9)]
    record = family_verdict(rows, NOISE_FID)
    assert record["reason"] == "degenerate" and record["winner"] is None and record["gan"] is None
    assert record["degenerate"] == {"GAN": "one_class"}
    es, en = family_sentence(record, "es"), family_sentence(record, "en")
    assert es.startswith("No se ordenan las familias: ninguna GAN dibuja dígitos") and "90 %" in es and "mejor" not in es
    assert en.startswith("The families are not ranked: no GAN") and "better" not in en


def test_a_clear_gap_names_the_winner_once_and_a_gap_inside_the_uncertainty_names_none():
    rows = [row("VAE z=2", "vae", 60.0), row("GAN a", "gan", 50.0), row("GAN b", "gan", 45.0, hist=(95,) + (1,) * 5)]
    record = family_verdict(rows, NOISE_FID)
    assert record["gan"] == "GAN a"  # the degenerate one, lower FID and all, is not the family's best
    assert record["winner"] == "gan" and record["kind"] == "samples"
    assert family_sentence(record, "en").startswith("The best GAN (GAN a) is better than the best VAE (VAE z=2)")
    assert "indicativa" in family_sentence(record, "es")
    close = family_verdict([row("VAE z=2", "vae", 60.0), row("GAN a", "gan", 59.0)], NOISE_FID)
    assert close["winner"] is None and close["reason"] == "within"
    assert "no clear difference" in family_sentence(close, "en")


def test_a_gan_trained_over_seeds_is_judged_by_its_mean_beyond_the_spread_between_seeds():
    """1.2f's rows carry their spread over seeds: the family verdict then needs the gap to clear it,
    not the sampling error alone (one lucky seed of a GAN whose seeds range 57.7-65.5 is no win)."""
    lucky = {**row("GAN g_layernorm", "gan", 57.7, se=0.9), "seeds": 3, "fid_seed_mean": 61.0, "fid_seed_sd": 4.0}
    record = family_verdict([row("VAE z=8", "vae", 59.0, se=0.9), lucky], NOISE_FID)
    assert record["kind"] == "seeds" and record["seeds"] == 3 and record["gan_fid"] == 61.0
    assert record["winner"] is None and record["reason"] == "within"  # 2.0 apart, U = 2·√(0.9² + 4²) ≈ 8.2
    es = family_sentence(record, "es")
    assert "media de 3 semillas" in es and "dispersión entre las 3 semillas" in es and "es mejor" not in es
    far = family_verdict([row("VAE z=8", "vae", 90.0, se=0.9), lucky], NOISE_FID)
    assert far["winner"] == "gan"
    assert family_sentence(far, "en").endswith("It is indicative: the VAE was trained once, so its own spread was not measured.")
    once = family_verdict([row("VAE z=8", "vae", 90.0, se=0.9), row("GAN", "gan", 61.0, se=0.9)], NOISE_FID)
    assert once["kind"] == "samples"  # one training: the sampling error only, said so


def test_a_comparison_with_a_side_that_draws_no_digits_ranks_nothing_in_either_language():
    from harness.report.compare_words import compare_global

    for lang, ranked in (("es", "es mejor que"), ("en", "is better than")):
        compare = compare_global(lang)
        clear = compare("A", 50.0, 1.0, "B", 130.0, 1.0, "FID-MNIST")
        assert clear.winner == "a" and ranked in str(clear) and not clear.degenerate
        for why_a, why_b in (("one_class", None), (None, "noise"), ("one_class", "noise")):
            c = compare("A", 50.0, 1.0, "B", 130.0, 1.0, "FID-MNIST", why_a=why_a, why_b=why_b)
            assert c.degenerate and c.winner is None and ranked not in str(c), str(c)
        both = str(compare("A", 50.0, 1.0, "B", 130.0, 1.0, "FID-MNIST", why_a="one_class", why_b="one_class"))
        assert both.count("90 %") == 1 and ("ninguno de los dos dibuja" in both or "neither draws" in both)
    import pytest

    with pytest.raises(ValueError, match="unknown reason"):
        compare_global("es")("A", 1.0, 1.0, "B", 2.0, 1.0, "FID", why_a="grey")
