"""Where a report's figure goes and how large it prints: half its drawn size, narrow ones beside
the answer while they fit a page, the rest in rows below it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.context import FIGURE_DPI
from harness.png import png_size


# A4 (210 mm) less the 13 mm margins of report.css (184 mm), rounded down; figures print at half their drawn size.
TEXT_WIDTH_MM = 182.0
PRINT_SCALE = 0.5
MAX_FIGURE_MM = 80.0
BESIDE_TEXT_MM = 88.0
# Floats beside an answer stop before their stack outgrows a page: WeasyPrint moves a float that
# does not fit to the next page, and the answer's text after it too, leaving the page blank (1.2e's
# five narrow figures did). Rows below the answer, two figures side by side, take the rest.
MAX_STACK_MM = 230.0


@dataclass
class Figure:
    number: int
    file: Path
    rel: str
    caption: str
    name: str
    screen: Path | None = None  # the rendering for the panel's slides (harness.figure_screen), when drawn
    screen_large: Path | None = None  # the same for a 1920 × 1080 viewport (a run from before has none)
    slide_source: Path | None = None  # the figure itself, for the panel to draw those when a talk shows it
    slide_drawing: dict | None = None  # its dpi and whether it is the slide's own drawing

    @property
    def width_mm(self) -> float:
        """The figure's printed width: its drawn size scaled by PRINT_SCALE (the matplotlib text of
        every figure prints at the same size, about 5 pt), no taller than MAX_FIGURE_MM and no
        wider than the text block. Small figures then share a row instead of each taking a page's
        third, which is most of what keeps the report of 40 figures short."""
        size = png_size(self.file)
        if not size or not size[1]:
            return TEXT_WIDTH_MM
        width_in, height_in = size[0] / FIGURE_DPI, size[1] / FIGURE_DPI
        width = width_in * 25.4 * PRINT_SCALE
        width = min(width, MAX_FIGURE_MM * width_in / height_in, TEXT_WIDTH_MM)
        if width <= BESIDE_TEXT_MM * 1.15:
            width = min(width, BESIDE_TEXT_MM)
        return round(width, 1)

    beside: bool = False  # set by beside_answer: floated beside the answer, not in the rows below it

    @property
    def beside_text(self) -> bool:
        """A figure no wider than about half the text block may float beside the answer, the text
        flowing round it; a wider one gets a row of its own below the answer."""
        return self.width_mm <= BESIDE_TEXT_MM

    @property
    def height_mm(self) -> float:
        size = png_size(self.file)
        return self.width_mm * size[1] / size[0] if size and size[0] else self.width_mm


def beside_answer(figures: list[Figure]) -> None:
    """Float the item's narrow figures beside its answer, in order, while their stack stays within
    MAX_STACK_MM; the others go in rows below."""
    stack = 0.0
    for fig in figures:
        if not fig.beside_text:
            continue
        stack += fig.height_mm
        if stack > MAX_STACK_MM and stack > fig.height_mm:  # the first narrow figure always floats
            break
        fig.beside = True
