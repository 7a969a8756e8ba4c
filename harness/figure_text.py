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
