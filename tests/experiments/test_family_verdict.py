"""The VAE-versus-GAN verdict is decided once, by eval.compare, and a generator that draws no digits is ranked
against nothing (experiments/evaluation/compare.py); the pages word that record (compare_words.family_sentence)."""
from __future__ import annotations

from experiments.evaluation.compare import degenerate, family_verdict
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
