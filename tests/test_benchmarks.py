"""The benchmarks' baseline is honest (its D really trains) and the benchmark command runs.

No timing is asserted here: benchmarks report numbers, they never pass or fail on them.
"""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

# The baseline keeps the handout's input_shape=/input_dim=/alpha=, which Keras 3 warns about.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def images():
    # D and G train on any images; random ones keep the test off the dataset.
    return np.random.default_rng(0).random((256, 28, 28, 1), dtype=np.float32)


def test_baseline_discriminator_trains_in_d_step_and_is_frozen_in_am_step(images):
    from benchmarks import handout_baseline as B

    gan = B.build_gan()
    check = B.check_discriminator_trains(images, gan, batch_size=16)
    assert check == {"d_changes_in_d_step": True, "d_frozen_in_am_step": True, "g_changes_in_am_step": True}
    # And the loop itself leaves the flag as the AM step needs it, D's weights moving step to step.
    before = [w.copy() for w in gan["D"].get_weights()]
    B.train_on_steps(images, gan["DM"], gan["AM"], gan["G"], gan["D"], steps=2, batch_size=16)
    assert any(not np.array_equal(a, b) for a, b in zip(before, gan["D"].get_weights()))
    assert gan["D"].trainable is False


def test_without_the_toggle_keras3_freezes_d_in_dm_too(images):
    """Why the baseline toggles D.trainable: the handout's order (compile DM, set D.trainable =
    False, compile AM) leaves D untrained by DM.train_on_batch in Keras 3."""
    from benchmarks import handout_baseline as B

    gan = B.build_gan()  # leaves D.trainable = False, as the handout does
    x = np.concatenate([images[:16], images[16:32]])
    y = np.concatenate([np.ones((16, 1)), np.zeros((16, 1))])
    before = [w.copy() for w in gan["D"].get_weights()]
    gan["DM"].train_on_batch(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, gan["D"].get_weights()))


def test_benchmark_command_prints_both_ratios(tmp_path):
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--steps", "2", "--repeats", "1",
                           "--quality-images", "0", "--results", str(results)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"VAE speedup \d+\.\d+×", proc.stdout), proc.stdout
    assert re.search(r"GAN step ratio \d+\.\d+×", proc.stdout), proc.stdout
    assert "D changes in the D step: **True**" in proc.stdout
    text = results.read_text()
    assert "Machine:" in text and "VAE speedup" in text and "GAN step ratio" in text
