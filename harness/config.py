"""Profiles and settings: one TOML file, `--set key=value` overrides, type-checked.

A profile is [base] (the handout at full scale) deep-merged with the profile's
own table. Overrides may only name keys that [base] defines, and must keep the
type [base] gives them; [schema] bounds the values.
"""
from __future__ import annotations

import copy
import difflib
import fnmatch
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

PROFILES_PATH = Path(__file__).with_name("profiles.toml")
# Lists a run can do without: no team configured is said on the title page, not refused.
MAY_BE_EMPTY = {"team.members"}
_RESERVED = {"base", "schema"}
# A name, a title or a list of settings a page prints: far longer is a pasted file, not a setting.
MAX_TEXT = 300
MAX_LIST = 50
MAX_DEPTH = 8  # [a.b] headers count nothing; a list in an inline table in a list is 3


@dataclass(frozen=True)
class Config:
    """The resolved settings of one run: profile + overrides."""

    profile: str
    values: dict[str, Any]
    overrides: dict[str, Any] = field(default_factory=dict)

    def get(self, dotted: str) -> Any:
        node: Any = self.values
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"unknown setting {dotted!r}: it is not defined in {PROFILES_PATH.name}")
            node = node[part]
        return copy.deepcopy(node)

    def section(self, name: str) -> dict[str, Any]:
        value = self.get(name)
        if not isinstance(value, dict):
            return {name: value}
        return value

    def digest(self, sections: tuple[str, ...]) -> str:
        """Fingerprint of the settings an item reads (so other settings never invalidate it)."""
        picked = {name: self.get(name) for name in sorted(sections)}
        return hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()

    def flat(self) -> dict[str, Any]:
        return dict(_flatten(self.values))


def _flatten(tree: dict[str, Any], prefix: str = ""):
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, dotted + ".")
        else:
            yield dotted, value


def _merge(base: dict[str, Any], over: dict[str, Any], where: str, source: Path = PROFILES_PATH) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        dotted = f"{where}.{key}" if where else key
        if key not in merged:
            raise ConfigError(f"unknown setting {_shown(dotted)} in {source}: {_suggest(dotted[:200], base, where)}")
        if isinstance(merged[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"setting {dotted!r} in {source} must be a table of settings, got {_shown(value)}")
            merged[key] = _merge(merged[key], value, dotted, source)
        else:
            merged[key] = _checked_type(dotted, merged[key], value)
    return merged


def _suggest(dotted: str, tree: dict[str, Any], where: str = "") -> str:
    known = [f"{where}.{k}" if where else k for k in tree]
    if not where:
        section = dotted.split(".", 1)[0]
        if "." in dotted and isinstance(tree.get(section), dict):
            # A typo inside a known section: suggest from that section, or list it.
            # Compared without the section: 'vae.' in both would make 'vae.nope' look like 'vae.loss'.
            keys = [k for k, _ in _flatten(tree[section])]
            close = difflib.get_close_matches(dotted.split(".", 1)[1], keys, n=1)
            return (f"did you mean '{section}.{close[0]}'?" if close else
                    f"[{section}] has {', '.join(keys)}")
        known = [k for k, _ in _flatten(tree)] + list(tree)
    close = difflib.get_close_matches(dotted, known, n=1)
    return f"did you mean '{close[0]}'?" if close else "run 'harness settings' to list the settings"


def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(
        type(value), type(value).__name__
    )


def _checked_type(dotted: str, default: Any, value: Any) -> Any:
    """Keep the type [base] gives a key; ints are accepted where numbers are."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
        if ok and not math.isfinite(value):  # nan and inf pass every < and > test: refuse them here
            raise ConfigError(f"setting {_shown(dotted)} must be a finite number (like {default!r}), got {value!r}")
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(
            _checked_type(f"{dotted}[]", default[0], v) is not None for v in value
        ) if default else isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"setting {_shown(dotted)} must be {_type_name(default)} (like {default!r}), got {_shown(value)}")
    return value


def _shown(value: Any, limit: int = 80) -> str:
    """A value as one error line quotes it: repr, cut to `limit` characters (a pasted megabyte stays one line)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


MAX_FILE_BYTES = 1 << 20  # a settings file is a few hundred bytes; a megabyte is a wrong file


def load_profiles(path: Path = PROFILES_PATH) -> dict[str, Any]:
    try:
        if path.exists() and not path.is_file():
            raise ConfigError(f"{path} is not a regular file (a device, a pipe or a folder); give a .toml file")
        if path.exists() and path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path} is {path.stat().st_size >> 20} MiB: a settings file is a few lines of TOML; "
                              f"check that you gave the right file")
        text = path.read_text(encoding="utf-8-sig")  # -sig: the byte-order mark Windows editors write is fine
    except OSError as exc:
        raise ConfigError(f"cannot read profile file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); "
                          f"save it as UTF-8 and retry") from None
    if _depth(text) > MAX_DEPTH:
        raise ConfigError(f"{path} nests lists or tables {_depth(text)} levels deep: settings are at most "
                          f"{MAX_DEPTH} deep; fix the file and retry")
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # ValueError: an integer too long to convert
        raise ConfigError(f"malformed TOML in {path}: {str(exc)[:200]}; fix the file and retry") from None


def _depth(text: str) -> int:
    """How deep brackets and braces nest in `text`, quotes ignored roughly (a bound, not a parser): the
    TOML reader recurses once per level, and 5000 levels end in a RecursionError of thousands of lines."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def profile_names(raw: dict[str, Any] | None = None) -> list[str]:
    raw = raw if raw is not None else load_profiles()
    return [name for name in raw if name not in _RESERVED]


def parse_override(text: str) -> tuple[str, Any]:
    """'vae.epochs=3' -> ('vae.epochs', 3). The value is read as TOML, else as a bare string."""
    key, sep, raw_value = text.partition("=")
    key, raw_value = key.strip(), raw_value.strip()
    if not sep or not key or not raw_value:
        raise ConfigError(f"bad --set {_shown(text)}: write it as key=value, e.g. --set vae.epochs=12")
    if _depth(raw_value) > MAX_DEPTH:
        raise ConfigError(f"bad --set {_shown(text)}: the value is nested {_depth(raw_value)} levels deep; "
                          f"a setting is a number, a text or a flat list") from None
    try:
        value = tomllib.loads(f"v = {raw_value}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw_value
    except ValueError:  # an integer of thousands of digits: Python refuses to convert it
        raise ConfigError(f"bad --set {_shown(text)}: the number is too long; give a value in range") from None
    return key, value


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any, base: dict[str, Any]) -> None:
    parts = dotted.split(".")
    node, base_node = tree, base
    for i, part in enumerate(parts):
        if not isinstance(base_node, dict) or part not in base_node:
            raise ConfigError(f"unknown setting {_shown(dotted)}: {_suggest(dotted[:200], base)}")
        if i == len(parts) - 1:
            if isinstance(base_node[part], dict):
                raise ConfigError(f"setting {dotted!r} is a table; set one of its keys, e.g. {dotted}.{next(iter(base_node[part]))}=...")
            node[part] = _checked_type(dotted, base_node[part], value)
        else:
            node, base_node = node[part], base_node[part]


def _check_schema(values: dict[str, Any], schema: dict[str, Any]) -> None:
    flat = dict(_flatten(values))

    def rules(table: str):
        for pattern, bound in schema.get(table, {}).items():
            for key, value in flat.items():
                if fnmatch.fnmatchcase(key, pattern):
                    yield key, value, bound

    def each(value):
        return value if isinstance(value, list) else [value]

    for key, value, bound in rules("min"):
        if any(v < bound for v in each(value)):
            raise ConfigError(f"setting {key!r} = {_shown(value)} is out of range: it must be >= {bound}")
    for key, value, bound in rules("max"):
        if any(v > bound for v in each(value)):
            raise ConfigError(f"setting {key!r} = {_shown(value)} is out of range: it must be <= {bound}")
    for pattern in schema.get("positive", {}).get("keys", []):
        for key, value in flat.items():
            if fnmatch.fnmatchcase(key, pattern) and any(v <= 0 for v in each(value)):
                raise ConfigError(f"setting {key!r} = {_shown(value)} is out of range: it must be > 0")
    for key, value, allowed in rules("choices"):
        if value not in allowed:
            raise ConfigError(f"setting {key!r} = {_shown(value)} is not one of {', '.join(map(str, allowed))}")
    for key, value in flat.items():
        if isinstance(value, list) and not value and key not in MAY_BE_EMPTY:
            raise ConfigError(f"setting {key!r} is an empty list: give at least one value")
        if isinstance(value, list) and len(value) > MAX_LIST:
            raise ConfigError(f"setting {key!r} has {len(value)} entries: give at most {MAX_LIST}")
        for text in (v for v in each(value) if isinstance(v, str)):
            if len(text) > MAX_TEXT:
                raise ConfigError(f"setting {key!r} has a text of {len(text)} characters: keep it under {MAX_TEXT} "
                                  f"(it is printed on the report's title page)")


# Who hands the run in, and their talk: a run keeps them once given (`--config`), so a later
# `harness run` or a panel re-run without the file never falls back to the empty defaults.
IDENTITY = ("team", "course", "talk")


def load_config(
    profile: str = "quick",
    overrides: list[str] | dict[str, Any] | None = None,
    path: Path = PROFILES_PATH,
    user_file: Path | None = None,
) -> Config:
    """Resolve a profile, then a user TOML file (same shape as [base]), then --set overrides."""
    raw = load_profiles(path)
    if "base" not in raw:
        raise ConfigError(f"{path} has no [base] table; restore it from git")
    names = profile_names(raw)
    if profile not in names:
        raise ConfigError(f"unknown profile {_shown(profile)}: choose one of {', '.join(names)}")
    base = raw["base"]
    values = _merge(base, raw[profile], "", path)
    if user_file is not None:
        values = _merge(values, load_profiles(user_file), "", user_file)
    pairs = list(overrides.items()) if isinstance(overrides, dict) else [parse_override(o) for o in overrides or []]
    applied: dict[str, Any] = {}
    for key, value in pairs:
        _set_dotted(values, key, value, base)
        applied[key] = value
    _check_schema(values, raw.get("schema", {}))
    return Config(profile=profile, values=values, overrides=applied)
