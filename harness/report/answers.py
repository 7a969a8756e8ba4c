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

import functools
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from harness.errors import HarnessError
from harness.result import Result
from harness.locale import num, pct
from harness.words import names
from harness.report.compare_words import compare_global, family_sentence, no_digits_reason, share_se

class AnswerError(HarnessError):
    pass


# An answer is a page of prose: these bounds are far above any real one, and keep a template that loops
# a billion times, or builds a gigabyte string, from stalling or exhausting the machine that renders it.
MAX_STEPS = 100_000  # loop iterations over range(), summed over one answer (the sandbox's time bound)
MAX_CHARS = 200_000  # characters of one rendered answer, and of any string or list a * builds
MAX_EXPONENT = 1_000


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox (no Python internals) with a budget of work: range() draws from a per-render step
    budget, and * and ** refuse results too large to be prose."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.code_generator_class = _BoundedCodeGenerator

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise AnswerLimit(f"an exponent of {right} is above {MAX_EXPONENT}")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_CHARS:
                    raise AnswerLimit(f"a {type(seq).__name__} repeated {times} times is above {MAX_CHARS} elements")
        if operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            _check_size(len(left) + len(right))
        return super().call_binop(context, operator, left, right)

    def bounded_join(self, parts: tuple[Any, ...]) -> str:
        """`a ~ b`: the sandbox cannot intercept ~, so the code generator sends it here."""
        texts = [str(p) for p in parts]
        _check_size(sum(map(len, texts)))
        return "".join(texts)


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _check_size(size: int) -> None:
    if size > MAX_CHARS:
        raise AnswerLimit(f"it builds a text or list of more than {MAX_CHARS} elements")


def _bounded_filter(fn: Any) -> Any:
    """A filter whose size arguments (center(width), indent(width), ...) stay below MAX_CHARS."""
    @functools.wraps(fn)  # keeps jinja's pass_context/pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not isinstance(a, (Context, EvalContext, SandboxedEnvironment))][1:]
        if any(isinstance(v, int) and v > MAX_CHARS for v in [*values, *kwargs.values()]):
            raise AnswerLimit(f"filter {fn.__name__} is given a size above {MAX_CHARS}")
        return fn(*args, **kwargs)
    return bounded


class AnswerLimit(Exception):
    """A template asked for more work or text than an answer may (see MAX_STEPS, MAX_CHARS)."""


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_STEPS

    def range(self, *args: int) -> Any:
        for value in range(*args):
            self.left -= 1
            if self.left < 0:
                raise AnswerLimit(f"its loops take more than {MAX_STEPS} steps")
            yield value


@lru_cache(maxsize=None)
def _env(lang: str = "en") -> SandboxedEnvironment:
    env = _BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters = {name: _bounded_filter(fn) for name, fn in env.filters.items()}
    env.filters["num"] = lambda value, digits=2: num(value, digits, lang)
    env.filters["pct"] = lambda value, digits=1: pct(value, digits, lang)
    # Every comparison between two models is worded by one rule (gap against combined uncertainty).
    env.globals["compare"] = compare_global(lang)
    env.globals["share_se"] = share_se
    env.globals["family_verdict"] = lambda record, digits=2: family_sentence(record, lang, digits)
    # Why a model draws no digits (harness.verdicts.degenerate's reason), as a phrase of this language.
    env.globals["why_no_digits"] = lambda reason: no_digits_reason(reason, lang)
    return env


def _render_bounded(text: str, context: dict[str, Any], lang: str) -> str:
    """Render with a fresh step budget, stopping as soon as the output passes MAX_CHARS."""
    template = _env(lang).from_string(text)
    budget = _Budget()
    out, size = [], 0
    for chunk in template.generate(**context, range=budget.range):
        size += len(chunk)
        if size > MAX_CHARS:
            raise AnswerLimit(f"its text passes {MAX_CHARS} characters")
        out.append(chunk)
    return "".join(out)


def inert_images(markdown: str) -> str:
    """`![alt](url)` as text: an answer never makes a notebook or page fetch an image from anywhere
    (Jupyter loads Markdown images on open); the HTML and the PDF show it as text already."""
    return markdown.replace("![", "!\\[")


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


def variables(item_id: str, results: dict[str, Result], config: dict[str, Any], profile: str) -> dict[str, Any]:
    own = results.get(item_id) or Result(item_id)
    return {
        "m": _Attr(own.metric_values()),
        "v": _Attr(own.values),
        "items": {i: _Attr(r.metric_values()) for i, r in results.items()},
        "item_values": {i: _Attr(r.values) for i, r in results.items()},  # what other items saved (a recorded verdict)
        "cfg": config,
        "profile": profile,
    }


def render_answer_text(text: str, context: dict[str, Any], where: str, lang: str = "en") -> str:
    """`lang` picks the number convention of the num and pct filters (see localise)."""
    try:
        # The run's short names of no language (1.2f's variants, the laws of z) as the reader's language says them.
        return names(inert_images(_render_bounded(text, context, lang)), lang)
    except UndefinedError as exc:
        raise AnswerError(f"{where} uses a value the run does not have ({exc.message}); run the item or fix the name") from None
    except ValueError as exc:  # compare() given a non-finite value or an unknown basis
        raise AnswerError(f"{where}: {exc}") from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise AnswerError(f"{where}{f' line {line}' if line else ''}: invalid template ({exc.message}); fix the Jinja syntax") from None
    except AnswerLimit as exc:
        raise AnswerError(f"{where}: not rendered, {exc}; an answer is prose, shorten the template") from None
    except Exception as exc:  # noqa: BLE001  any other error of one answer must not cost the whole report
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise AnswerError(f"{where}: not rendered ({message}); fix the template") from None


def render_answer(module_file: str | Path, item_id: str, lang: str, context: dict[str, Any]) -> str | None:
    """The answer as Markdown with the run's numbers in it; None when there is no answer file."""
    path = answer_path(module_file, item_id, lang)
    if not path.exists():
        return None
    return render_answer_text(path.read_text(encoding="utf-8"), context, str(path), lang)
