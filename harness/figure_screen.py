"""A figure's second rendering, for the projector: the same drawing with its text large enough
to read from the back row.

The report prints a figure at its drawn size; the panel's slide shows it in a box of about
700 × 430 px at 1280 × 720 (beside the talking points), or 1180 × 225 px under them (at least 0.4 of the deck, panel.js) when the
figure is much wider than tall. Shown there, a 8 pt tick label drawn at 110 dpi is 7–10 px
tall. The screen rendering draws the figure k times smaller in inches at k times the dpi:
the same pixels, every text (and line) k times larger against the data, k chosen so that the
smallest text reaches MIN_TEXT_PX in the slide's box. The layout is recomputed at the new size
(tight_layout) so larger labels push the axes in instead of overlapping.

A large viewport (a 1920 × 1080 projector) gives the slide's image boxes about 1.6 times as many
pixels: the rendering for 1280 × 720 shown there has its text at 22–30 px and its plots squeezed
between labels drawn for a smaller box. A second rendering (LARGE) is drawn for those boxes, with
a smaller k: the text still at LARGE.min_px there, and the room it gives back goes to the plots.
The panel's slide lets the browser pick one by the viewport's size (harness/panel/deck.py).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.png import png_size

# The box the slide's image gets at 1280 × 720 under templates/panel.css (the caption below the
# image): beside the text, or (wider than WIDE_RATIO) under it, full width, where it is at least
# this tall. How they were measured: benchmarks/RESULTS.md, 2026-11-28 09:10 entry.
SLIDE_BOX = (700, 430)
WIDE_BOX = (1180, 225)
WIDE_RATIO = 2.2
MIN_TEXT_PX = 15.0   # the target is 14 px as shown; one px of margin for rounding in the browser
MAX_SHRINK = 3.0     # beyond this the plot area itself becomes too small to read: keep what k gives


@dataclass(frozen=True)
class Screen:
    """A viewport a rendering is drawn for: the slide's two image boxes there, and the smallest text wanted."""

    slide_box: tuple[int, int]
    wide_box: tuple[int, int]
    min_px: float
    suffix: str  # <stem><suffix>.png


NORMAL = Screen(SLIDE_BOX, WIDE_BOX, MIN_TEXT_PX, ".screen")
# The same boxes at 1920 × 1080, and the text size chosen there so the rendering still reads at the
# slides' minimum in the smallest viewport the deck picks it for (LARGE_MEDIA): how both were
# measured is in benchmarks/RESULTS.md, 2026-11-28 12:30 entry.
LARGE = Screen((1084, 794), (1826, 481), 20.0, ".screen-large")
LARGE_MEDIA = "(min-width: 1600px) and (min-height: 850px)"


def is_wide(width: int, height: int) -> bool:
    """A figure much wider than tall (panels side by side) goes under the slide's text, full width."""
    return height > 0 and width / height > WIDE_RATIO


def display_scale(width: int, height: int, screen: Screen = NORMAL) -> float:
    """Displayed size / natural size of a `width` × `height` px image in its slide box (object-fit: contain)."""
    box_w, box_h = screen.wide_box if is_wide(width, height) else screen.slide_box
    return min(box_w / width, box_h / height)


def shown_texts(fig: Any) -> list[Any]:
    """The Text artists the figure draws: visible, not empty, and for tick labels only those of
    ticks inside the axis' view (matplotlib keeps labels for ticks beyond it, undrawn)."""
    from matplotlib.text import Text

    ticks, drawn = set(), set()
    for ax in fig.axes:
        for axis in ax._axis_map.values():
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks |= {tick.label1, tick.label2}
            if ax.axison and axis.get_visible():  # axis("off") hides its tick labels
                for tick in axis._update_ticks():  # the ticks the next draw shows
                    drawn |= {tick.label1, tick.label2}
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
            and (t not in ticks or t in drawn)]


def smallest_text_pt(fig: Any) -> float | None:
    """The font size (pt) of the smallest text the figure shows, or None when it shows none."""
    sizes = [t.get_fontsize() for t in shown_texts(fig)]
    return min(sizes) if sizes else None


def text_px_shown(text_pt: float, dpi: float, width: int, height: int, screen: Screen = NORMAL) -> float:
    """How tall `text_pt` drawn at `dpi` is on screen once the image is scaled into its slide box."""
    return text_pt * dpi / 72.0 * display_scale(width, height, screen)


def save_for_screen(fig: Any, path: Path, dpi: float, screen: Screen = NORMAL) -> float | None:
    """Save `fig` for the slide at `path`; returns the height in px of its smallest text in that PNG
    (as shown, it is this times the displayed / natural width: text_px_shown).

    k grows until that text reaches `screen.min_px` in `screen`'s boxes, but never so far that two texts collide that did
    not collide as drawn (a layer diagram's words outgrowing their box, labels meeting): then k is
    halved back towards the largest k that fitted, and the largest found is kept. A figure without
    text (an image grid), or one whose text collides at once, gets no screen rendering (None):
    the slide shows the report's PNG.
    Call after the report's PNG is saved: this resizes the figure."""
    text_pt = smallest_text_pt(fig)
    if text_pt is None:
        return None
    width_in, height_in = fig.get_size_inches()
    fig.canvas.draw()
    drawn = collisions(fig)  # what the author drew touching is not ours to judge
    _legends_below(fig)
    k, png_px, saved_k, collided_k = 1.0, None, None, None
    for _ in range(7):  # the tight bounding box moves with the text: measure, correct, measure again
        fig.set_size_inches(width_in / k, height_in / k)
        _relayout(fig)
        if collisions(fig) > drawn:
            collided_k = k
        else:
            fig.savefig(path, dpi=dpi * k, bbox_inches="tight")
            png_px, saved_k = text_pt * dpi * k / 72.0, k
            shown = text_px_shown(text_pt, dpi * k, *png_size(path), screen)
            if shown >= screen.min_px or k >= MAX_SHRINK:
                break
        if collided_k is None:
            k = min(MAX_SHRINK, k * screen.min_px / shown * 1.03)
        elif saved_k is None or collided_k - saved_k < 0.08:
            break
        else:  # between the largest k that fitted and the smallest that collided
            k = (saved_k + collided_k) / 2
    if saved_k == 1.0:  # no larger text fits without a collision: the report's PNG is the same picture
        path.unlink()
        return None
    if saved_k is not None and saved_k != k:  # leave the figure as saved (callers may measure it)
        fig.set_size_inches(width_in / saved_k, height_in / saved_k)
        _relayout(fig)
    return None if png_px is None else round(png_px, 2)


def save_screens(fig: Any, report_png: Path, dpi: float, own_drawing: bool) -> dict[str, Any]:
    """The slide's renderings of `fig` beside the report's <stem>.png: <stem>.screen.png (NORMAL) and
    <stem>.screen-large.png (LARGE), each from the figure's drawn size; `own_drawing` when `fig` is
    drawn for the slide, not the report's figure. Returns the files and their smallest text (px):
    screen None when no rendering helps (the slide shows the report's PNG); screen_large the
    report's PNG itself when that already reads at 1920 × 1080."""
    size = fig.get_size_inches()
    saved = {}
    for kind in (NORMAL, LARGE):
        fig.set_size_inches(size)  # each rendering starts from the drawn size, not the previous one's
        target = report_png.with_name(f"{report_png.stem}{kind.suffix}.png")
        saved[kind] = (target, save_for_screen(fig, target, dpi, kind))
    (screen, screen_px), (large, large_px) = saved[NORMAL], saved[LARGE]
    if screen_px is None:
        if large_px is not None:  # one drawing or none: the slide must not switch to another at 1920
            large.unlink()
        return {"screen": None, "screen_text_px": None}
    if large_px is None:  # the drawn size already reads in the large boxes: no smaller text than drawn
        if own_drawing:  # the report's PNG is another drawing: save this one as drawn
            fig.set_size_inches(size)
            _relayout(fig)
            fig.savefig(large, dpi=dpi, bbox_inches="tight")
        else:
            large = report_png
        large_px = round(smallest_text_pt(fig) * dpi / 72.0, 2)
    return {"screen": screen, "screen_text_px": screen_px, "screen_large": large, "screen_large_text_px": large_px}


def collisions(fig: Any) -> int:
    """How many pairs of the figure's texts overlap on the canvas (by more than a pixel each way)."""
    fig.canvas.draw()  # places the ticks and the moved legends where the PNG will have them
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in shown_texts(fig)]
    boxes = [b for b in boxes if b.width > 0 and b.height > 0]
    count = 0
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 1 and min(a.y1, b.y1) - max(a.y0, b.y0) > 1:
                count += 1
    return count


def _legends_below(fig: Any) -> None:
    """A legend inside the axes would cover the data once its text grows: put it under its axes,
    below the tick labels and the axis name (the offset is in points: it does not change with k)."""
    from matplotlib.transforms import offset_copy

    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or legend._bbox_to_anchor is not None:
            continue  # none, or placed outside the axes by its author
        handles, labels = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
        size, title = legend.get_texts()[0].get_fontsize(), legend.get_title().get_text() or None
        legend.remove()
        below_px = ax.bbox.y0 - ax.get_tightbbox(renderer).y0  # tick labels and x label
        anchor = offset_copy(ax.transAxes, fig=fig, y=-below_px * 72 / fig.dpi - 2, units="points")
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=anchor,
                  fontsize=size, title=title, frameon=False)


def _relayout(fig: Any) -> None:
    """Lay the axes out again at the new size; a figure placed by hand (add_axes) keeps its places."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return  # redone at draw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not compatible with tight_layout": then nothing moves, as intended
        fig.tight_layout()


# -- drawn where a talk shows them ----------------------------------------------------------------
# The renderings above take most of an item's time when the item trains nothing (1.1b's layer diagram
# redraws its text dozens of times). An item saves the figure itself instead, <stem>.slide.pickle, and
# the panel draws the renderings the first time a talk shows the slide, cached by content. The pickle
# is signed with a key of this machine's user: a run folder from elsewhere cannot make the panel unpickle
# what it wrote (its slides show the report's PNG).
SOURCE_SUFFIX = ".slide.pickle"
_SIGNATURE = 32  # bytes of HMAC-SHA256 before the pickle


def _state_dir() -> Path:
    """The harness's per-user cache (harness.data's, where MNIST's converted copy lives too)."""
    from harness.data import _default_cache_dir

    return _default_cache_dir()


def _key() -> bytes:
    import os

    path = _state_dir() / "slide-key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # two workers at once: the first creates it, the other reads it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
        return path.read_bytes()


def _sign(data: bytes) -> bytes:
    import hashlib
    import hmac

    return hmac.new(_key(), data, hashlib.sha256).digest()


def save_source(fig: Any, report_png: Path) -> Path | None:
    """The figure, pickled and signed beside the report's PNG, for screens_from_source; None when it
    has no text (no rendering would help) or does not pickle (the caller then draws the renderings now)."""
    import os
    import pickle

    if smallest_text_pt(fig) is None:
        return None
    try:
        data = pickle.dumps(fig, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # a lambda formatter, a closure: drawn now instead
        return None
    path = report_png.with_name(report_png.stem + SOURCE_SUFFIX)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")  # renamed whole: the result's hash sees one version
    try:
        tmp.write_bytes(_sign(data) + data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


NO_SCREENS = {"screen": None, "screen_text_px": None, "screen_large": None, "screen_large_text_px": None}


def screens_from_source(source: Path, report_png: Path, dpi: float, own_drawing: bool) -> dict[str, Any]:
    """save_screens' answer for a figure saved by save_source: drawn once and kept in the user's cache
    by the pickle's content; NO_SCREENS when the file is not signed by this user or cannot be read
    (the slide shows the report's PNG). screen_large may be the report's PNG itself."""
    import hashlib
    import hmac
    import json
    import pickle
    import shutil

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    try:
        blob = Path(source).read_bytes()
    except OSError:
        return dict(NO_SCREENS)
    signature, data = blob[:_SIGNATURE], blob[_SIGNATURE:]
    if len(signature) < _SIGNATURE or not hmac.compare_digest(signature, _sign(data)):
        return dict(NO_SCREENS)
    folder = _state_dir() / "slides" / hashlib.sha256(blob + str(dpi).encode() + bytes([own_drawing])).hexdigest()[:32]
    meta = folder / "screens.json"
    if not meta.is_file():
        try:
            fig = pickle.loads(data)
        except Exception:  # another matplotlib than the one that drew it
            return dict(NO_SCREENS)
        stage = folder.with_name(folder.name + f".tmp-{id(fig)}")
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        saved = save_screens(fig, stage / "report.png", dpi, own_drawing)
        plt.close(fig)
        names = {kind: (None if saved.get(kind) is None else
                        "report" if Path(saved[kind]).name == "report.png" else Path(saved[kind]).name)
                 for kind in ("screen", "screen_large")}
        names.update({f"{kind}_text_px": saved.get(f"{kind}_text_px") for kind in ("screen", "screen_large")})
        (stage / "screens.json").write_text(json.dumps(names), encoding="utf-8")
        try:
            stage.rename(folder)
        except OSError:  # another panel drew it meanwhile
            shutil.rmtree(stage, ignore_errors=True)
    names = json.loads(meta.read_text(encoding="utf-8"))
    found = dict(NO_SCREENS)
    for kind in ("screen", "screen_large"):
        name = names.get(kind)
        found[kind] = (report_png if name == "report" else folder / name) if name else None
        found[f"{kind}_text_px"] = names.get(f"{kind}_text_px")
    return found


def screens_of(entry: dict[str, Any], folder: Path, lang: str) -> dict[str, Any]:
    """The slide's renderings of a result's figure entry in `lang` (files under the item's `folder`, or in
    the user's cache when the panel drew them from the saved figure), with their smallest text in px."""
    if entry.get("screen"):
        return {"screen": folder / entry["screen"][lang], "screen_text_px": entry["screen_text_px"][lang],
                "screen_large": folder / entry["screen_large"][lang] if entry.get("screen_large") else None,
                "screen_large_text_px": (entry.get("screen_large_text_px") or {}).get(lang)}
    source = (entry.get("slide_source") or {}).get(lang)
    if not source:
        return dict(NO_SCREENS)
    drawing = entry.get("slide_drawing") or {}
    report = folder / ((entry.get("files") or {}).get(lang) or entry["file"])
    return screens_from_source(folder / source, report, float(drawing.get("dpi", 110)), bool(drawing.get("own", False)))
