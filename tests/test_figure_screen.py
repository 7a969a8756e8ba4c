"""The slide's rendering of a figure (harness.figure_screen): larger text, nothing colliding."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from harness.figure_screen import (LARGE, NORMAL, collisions, display_scale, is_wide, save_for_screen,  # noqa: E402
                                   save_screens, save_source, screens_from_source, screens_of, text_px_shown)
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


def plot_share(fig) -> float:
    """The plots' share of the figure's height: what the text leaves to the data."""
    return max(ax.get_position().height for ax in fig.axes)


def test_a_large_viewport_gets_taller_plots_with_text_still_large(tmp_path):
    """LARGE's boxes are ~1.6 × NORMAL's: its rendering needs a smaller k for its text, so the plots
    keep more of the height; the text still reaches LARGE.min_px there (and 14 px in NORMAL's box)."""
    fig = curves()
    report = tmp_path / "curves.png"
    fig.savefig(report, dpi=110, bbox_inches="tight")
    size = fig.get_size_inches()
    normal_px = save_for_screen(fig, tmp_path / "normal.png", 110, NORMAL)
    normal_share = plot_share(fig)
    fig.set_size_inches(size)
    large_px = save_for_screen(fig, tmp_path / "large.png", 110, LARGE)
    large_share = plot_share(fig)
    assert normal_px is not None and large_px is not None and collisions(fig) == 0
    assert large_px * display_scale(*png_size(tmp_path / "large.png"), LARGE) >= LARGE.min_px - 0.5
    assert large_px < normal_px and large_share > normal_share + 0.05, (normal_share, large_share)
    plt.close(fig)


def test_save_screens_keeps_the_two_renderings_in_step(tmp_path):
    fig = curves()
    report = tmp_path / "curves.png"
    fig.savefig(report, dpi=110, bbox_inches="tight")
    out = save_screens(fig, report, 110, own_drawing=False)
    assert out["screen"] == tmp_path / "curves.screen.png" and out["screen_large"] == tmp_path / "curves.screen-large.png"
    assert out["screen"].exists() and out["screen_large"].exists()
    plt.close(fig)
    grid, axes = plt.subplots(1, 2, figsize=(3, 1.5))  # no text: neither rendering, nothing left behind
    for ax in axes:
        ax.imshow(np.zeros((4, 4)))
        ax.axis("off")
    grid.savefig(tmp_path / "grid.png", dpi=110)
    assert save_screens(grid, tmp_path / "grid.png", 110, own_drawing=False) == {"screen": None, "screen_text_px": None}
    assert sorted(p.name for p in tmp_path.glob("grid*")) == ["grid.png"]
    plt.close(grid)


# The 1.2c freezing proof as a full run measured it (tables freezing_proof): D has 10 weight tensors, G 26.
PROOF = {"d_step_D": {"n": 10, "changed": 10, "identical": 0, "max_abs_change": 2.52e-3},
         "d_step_G": {"n": 26, "changed": 0, "identical": 26, "max_abs_change": 0.0},
         "g_step_D": {"n": 10, "changed": 0, "identical": 10, "max_abs_change": 0.0},
         "g_step_G": {"n": 26, "changed": 26, "identical": 0, "max_abs_change": 9.99e-3}}


def test_the_freezing_proof_reads_at_14_px_on_the_slide_and_the_report_keeps_its_strip(tmp_path):
    """1.2c's strip, scaled into the slide at 1280 × 720, stopped at 13.5 px (its bar notes collide
    beyond); its slide drawing stands beside the text, at 14 px or more in both languages and sizes."""
    from experiments.gan.c_adversarial import proof_figure, proof_screen_figure
    from harness.config import load_config
    from harness.context import Context

    ctx = Context("1.2c", load_config("smoke"), (), 0, tmp_path, None, {})
    ctx.figure("freezing_proof", lambda lang: proof_figure(PROOF, lang), "proof",
               screen=lambda lang: proof_screen_figure(PROOF, lang))
    entry = ctx.result.figures[0]
    for lang in ("es", "en"):
        screens = screens_of(entry, tmp_path, lang)  # drawn from the saved slide drawing, as the panel does
        screen, large = screens["screen"], screens["screen_large"]
        assert not is_wide(*png_size(screen))  # beside the talking points, not in the 225 px strip under them
        assert screens["screen_text_px"] * display_scale(*png_size(screen), NORMAL) >= 14, lang
        assert screens["screen_large_text_px"] * display_scale(*png_size(large), LARGE) >= 14, lang
        drawn = proof_screen_figure(PROOF, lang)
        assert collisions(drawn) == 0
        plt.close(drawn)
        # The report's PNG is the report's strip, pixel for pixel as drawn without a slide in mind
        # (the report's copy is saved without its opaque alpha channel).
        alone = tmp_path / f"alone.{lang}.png"
        strip = proof_figure(PROOF, lang)
        strip.savefig(alone, dpi=110, bbox_inches="tight")
        plt.close(strip)
        with Image.open(tmp_path / entry["files"][lang]) as saved, Image.open(alone) as drawn_alone:
            assert np.array_equal(np.asarray(saved.convert("RGBA")), np.asarray(drawn_alone.convert("RGBA")))


# -- the renderings drawn where a talk shows them (issue 34, 2) ----------------------------------------

def test_the_panel_draws_from_the_saved_figure_the_same_renderings_the_item_drew(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "cache"))
    report = tmp_path / "curves.png"
    fig = curves()
    fig.savefig(report, dpi=110, bbox_inches="tight")
    source = save_source(fig, report)
    plt.close(fig)
    assert source == tmp_path / "curves.slide.pickle" and source.stat().st_size > 0
    drawn = screens_from_source(source, report, 110, own_drawing=False)
    eager_fig = curves()
    (tmp_path / "eager").mkdir()
    eager_fig.savefig(tmp_path / "eager" / "curves.png", dpi=110, bbox_inches="tight")
    eager = save_screens(eager_fig, tmp_path / "eager" / "curves.png", 110, own_drawing=False)
    plt.close(eager_fig)
    for kind in ("screen", "screen_large"):
        with Image.open(drawn[kind]) as a, Image.open(eager[kind]) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b)), kind
        assert drawn[f"{kind}_text_px"] == eager[f"{kind}_text_px"]
    # Drawn once: a second slide view reads the cache.
    monkeypatch.setattr("harness.figure_screen.save_screens", lambda *a, **k: pytest.fail("drawn twice"))
    assert screens_from_source(source, report, 110, own_drawing=False) == drawn


def test_a_saved_figure_not_signed_on_this_machine_is_never_unpickled(tmp_path, monkeypatch):
    """A run folder from elsewhere (or a crafted one) cannot make the panel run its pickle."""
    import pickle

    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "cache"))
    planted = tmp_path / "planted"

    class Plant:
        def __reduce__(self):
            return (planted.mkdir, ())

    source = tmp_path / "x.slide.pickle"
    source.write_bytes(b"\0" * 32 + pickle.dumps(Plant()))
    assert screens_from_source(source, tmp_path / "x.png", 110, False)["screen"] is None
    assert not planted.exists()


def test_a_figure_without_text_saves_no_drawing_for_the_slides(tmp_path):
    grid, ax = plt.subplots()
    ax.imshow(np.zeros((4, 4)))
    ax.axis("off")
    assert save_source(grid, tmp_path / "grid.png") is None
    plt.close(grid)


def test_items_save_the_figure_for_the_slides_and_draw_no_rendering(tmp_path, monkeypatch):
    from harness.config import load_config
    from harness.context import Context

    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "cache"))
    ctx = Context("1.1e", load_config("smoke"), (), 0, tmp_path, None, {})
    ctx.figure("curves", lambda lang: curves(), "curves")
    entry = ctx.result.figures[0]
    assert "screen" not in entry and set(entry["slide_source"]) == {"es", "en"}
    assert not list(tmp_path.rglob("*.screen*.png"))
    assert screens_of(entry, tmp_path, "es")["screen"].exists()
