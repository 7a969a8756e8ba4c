"""Written answers and item summaries, in Spanish and English.

Answers are Markdown files with Jinja variables bound to the run's numbers, so
prose never carries a number typed by hand:

    experiments/vae/answers/es/1.1e.md:  "... la pérdida de test es {{ m.test_neg_elbo | num(1) }} nats ..."

Variables: `m` (this item's metrics), `v` (its saved values), `items`
(every item's metrics, by id: `items["1.1e"].test_neg_elbo`), `cfg` (the
run's settings) and `profile`; `compare(...)` words a comparison (harness.report.compare_words). A missing variable is an error naming it, never
a silent blank. The sandbox keeps a template from reaching Python internals.
"""
from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from harness.errors import HarnessError
from harness.report.compare_words import compare_global, share_se

LANGS = ("es", "en")


class AnswerError(HarnessError):
    pass


THIN = "\u202f"  # narrow no-break space: thousands in Spanish, and never split from its digits


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


@lru_cache(maxsize=None)
def _env(lang: str = "en") -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["num"] = lambda value, digits=2: num(value, digits, lang)
    env.filters["pct"] = lambda value, digits=1: pct(value, digits, lang)
    # Every comparison between two models is worded by one rule (gap against combined uncertainty).
    env.globals["compare"] = compare_global(lang)
    env.globals["share_se"] = share_se
    return env


class _Attr(dict):
    """dict whose keys read as attributes in templates (m.test_loss), with a clear error when missing."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def answers_dir(module_file: str | Path) -> Path:
    return Path(module_file).parent / "answers"


def answer_path(module_file: str | Path, item_id: str, lang: str) -> Path:
    return answers_dir(module_file) / lang / f"{item_id}.md"


@lru_cache(maxsize=None)
def _item_texts(folder: Path, lang: str) -> dict[str, Any]:
    path = folder / lang / "items.toml"
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AnswerError(f"malformed TOML in {path}: {exc}") from None


def item_text(module_file: str | Path, item_id: str, lang: str) -> dict[str, str]:
    """{'title': ..., 'summary': ...} in our own words, from answers/<lang>/items.toml."""
    return dict(_item_texts(answers_dir(module_file), lang).get(item_id, {}))


def variables(item_id: str, results: dict[str, dict[str, Any]], config: dict[str, Any], profile: str) -> dict[str, Any]:
    def metrics(result: dict[str, Any]) -> _Attr:
        return _Attr({k: v["value"] for k, v in result.get("metrics", {}).items()})

    own = results.get(item_id, {})
    return {
        "m": metrics(own),
        "v": _Attr(own.get("values", {})),
        "items": {i: metrics(r) for i, r in results.items()},
        "cfg": config,
        "profile": profile,
    }


def render_answer_text(text: str, context: dict[str, Any], where: str, lang: str = "en") -> str:
    """`lang` picks the number convention of the num and pct filters (see localise)."""
    try:
        return _env(lang).from_string(text).render(**context)
    except UndefinedError as exc:
        raise AnswerError(f"{where} uses a value the run does not have ({exc.message}); run the item or fix the name") from None
    except ValueError as exc:  # compare() given a non-finite value or an unknown basis
        raise AnswerError(f"{where}: {exc}") from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise AnswerError(f"{where}{f' line {line}' if line else ''}: invalid template ({exc.message}); fix the Jinja syntax") from None


def render_answer(module_file: str | Path, item_id: str, lang: str, context: dict[str, Any]) -> str | None:
    """The answer as Markdown with the run's numbers in it; None when there is no answer file."""
    path = answer_path(module_file, item_id, lang)
    if not path.exists():
        return None
    return render_answer_text(path.read_text(encoding="utf-8"), context, str(path), lang)
