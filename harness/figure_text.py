"""Words on a figure, one language at a time.

An item draws a figure with text once per language (ctx.figure(name, make, caption) calls
make("es") and make("en")); the figure helpers take their words from small {"es", "en"}
dicts through `pick`. `figure_texts` reads back every word a drawn figure shows.
"""
from __future__ import annotations

from typing import Any

from harness.context import Text, bilingual


def pick(text: Text, lang: str) -> str:
    """One language of a text: a plain string is the same in both."""
    return bilingual(text)[lang]


def fill(template: dict[str, str], **values: Any) -> dict[str, str]:
    """A two-language text template with the run's numbers put in (str.format in each language);
    a value that is itself two-language text goes in in the same language."""
    return {lang: text.format(**{key: value[lang] if isinstance(value, dict) else value
                                 for key, value in values.items()})
            for lang, text in template.items()}


def figure_texts(fig: Any) -> list[str]:
    """Every string a figure shows: figure texts and suptitle, axes titles, axis labels,
    tick labels, texts and annotations inside the axes, legends, and colorbar labels."""
    found = [t.get_text() for t in fig.texts]
    if getattr(fig, "_suptitle", None) is not None:
        found.append(fig._suptitle.get_text())
    for ax in fig.axes:
        found += [ax.get_title(loc) for loc in ("left", "center", "right")]
        found += [ax.get_xlabel(), ax.get_ylabel()]
        found += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        found += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            found += [t.get_text() for t in legend.get_texts()]
            found.append(legend.get_title().get_text())
    return [t for t in found if t]


def series(ax: Any, x: Any, y: Any, style: str = "o-", lang: str = "en", left: bool = False, **kw: Any) -> Any:
    """A measured series: a curve from three points on; one or two points are drawn as points with
    their values beside them (a line through two points reads as a trend the run never measured, and
    one point alone gets an axis of 0.950 … 1.050). The values sit right of the points; `left`: on their
    left (a second series on the same abscissae, so the two never meet)."""
    from harness.locale import num

    x, y = list(x), list(y)
    if len(x) >= 3:
        return ax.plot(x, y, style, **kw)
    marker = style.replace("-", "").replace(":", "") or "o"
    lines = ax.plot(x, y, marker, linestyle="none", **kw)
    # The values at the ticks' size (the slide enlarges the smallest text), beside the points: a label
    # above or below meets the other series' or the title once the slide enlarges the text.
    size = ax.xaxis.get_ticklabels()[0].get_fontsize() if ax.xaxis.get_ticklabels() else None
    for xi, yi in zip(x, y):
        ax.annotate(num(yi, 1 if abs(yi) >= 10 else 3, lang), (xi, yi), textcoords="offset points",
                    xytext=(-8 if left else 8, 0), ha="right" if left else "left", va="center", fontsize=size,
                    color=lines[0].get_color())
    ax.margins(x=0.45, y=0.15)
    if len(set(x)) == 1:  # one abscissa: a unit either side, so the ticks are whole numbers
        ax.set_xlim(x[0] - 1, x[0] + 1)
    return lines
