"""One catalogue of words per language: every sentence, label and name a module shows a person.

A module's words live in a TOML table named after the module, one file per language:

- an experiments module's beside its items' answers: experiments/vae/a_encoder.py reads the
  table [a_encoder] of experiments/vae/answers/es/words.toml and of .../en/words.toml;
- a harness module's under templates/: harness/run/runner.py reads [run.runner] of
  templates/words/es.toml and templates/words/en.toml.

TOML, not gettext's .po (Babel): the answers and templates/strings.toml are TOML already, the
standard library reads it, and a .po file keys every sentence on its English text, which
changes as often as the Spanish here; a key names what the words are for.

In code: `W = words(__file__)`, then `W("notes", "parameters")` is {"es": …, "en": …}, the
bilingual record a run stores and a page picks its language from; `W.table("captions")` is
{key: {"es": …, "en": …}} for every key of a table. A key missing in either language is an
error naming the file and the key (and tests/test_words.py fails on it before anyone runs).
"""
from __future__ import annotations

import copy
import json
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.locale import LANGS, decimal_text

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_WORDS = ROOT / "templates" / "words"


def location(source: str | Path) -> tuple[dict[str, Path], tuple[str, ...]]:
    """The catalogue files (one per language) and the table path of the module in file `source`."""
    path = Path(source).resolve()
    answers = path.parent / "answers"
    if answers.is_dir():
        return {lang: answers / lang / "words.toml" for lang in LANGS}, (path.stem,)
    root = next((a for a in path.parents if (a / "templates").is_dir()), None)
    parts = path.relative_to(root).with_suffix("").parts if root else (path.stem,)
    parts = tuple(p for p in parts if p != "__init__")
    if parts and parts[0] == "harness":
        parts = parts[1:]
    words_dir = (root / "templates" / "words") if root else TEMPLATE_WORDS
    return {lang: words_dir / f"{lang}.toml" for lang in LANGS}, parts


@lru_cache(maxsize=None)
def _load(path: Path, stamp: tuple[int, int]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise WordsError(f"{_shown(path)} is not valid TOML ({err}): fix the file") from None


def catalogue(path: Path) -> dict[str, Any]:
    """A catalogue file's tables, reread when the file changes (a long-lived panel sees an edit)."""
    if not path.is_file():
        return {}
    stat = path.stat()
    return _load(path, (stat.st_mtime_ns, stat.st_size))


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


class WordsError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class Words:
    """The words of one module, in every language."""

    def __init__(self, source: str | Path):
        self.files, self.path = location(source)

    def _value(self, lang: str, keys: tuple[str, ...]) -> Any:
        node: Any = catalogue(self.files[lang])
        for key in (*self.path, *keys):
            if not isinstance(node, dict) or key not in node:
                where = ".".join((*self.path, *keys))
                raise WordsError(f"{_shown(self.files[lang])} has no key {where!r}: add it in both languages")
            node = node[key]
        return node

    def __call__(self, *keys: str) -> dict[str, Any]:
        """{"es": …, "en": …} at `keys` of this module's table (a fresh copy: callers may change it)."""
        return {lang: copy.deepcopy(self._value(lang, keys)) for lang in LANGS}

    def fill(self, *keys: str, **values: Any) -> dict[str, str]:
        """The words at `keys` with their {name}s filled, in every language: a value that is itself
        {"es": …, "en": …} gives each language its own; a number is written in the language's format."""
        return {lang: text.format(**{name: _in(value, lang) for name, value in values.items()})
                for lang, text in self(*keys).items()}

    def list(self, *keys: str) -> list[dict[str, Any]]:
        """An array of the catalogue (a table's columns) as [{"es": …, "en": …}, …], entry by entry."""
        arrays = self(*keys)
        if any(not isinstance(arrays[lang], list) or len(arrays[lang]) != len(arrays[LANGS[0]]) for lang in LANGS):
            raise WordsError(f"{'.'.join((*self.path, *keys))!r} must be an array of the same length in every language")
        return [{lang: arrays[lang][i] for lang in LANGS} for i in range(len(arrays[LANGS[0]]))]

    def table(self, *keys: str) -> dict[str, dict[str, Any]]:
        """{key: {"es": …, "en": …}} for every key of the table at `keys`, in the Spanish file's order."""
        names = self._value("es", keys)
        if not isinstance(names, dict):
            raise WordsError(f"{'.'.join((*self.path, *keys))!r} in {_shown(self.files['es'])} is no table")
        return {name: self(*keys, name) for name in names}

    def digest_bytes(self) -> bytes:
        """This module's words in every language, canonically: part of the code digest of any item
        that imports the module (a changed caption is a changed result, as when it was in the code)."""
        tables = {}
        for lang in LANGS:
            node: Any = catalogue(self.files[lang])
            for key in self.path:
                node = node.get(key, {}) if isinstance(node, dict) else {}
            tables[lang] = node
        if not any(tables.values()):
            return b""
        return json.dumps(tables, sort_keys=True, ensure_ascii=False).encode()


def _in(value: Any, lang: str) -> Any:
    if isinstance(value, dict) and set(value) == set(LANGS):
        return value[lang]
    if isinstance(value, float):
        return decimal_text(repr(value), lang)
    return value


def concat(*parts: dict[str, str] | None) -> dict[str, str]:
    """Bilingual texts one after the other, in each language (a None part is left out)."""
    return {lang: "".join(part[lang] for part in parts if part) for lang in LANGS}


def words(source: str | Path) -> Words:
    return Words(source)


# What a reader sees where the run stores a short name of no language: 1.2f's variants, the laws of z and
# the VAE's priors in model labels ("GAN z=2 gaussian"), the handout's own GAN. Whole words only, and never
# inside a code span or after a '.' (keras.random.uniform stays code).
W = Words(__file__)
NAMES = W.table("names")
_NAME = re.compile(r"(?<![\w.`])(" + "|".join(re.escape(k) for k in sorted(NAMES, key=len, reverse=True)) + r")(?![\w(`])")
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def names(text: str, lang: str) -> str:
    """`text` with the stored short names (NAMES) as the reader's language says them; code spans untouched."""
    if not isinstance(text, str) or not text:
        return text
    parts = _CODE_SPAN.split(text)
    return "".join(part if part.startswith("`") else _NAME.sub(lambda m: NAMES[m.group(1)][lang], part) for part in parts)


_CELL_DECIMAL = re.compile(r"(?<=\d)\.(?=\d+(?![\w.]))")  # 123.5 but not an item number 1.2d


def cell_text(text: str, lang: str) -> str:
    """A table cell an item stored as text ("123.5 ± 0.2", "GAN z=2 gaussian"): names and decimals in the
    reader's language; item numbers (1.2d) stay as they are."""
    if not isinstance(text, str):
        return text
    text = names(text, lang)
    return _CELL_DECIMAL.sub(",", text) if lang == "es" else text
