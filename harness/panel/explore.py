"""The explorers' models: the VAE's decoder/encoder and the GAN's generator, loaded once.

The items that save them take the roles `vae_explorer` and `gan_explorer`
(harness.registry.ROLES); the panel asks the registry for them by role.

Each explorer keeps its models keyed by the producing item's fingerprint, so a
re-run from the Items tab swaps them in without a restart. Updates call the
model directly on a tiny batch (`model(x, training=False)`): Keras's
`predict` builds a dataset per call and costs tens of milliseconds more.
"""
from __future__ import annotations

import abc
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from harness.context import ItemOutput
from harness.errors import HarnessError
from harness.run.store import RunStore

SCALE = 10          # a 28x28 digit shown at 280x280
SCATTER_PX = 560    # the latent scatter is this many pixels square
SCATTER_POINTS = 2000


class NotReady(HarnessError):
    """The item that saves the explorer's model has not run in this run folder."""


def upscale(img: np.ndarray, k: int = SCALE) -> np.ndarray:
    """[0,1] image (H,W[,1]) -> uint8 RGB, each pixel a k x k block (crisp, not blurred)."""
    g = np.clip(np.asarray(img, dtype=np.float32).reshape(img.shape[0], img.shape[1]), 0.0, 1.0)
    g = (g * 255.0 + 0.5).astype(np.uint8)
    g = np.repeat(np.repeat(g, k, axis=0), k, axis=1)
    return np.stack([g, g, g], axis=-1)


def strip(images: np.ndarray, k: int = 4, gap: int = 2) -> np.ndarray:
    """A row of digits with a white gap between them."""
    tiles = [upscale(im, k) for im in images]
    sep = np.full((tiles[0].shape[0], gap, 3), 255, np.uint8)
    row = [tiles[0]]
    for tile in tiles[1:]:
        row += [sep, tile]
    return np.concatenate(row, axis=1)


def grid(images: np.ndarray, cols: int, k: int = 3, gap: int = 2) -> np.ndarray:
    rows = [strip(images[i:i + cols], k, gap) for i in range(0, len(images), cols)]
    sep = np.full((gap, rows[0].shape[1], 3), 255, np.uint8)
    out = [rows[0]]
    for r in rows[1:]:
        out += [sep, r]
    return np.concatenate(out, axis=0)


def _output(store: RunStore, item_id: str) -> ItemOutput:
    result = store.load_result(item_id)
    if result is None or not result.ok:
        raise NotReady(f"item {item_id} has not run in '{store.run_id}' yet; run it from the Items tab")
    return ItemOutput(item_id, store.item_dir(item_id), result)


def _submodel(out: ItemOutput, direct: str, whole: str, attr: str) -> Any:
    """`direct` if the item saved it, else the `attr` part of the whole model it saved."""
    models = out.result.models
    if direct in models:
        return out.model(direct)
    if whole in models:
        return getattr(out.model(whole), attr)
    raise NotReady(f"item {out.id} saved no '{direct}' or '{whole}' model (it saved {', '.join(sorted(models)) or 'none'})")


def _call(model: Any, x: np.ndarray) -> np.ndarray:
    y = model(x, training=False)
    if isinstance(y, (list, tuple)):
        return [np.asarray(v) for v in y]
    return np.asarray(y)


class _Cached(abc.ABC):
    """Loads once per fingerprint of the source item; thread-safe."""

    def __init__(self, store: RunStore, item_id: str | None) -> None:
        self.store = store
        self.item_id = item_id
        self._lock = threading.Lock()
        self._fp: str | None = None

    def _fresh(self) -> bool:
        result = self.store.load_result(self.item_id, verify=False)
        fp = result.fingerprint if result and result.ok else None
        return fp is not None and fp == self._fp

    def ensure(self) -> None:
        if self.item_id is None:
            raise NotReady(f"no item of this harness saves the model of the {type(self).__name__}")
        with self._lock:
            if self._fresh():
                return
            out = _output(self.store, self.item_id)
            self._load(out)
            self._fp = out.result.fingerprint

    @abc.abstractmethod
    def _load(self, out: ItemOutput) -> None:
        """Read what the explorer shows from the item's stored output."""


@dataclass
class Latents:
    mu: np.ndarray       # (N, 2) encoder means of the test digits
    labels: np.ndarray   # (N,)
    images: np.ndarray   # (N, 28, 28, 1)
    limit: float         # the scatter and sliders span [-limit, limit] on both axes


class VaeExplorer(_Cached):
    """The VAE's decoder for the sliders and clicks; its encoder for the scatter and interpolation."""

    def __init__(self, store: RunStore, test_images: Callable[[], tuple[np.ndarray, np.ndarray]], item_id: str | None) -> None:
        super().__init__(store, item_id)
        self._test_images = test_images
        self.decoder = self.encoder = None
        self.latents: Latents | None = None
        self.scatter: np.ndarray | None = None

    def _load(self, out: ItemOutput) -> None:
        decoder = _submodel(out, "decoder", "vae", "decoder")
        encoder = _submodel(out, "encoder", "vae", "encoder")
        dim = int(decoder.input_shape[-1])
        if dim != 2:
            raise NotReady(f"item {out.id}'s decoder has a {dim}-D latent space; the explorer needs 2-D")
        x, y = self._test_images()
        x, y = x[:SCATTER_POINTS], y[:SCATTER_POINTS]
        mu = np.concatenate([_call(encoder, x[i:i + 500])[0] for i in range(0, len(x), 500)])
        limit = float(max(3.0, np.ceil(np.percentile(np.abs(mu), 99.5))))
        self.decoder, self.encoder = decoder, encoder
        self.latents = Latents(mu, y, x, limit)
        self.scatter = render_scatter(mu, y, limit)
        _call(decoder, np.zeros((1, 2), np.float32))  # first call traces; keep it off the user's first move

    def decode(self, z1: float, z2: float) -> np.ndarray:
        """The decoded digit at (z1, z2); a point past the sliders' range is taken at its edge."""
        self.ensure()
        z = np.clip(np.array([[z1, z2]], np.float32), -self.latents.limit, self.latents.limit)
        return upscale(_call(self.decoder, z)[0])

    def pixel_to_z(self, px: float, py: float) -> tuple[float, float]:
        """A click on the scatter image (pixels, origin top-left) -> the latent point under it."""
        self.ensure()
        lim = self.latents.limit
        z1 = -lim + (px + 0.5) / SCATTER_PX * 2 * lim
        z2 = lim - (py + 0.5) / SCATTER_PX * 2 * lim
        return round(float(z1), 3), round(float(z2), 3)

    def z_to_pixel(self, z1: float, z2: float) -> tuple[int, int]:
        lim = self.latents.limit
        px = int(round((z1 + lim) / (2 * lim) * SCATTER_PX - 0.5))
        py = int(round((lim - z2) / (2 * lim) * SCATTER_PX - 0.5))
        return px, py

    def scatter_with_marker(self, z1: float | None = None, z2: float | None = None) -> np.ndarray:
        self.ensure()
        img = self.scatter.copy()
        if z1 is not None and z2 is not None:
            _cross(img, *self.z_to_pixel(z1, z2))
        return img

    def count(self, digit: int) -> int:
        """How many of the explorer's test digits are a `digit`."""
        self.ensure()
        return int(np.sum(self.latents.labels == digit))

    def nth(self, digit: int, n: int) -> int:
        """The test-set index of the n-th (from 0) test digit of class `digit`."""
        self.ensure()
        return int(np.flatnonzero(self.latents.labels == digit)[n])

    def interpolate(self, a: int, b: int, steps: int = 10) -> np.ndarray:
        """Test digit a, the decoded path between their means, test digit b."""
        self.ensure()
        n = len(self.latents.images)
        if not (0 <= a < n and 0 <= b < n):
            raise HarnessError(f"test digit indices must be between 0 and {n - 1}")
        za, zb = self.latents.mu[a], self.latents.mu[b]
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        path = _call(self.decoder, ((1 - t) * za + t * zb).astype(np.float32))
        images = np.concatenate([self.latents.images[a:a + 1], path, self.latents.images[b:b + 1]])
        return strip(images, k=4)


def render_scatter(mu: np.ndarray, labels: np.ndarray, limit: float) -> np.ndarray:
    """The test means coloured by digit; the axes fill the image so a pixel maps linearly to z."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(SCATTER_PX / dpi, SCATTER_PX / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)  # an explicit Agg canvas: no pyplot, no global backend switch
    ax = fig.add_axes((0, 0, 1, 1))
    cmap = matplotlib.colormaps["tab10"]
    for digit in range(10):
        sel = labels == digit
        ax.scatter(mu[sel, 0], mu[sel, 1], s=5, color=cmap(digit), alpha=0.7, label=str(digit), linewidths=0)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.axhline(0, color="0.75", lw=0.8)
    ax.axvline(0, color="0.75", lw=0.8)
    ax.tick_params(direction="in", pad=-16, labelsize=9, colors="0.35")
    ax.text(0.99, 0.01, "z1 →", transform=ax.transAxes, ha="right", va="bottom", fontsize=11)
    ax.text(0.01, 0.99, "↑ z2", transform=ax.transAxes, ha="left", va="top", fontsize=11)
    ax.legend(loc="upper right", ncol=5, fontsize=9, markerscale=3, framealpha=0.85, handletextpad=0.1, columnspacing=0.6)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _cross(img: np.ndarray, px: int, py: int, r: int = 9) -> None:
    h, w = img.shape[:2]
    for dx in range(-r, r + 1):
        for t in (-1, 0, 1):
            for x, y in ((px + dx, py + t), (px + t, py + dx)):
                if 0 <= x < w and 0 <= y < h:
                    img[y, x] = (0, 0, 0)


class GanExplorer(_Cached):
    """The GAN's generator: noise sliders (2-D noise), a seeded grid, interpolation."""

    def __init__(self, store: RunStore, item_id: str | None) -> None:
        super().__init__(store, item_id)
        self.generator = None
        self.noise_dim = 0
        self.noise = "uniform"

    def _load(self, out: ItemOutput) -> None:
        generator = _submodel(out, "generator", "gan", "generator")
        self.noise_dim = int(generator.input_shape[-1])
        values = out.result.values
        # A run from before the item saved its noise law: the law is in the settings it ran with.
        self.noise = (values["noise"]["law"] if "noise" in values
                      else out.result.config.get("gan", {}).get("noise", "uniform"))
        _call(generator, np.zeros((1, self.noise_dim), np.float32))
        self.generator = generator

    @property
    def limit(self) -> float:
        return 1.0 if self.noise == "uniform" else 3.0

    def from_noise(self, *z: float) -> np.ndarray:
        self.ensure()
        if len(z) != self.noise_dim:
            raise HarnessError(f"the generator takes {self.noise_dim}-D noise; the sliders give {len(z)}")
        # a point past the sliders' range is taken at its edge
        return upscale(_call(self.generator, np.clip(np.array([z], np.float32), -self.limit, self.limit))[0])

    def sample(self, seed: int, n: int) -> np.ndarray:
        """n noise vectors from the law the generator was trained with (U(-1, 1) or N(0, 1))."""
        rng = np.random.default_rng(int(seed))
        if self.noise == "uniform":
            return rng.uniform(-1.0, 1.0, size=(n, self.noise_dim)).astype("float32")
        return rng.standard_normal(size=(n, self.noise_dim)).astype("float32")

    def seed_grid(self, seed: int, side: int = 8) -> np.ndarray:
        self.ensure()
        return grid(_call(self.generator, self.sample(seed, side * side)), cols=side, k=3)

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 10) -> np.ndarray:
        self.ensure()
        za, zb = self.sample(seed_a, 1)[0], self.sample(seed_b, 1)[0]
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return strip(_call(self.generator, ((1 - t) * za + t * zb).astype(np.float32)), k=4)
