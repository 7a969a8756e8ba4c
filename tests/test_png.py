"""harness.png: the header reader and the opaque-alpha drop the report's figures go through."""
import numpy as np
from PIL import Image

from harness.png import drop_opaque_alpha, png_size


def _save(path, alpha):
    rgba = np.zeros((6, 9, 4), np.uint8)
    rgba[..., 0] = np.arange(9) * 20
    rgba[..., 3] = alpha
    Image.fromarray(rgba, "RGBA").save(path)
    return rgba


def test_an_opaque_figure_loses_its_alpha_and_keeps_its_pixels(tmp_path):
    path = tmp_path / "fig.png"
    rgba = _save(path, 255)
    assert drop_opaque_alpha(path)
    with Image.open(path) as image:
        assert image.mode == "RGB"
        assert np.array_equal(np.asarray(image), rgba[..., :3])
    assert png_size(path) == (9, 6)
    assert not drop_opaque_alpha(path)  # already RGB: left alone


def test_a_figure_with_any_transparent_pixel_keeps_its_alpha(tmp_path):
    path = tmp_path / "fig.png"
    alpha = np.full((6, 9), 255, np.uint8)
    alpha[2, 3] = 254
    _save(path, alpha)
    before = path.read_bytes()
    assert not drop_opaque_alpha(path)
    assert path.read_bytes() == before
