"""The slide's rendering of a figure (harness.figure_screen): larger text, nothing colliding."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from harness.figure_screen import collisions, display_scale, save_for_screen, text_px_shown  # noqa: E402
from harness.report.content import png_size  # noqa: E402


def curves(width: float = 11.0):
    """Two panels side by side with 8 pt ticks and a legend inside: the usual report figure."""
    fig, axes = plt.subplots(1, 2, figsize=(width, 3.6))
    x = np.linspace(0, 10, 50)
    for ax in axes:
        ax.plot(x, np.sin(x), label="training")
        ax.plot(x, np.cos(x), label="test (validation)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats / image")
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7.5, loc="upper right")
    fig.tight_layout()
    return fig


def test_screen_rendering_reaches_the_target_without_collisions(tmp_path):
    fig = curves()
    report, screen = tmp_path / "report.png", tmp_path / "screen.png"
    fig.savefig(report, dpi=110, bbox_inches="tight")
    assert text_px_shown(7.5, 110, *png_size(report)) < 14  # as drawn for the report: too small on a slide
    px = save_for_screen(fig, screen, 110)
    size = png_size(screen)
    assert px is not None and px * display_scale(*size) >= 14  # as shown in the slide's box: the back row's minimum
    assert collisions(fig) == 0
    plt.close(fig)


def test_collisions_are_counted():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.text(0.5, 0.5, "first label")
    ax.text(0.5, 0.5, "second label")  # on top of the first
    fig.canvas.draw()
    assert collisions(fig) == 1
    plt.close(fig)


def test_words_in_a_box_stop_growing_before_they_collide(tmp_path):
    """A layer diagram: two lines of text per box. Enlarging the text would make them meet."""
    fig, ax = plt.subplots(figsize=(6.4, 9.0))
    ax.set_xlim(0, 1)
    ax.set_ylim(-15, 1)
    ax.axis("off")
    for i in range(15):
        ax.text(0.5, -i + 0.1, f"layer_{i} · Conv2DTranspose · relu", ha="center", va="center", fontsize=8.5)
        ax.text(0.5, -i - 0.17, "(None, 28, 28, 32)   32 filters, kernel 3x3", ha="center", va="center", fontsize=7.5)
    fig.canvas.draw()
    assert collisions(fig) == 0
    px = save_for_screen(fig, tmp_path / "screen.png", 110)
    assert collisions(fig) == 0  # whatever k it reached, the two lines of a box still do not touch
    if px is not None:  # kept only when it did not collide; then its text is larger than drawn
        assert px > 7.5 * 110 / 72
    plt.close(fig)


def test_an_image_grid_without_text_gets_no_second_rendering(tmp_path):
    fig, axes = plt.subplots(2, 2, figsize=(3, 3))
    for ax in axes.flat:
        ax.imshow(np.random.default_rng(0).random((28, 28)), cmap="gray")
        ax.axis("off")
    assert save_for_screen(fig, tmp_path / "screen.png", 110) is None
    assert not (tmp_path / "screen.png").exists()
    plt.close(fig)
