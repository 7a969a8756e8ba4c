"""The one rule that words every comparison: a win only beyond the combined uncertainty."""
import math

import pytest

from harness.report.answers import AnswerError, render_answer_text
from harness.report.compare_words import share_se, sentence, verdict
from harness.verdicts import K


def test_a_gap_beyond_the_combined_uncertainty_names_the_lower_one_for_a_lower_is_better_score():
    # U = 2 · sqrt(3² + 4²) = 10; a gap of 10.5 is beyond it.
    v = verdict(80.0, 3.0, 90.5, 4.0)
    assert v.clear and v.winner == "a" and v.uncertainty == pytest.approx(10.0) and v.gap == pytest.approx(10.5)
    assert verdict(90.5, 3.0, 80.0, 4.0).winner == "b"


def test_a_gap_inside_the_combined_uncertainty_is_no_win_either_way():
    for a, b in ((80.0, 89.5), (89.5, 80.0), (80.0, 90.0)):    # 9.5 and 10 are not beyond U = 10
        v = verdict(a, 3.0, b, 4.0)
        assert not v.clear and v.winner is None


def test_higher_is_better_flips_the_winner():
    assert verdict(0.9, 0.01, 0.5, 0.01, lower_is_better=False).winner == "a"
    assert verdict(0.9, 0.01, 0.5, 0.01, lower_is_better=True).winner == "b"


def test_equal_scores_with_no_spread_are_no_win():
    # Recall 0.00 against 0.00: no gap; a share at 0 or 1 still carries an error (plus-two estimate).
    assert verdict(0.0, share_se(0.0, 500), 0.0, share_se(0.0, 500), lower_is_better=False).winner is None
    assert share_se(0.0, 500) == pytest.approx((1 / 502 * (501 / 502) / 500) ** 0.5)
    assert share_se(0.5, 100) == pytest.approx(0.05)


def test_a_missing_uncertainty_never_gives_a_win():
    v = verdict(10.0, None, 90.0, 1.0)
    assert v.winner is None and math.isnan(v.uncertainty)
    assert "no measured uncertainty" in sentence(v, "A", "B", "FID-MNIST", "en")


def test_sentences_in_both_languages_put_the_better_model_first():
    v = verdict(90.5, 3.0, 80.0, 4.0)
    assert sentence(v, "the GAN", "the VAE", "FID-MNIST", "en") == (
        "The VAE is better than the GAN on FID-MNIST: 10.5 apart, more than the combined uncertainty ±10.0.")
    assert sentence(v, "la GAN", "el VAE", "FID-MNIST", "es") == (
        "El VAE es mejor que la GAN en FID-MNIST: 10,5 de diferencia, más que la incertidumbre combinada ±10,0.")
    unclear = verdict(80.0, 3.0, 85.0, 4.0)
    assert sentence(unclear, "the GAN", "the VAE", "FID-MNIST", "en").startswith(
        "There is no clear difference between the GAN and the VAE on FID-MNIST at this budget: 5.0 apart")
    assert "no hay diferencia clara" in sentence(unclear, "la GAN", "el VAE", "FID-MNIST", "es")


def test_a_tiny_uncertainty_is_printed_not_rounded_to_zero_and_its_basis_said():
    v = verdict(125.38, 0.004, 125.11, 0.001)
    text = sentence(v, "the normal", "the uniform", "FID-MNIST", "en", basis="samples")
    assert "0.270 apart" in text and "±0.008" in text and "±0.0 " not in text
    assert text.endswith("(the error of sampling the images only: each model was trained once).")
    assert "cada modelo se entrenó una vez" in sentence(v, "la normal", "la uniforme", "FID-MNIST", "es", basis="samples")


def test_answers_reach_it_through_the_compare_global():
    text = ('{% set c = compare("BCE", a, 0.2, "MSE", b, 0.2, "the IWAE bound", unit="nats") %}'
            '{{ c }}{% if c.winner == "a" %} WIN{% endif %}')
    assert render_answer_text(text, {"a": 100.0, "b": 101.0}, "t", "en").endswith("±0.6 nats. WIN")
    assert "no clear difference" in render_answer_text(text, {"a": 100.0, "b": 100.5}, "t", "en")
    with pytest.raises(AnswerError, match="unknown basis"):
        render_answer_text('{{ compare("A", 1.0, 0.1, "B", 2.0, 0.1, "FID", basis="seeds") }}', {}, "t", "en")


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match="two finite values"):
        verdict(float("nan"), 1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="positive count"):
        share_se(0.5, 0)
    assert K == 2.0
