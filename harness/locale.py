"""One number format per language, for every page, notebook, panel and figure.

Spanish writes 12 345,6 (a narrow no-break space for thousands, a decimal comma); English
12,345.6. Our own few lines rather than Babel: CLDR's Spanish groups thousands with a point
("12.345"), which reads as a decimal point beside English pages, and the course writes
thousands with a space (the SI and RAE rule).

Numbers that are names (a seed, a step, an item count) are never grouped: `ident`.
Figures get the same format through their tick labels: `localise_axes` wraps every numeric
tick formatter of a matplotlib figure before it is saved.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

LANGS = ("es", "en")
THIN = "\u202f"  # narrow no-break space: thousands in Spanish, and never split from its digits
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")


def localise(text: str, lang: str) -> str:
    """A number Python printed with ',' thousands and '.' decimals, in the language's convention:
    Spanish 12 345,6 (thin-space thousands, decimal comma); English 12,345.6."""
    if lang != "es":
        return text
    return text.replace(",", THIN).replace(".", ",")


def num(value: Any, digits: int = 2, lang: str = "en") -> str:
    """A number as prose prints it: fixed decimals, thousands separated, NaN said plainly."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if isinstance(value, int) and digits == 0:
        return localise(f"{value:,}", lang)
    return localise(f"{value:,.{digits}f}", lang)


def pct(value: Any, digits: int = 1, lang: str = "en") -> str:
    return f"{num(100 * value, digits, lang)} %" if isinstance(value, (int, float)) else str(value)


def seconds(value: float, digits: int = 1, lang: str = "en") -> str:
    """A duration as a log line says it: '3,5 s' / '3.5 s'."""
    return f"{localise(f'{value:.{digits}f}', lang)} s"


def duration(value: float, lang: str = "en") -> str:
    """A duration as a page says it: seconds under a minute, then '4 min 05 s', then '2 h 36 min'."""
    value = float(value or 0)
    if value < 60:
        return seconds(value, 1, lang)
    minutes, secs = divmod(int(round(value)), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def ident(value: Any) -> str:
    """A number that names something (a seed, a step, a count of items): its digits, never grouped."""
    return str(int(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def decimal_text(text: str, lang: str) -> str:
    """Decimal points between digits of an already printed label, in the language's convention
    (inside mathtext the comma is braced, so it is not spaced as punctuation)."""
    if lang != "es" or "." not in text:
        return text
    return _DECIMAL_POINT.sub("{,}" if "$" in text else ",", text)


def localise_axes(fig: Any, lang: str) -> Any:
    """Every numeric tick label and offset of `fig` in the language's format; text labels
    (a FixedFormatter's or a FuncFormatter's, which may be names such as '1.1e') are left alone."""
    if lang == "en":
        return fig
    from matplotlib import ticker

    localised = _localised_class()
    numeric = (ticker.ScalarFormatter, ticker.FormatStrFormatter, ticker.StrMethodFormatter,
               ticker.PercentFormatter, ticker.LogFormatter, ticker.EngFormatter)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis, *([ax.zaxis] if hasattr(ax, "zaxis") else [])):
            for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                             (axis.get_minor_formatter, axis.set_minor_formatter)):
                inner = get()
                if isinstance(inner, numeric) and not isinstance(inner, localised):
                    put(localised(inner, lang))
    return fig


@lru_cache(maxsize=None)
def _localised_class() -> type:
    """Defined on first use: this module is imported by pages that never load matplotlib."""
    from matplotlib.ticker import Formatter

    class Localised(Formatter):
        """A tick formatter that prints what `inner` prints, in `lang`'s decimal format."""

        def __init__(self, inner: Any, lang: str) -> None:
            self.inner, self.lang = inner, lang

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: Any) -> None:
            super().set_locs(locs)
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return decimal_text(self.inner(x, pos), self.lang)

        def format_ticks(self, values: Any) -> list[str]:
            return [decimal_text(label, self.lang) for label in self.inner.format_ticks(values)]

        def get_offset(self) -> str:
            return decimal_text(self.inner.get_offset(), self.lang)

        def format_data(self, value: float) -> str:
            return decimal_text(self.inner.format_data(value), self.lang)

        def format_data_short(self, value: float) -> str:
            return decimal_text(self.inner.format_data_short(value), self.lang)

    # Named as a module attribute (see __getattr__): a figure with localised ticks pickles, for the panel's
    # slides (harness.figure_screen.save_source).
    Localised.__qualname__ = Localised.__name__
    Localised.__module__ = __name__
    return Localised


def __getattr__(name: str) -> Any:
    """harness.locale.Localised, defined on first use (pickle looks it up by name)."""
    if name == "Localised":
        return _localised_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
