"""The presentation deck: every slide of the run in one HTML block that panel.js steps through.

One slide is one screen: title, up to three labelled headline numbers with units, 2–4
complete talking points and the headline figure as large as the screen allows. The whole
deck travels at once so that stepping, jumping and the overview answer instantly (no server
round trip mid-talk) and the browser can keep the current slide across a reload. Figures are
inlined as data URIs: no machine path reaches the page.
"""
from __future__ import annotations

import base64
import json
from functools import lru_cache
from pathlib import Path

from harness.errors import HarnessError
from harness.figure_screen import LARGE_MEDIA, screens_from_source
from harness.figure_screen import is_wide as wide_size
from harness.panel.points import render_point, speaker_notes, talking_points
from harness.panel.state import Panel, esc, safe_file, section_key, status_label
from harness.report.content import ItemView, Table, format_value, png_header_size

MAX_HEADLINE = 3
# Metrics stored as a fraction of 1.
SHARES = {"upsample_share", "knn_accuracy", "inside_90_region", "central_confidence", "beyond_90_confidence",
          "dense1024_share", "test_accuracy"}


@lru_cache(maxsize=128)
def _data_uri(path: str, mtime_ns: int) -> str:  # mtime in the key: a re-run's new figure is re-read
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def figure_uri(panel: Panel, file: Path) -> str | None:
    try:
        path = safe_file(panel.run_dir, file)
    except HarnessError:
        return None
    return _data_uri(str(path), path.stat().st_mtime_ns)


def slide_uris(panel: Panel, fig) -> tuple[str | None, str | None]:
    """(the slide's image, the one for a 1920 × 1080 viewport) of a figure: its screen renderings, drawn
    here the first time a talk shows them when the item saved only the figure (harness.figure_screen),
    else the report's PNG."""
    screen, large = fig.screen, fig.screen_large
    if screen is None and fig.slide_source is not None:
        try:
            source = safe_file(panel.run_dir, fig.slide_source)
        except HarnessError:
            source = None
        if source is not None:
            drawing = fig.slide_drawing or {}
            drawn = screens_from_source(source, fig.file, float(drawing.get("dpi", 110)), bool(drawing.get("own", False)))
            if drawn["screen"] is not None:  # our own renderings (or the report's PNG, already checked): inlined
                return tuple(None if path is None else _data_uri(str(path), path.stat().st_mtime_ns)
                             for path in (drawn["screen"], drawn["screen_large"]))
    uri = figure_uri(panel, screen or fig.file)
    return uri, (figure_uri(panel, large) if screen and large else None)


def is_wide(uri: str | None) -> bool:
    """A figure much wider than tall (three panels side by side) goes under the text, full width."""
    if not uri:
        return False
    size = png_header_size(base64.b64decode(uri.split(",", 1)[1][:44]))  # 44 base64 chars: 33 bytes
    return bool(size and wide_size(*size))


def headline_numbers(panel: Panel, it: ItemView, lang: str) -> list[dict[str, str]]:
    """At most three metrics a listener can read: each with a human label and its unit, in the
    item's order; a metric with no label in either language table is left to the report's appendix."""
    s = panel.strings(lang)
    units = s.get("panel_units", {})
    out = []
    for m in it.metrics:
        label = m.get("label")  # the report's, else the slides' table (harness.report.content.metric_label)
        if not label:
            continue
        value, unit = m["value"], units.get(m.get("unit") or "", m.get("unit") or "")
        if m["name"] in SHARES and isinstance(value, float):
            value, unit = 100 * value, "%"  # a share reads as a percentage
        out.append({"label": label, "value": format_value(value, lang), "unit": unit})
        if len(out) == MAX_HEADLINE:
            break
    return out


def _metrics_html(numbers: list[dict[str, str]]) -> str:
    cards = "".join(f"<div class='metric'><div class='v'>{esc(n['value'])}"
                    f"{' <small>' + esc(n['unit']) + '</small>' if n['unit'] else ''}</div>"
                    f"<div class='n'>{esc(n['label'])}</div></div>" for n in numbers)
    return f"<div class='metrics'>{cards}</div>" if cards else ""


def slide_parts(panel: Panel, lang: str, it: ItemView) -> dict:
    """What one slide says, as data (tests read this; slide_html renders it)."""
    s = panel.strings(lang)
    fig = it.figures[0] if it.ran and it.figures else None
    return {"id": it.id, "title": it.title, "section": section_key(it), "ran": it.ran,
            "numbers": headline_numbers(panel, it, lang) if it.ran else [],
            "points": (points := talking_points(it.answer_md) if it.ran else []),
            "notes": speaker_notes(it.answer_md, points) if it.ran else [],
            "summary": it.summary or "",
            "status": "" if it.ran else status_label(s, it.status),
            "figure": fig, "caption": f"{s['figure']} {fig.number}. {fig.caption}" if fig else ""}


# A layer diagram's boxes shrink with the slide until no one can read them; the item's layer
# table keeps 16 px on any screen, so an architecture slide shows its first columns instead:
# layer, type, output shape, parameters.
LAYER_COLUMNS = 4


def layer_table(it: ItemView, figure) -> Table | None:
    """The table an architecture slide shows in place of its layer diagram, if it has one."""
    if figure is None or not figure.name.endswith("graph"):
        return None
    return next((t for t in it.tables if t.name.endswith("layers")), None)


def _shape(value: str) -> str:
    """'(None, 28, 28, 32)' as a listener reads it: (28, 28, 32), without the batch's None."""
    return value.replace("(None, ", "(") if isinstance(value, str) else value


def _layer_table_html(s: dict[str, str], lang: str, t: Table) -> str:
    cell = lambda v: f"<td class='num'>{esc(format_value(v, lang))}</td>" if isinstance(v, (int, float)) \
        else f"<td>{esc(format_value(_shape(v), lang))}</td>"
    head = "".join(f"<th>{esc(c)}</th>" for c in t.columns[:LAYER_COLUMNS])
    body = "".join("<tr>" + "".join(cell(v) for v in row[:LAYER_COLUMNS]) + "</tr>" for row in t.rows)
    return (f"<figure class='slide-fig slide-layers'><div class='layers-box'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div><figcaption>{esc(s['table'])} {t.number}. {esc(t.caption)}"
            f"</figcaption></figure>")


def slide_html(panel: Panel, lang: str, idx: int, total: int, it: ItemView) -> str:
    s, p = panel.strings(lang), slide_parts(panel, lang, it)
    # The rendering drawn for the screen when the run has it (a run from before has the report's only).
    fig = p["figure"]
    uri, large = slide_uris(panel, fig) if fig else (None, None)
    text = [f"<div class='slide-top'><span>{esc(s['panel_sec_' + p['section']])}</span>"
            f"<span class='slide-no'>{idx + 1} / {total}</span></div>",
            f"<h2>{esc(it.label or it.id)} · {esc(it.title)}</h2>", _metrics_html(p["numbers"])]
    if p["points"]:
        text.append("<ul class='points'>" + "".join(f"<li>{render_point(x)}</li>" for x in p["points"]) + "</ul>")
    elif p["ran"] and p["summary"]:
        text.append(f"<p class='points'>{esc(p['summary'])}</p>")
    if not p["ran"]:
        text.append(f"<div class='missing'>{esc(p['status'])}. {esc(s['panel_run_from_items'])} "
                    f"<code>{esc(it.command)}</code></div>")
    # A large viewport gets the rendering drawn for its larger box; the browser picks by media query.
    source = f"<source media='{LARGE_MEDIA}' srcset='{large}'>" if large and large != uri else ""
    figure = (f"<figure class='slide-fig'><picture>{source}<img alt='{esc(p['caption'])}' src='{uri}'></picture>"
              f"<figcaption>{esc(p['caption'])}</figcaption></figure>") if uri else ""
    layers = layer_table(it, p["figure"])
    if layers is not None:
        figure = _layer_table_html(s, lang, layers)
    kind = " no-fig" if not figure else (" wide" if is_wide(uri) and layers is None else "")
    return (f"<section class='slide{kind}' data-n='{idx}' data-item='{esc(it.id)}' "
            f"data-section='{p['section']}' hidden><div class='slide-text'>{''.join(text)}</div>{figure}</section>")


def _overview_html(panel: Panel, lang: str, items: list[ItemView]) -> str:
    s = panel.strings(lang)
    cells = "".join(f"<button type='button' class='ov-cell {section_key(it)}' data-go='{n}'>"
                    f"<b>{n + 1}</b> {esc(it.label or it.id)} · {esc(it.title)}</button>" for n, it in enumerate(items))
    return (f"<div class='deck-overview' hidden><div class='ov-head'>{esc(s['panel_overview'])}"
            f"<button type='button' data-act='overview'>✕</button></div><div class='ov-grid'>{cells}</div></div>")


def _timer_html(panel: Panel, lang: str) -> str:
    s, plan = panel.strings(lang), panel.pace_plan(lang)
    total = panel.talk_seconds()
    segs, start = [], 0
    for p in plan:
        segs.append(f"<div class='pt-seg {esc(p['key'])}' style='flex:{p['end'] - start}' "
                    f"title='{esc(p['label'])}'>{esc(p['label'])}</div>")
        start = p["end"]
    data = {"total": total, "plan": json.dumps(plan), "on": s["panel_pace_on"], "behind": s["panel_pace_behind"],
            "ahead": s["panel_pace_ahead"], "over": s["panel_pace_over"]}
    attrs = " ".join(f"data-{k}=\"{esc(v)}\"" for k, v in data.items())
    clock = f"{total // 60:02d}:{total % 60:02d}"
    return (f"<div class='pt-timer' {attrs}><span class='pt-clock'>{clock}</span>"
            f"<button type='button' data-act='start' title='{esc(s['panel_timer_start'])}'>▶</button>"
            f"<button type='button' data-act='pause' title='{esc(s['panel_timer_pause'])}'>⏸</button>"
            f"<button type='button' data-act='reset' title='{esc(s['panel_timer_reset'])}'>↺</button>"
            f"<div class='pt-bar'>{''.join(segs)}<div class='pt-needle'></div></div></div>")


def _presenter_html(panel: Panel, lang: str) -> str:
    s, members = panel.strings(lang), panel.members()
    if not members:  # said once, small: the bar keeps its room for the clock
        return (f"<div class='presenter none' data-members='[]' title='{esc(s['panel_no_members'])}'>"
                f"<span class='hint'>{esc(s['panel_no_members_short'])}</span></div>")
    names = esc(json.dumps(members, ensure_ascii=False))
    return (f"<div class='presenter' data-members=\"{names}\"><span class='hint'>{esc(s['panel_presenter_is'])}</span> "
            f"<span class='who'>—</span><button type='button' data-act='draw' title='{esc(s['panel_draw'])}'>🎲 "
            f"<span class='lbl'>{esc(s['panel_draw'])}</span></button></div>")


def _side_html(panel: Panel, lang: str, items: list[ItemView]) -> str:
    """The presenter view's column (?view=presenter; hidden elsewhere by panel.css): the next slide,
    the current slide's notes, and the talk's job with its Cancel. panel.js fills the next slide and
    the job line, and shows the notes of the slide on screen."""
    s, notes = panel.strings(lang), []
    for it in items:
        p = slide_parts(panel, lang, it)
        body = ("<ul>" + "".join(f"<li>{render_point(x)}</li>" for x in p["notes"]) + "</ul>") if p["notes"] \
            else f"<p class='hint'>{esc(s['panel_notes_none'])}</p>"
        notes.append(f"<div class='side-notes' data-item='{esc(it.id)}' hidden>{body}</div>")
    return (f"<aside class='deck-side'><div class='side-next'><div class='side-label'>{esc(s['panel_next_up'])}</div>"
            f"<div class='side-next-body' data-end=\"{esc(s['panel_talk_end'])}\"></div></div>"
            f"<div class='side-label'>{esc(s['panel_notes'])}</div><div class='side-notes-box'>{''.join(notes)}</div>"
            f"<div class='side-job'><div class='side-job-line'></div><button type='button' data-act='cancel'>"
            f"{esc(s['panel_cancel'])}</button><span class='side-job-said' aria-live='polite'></span></div></aside>")


def deck_html(panel: Panel, lang: str) -> str:
    """The Presentation tab: timer bar, presenter, every slide, navigation and the overview."""
    s, items = panel.strings(lang), panel.slides(lang)
    if not items:
        return f"<div id='deck'><p>{esc(s['panel_no_items'])}</p></div>"
    slides = "".join(slide_html(panel, lang, n, len(items), it) for n, it in enumerate(items))
    tip = s["panel_keys_hint"]
    nav = (f"<nav class='deck-nav'><button type='button' data-act='prev' class='nav-prev'>{esc(s['panel_prev'])}</button>"
           f"<span class='deck-count' title='{esc(tip)}'>1 / {len(items)}</span>"
           f"<span class='deck-note' aria-live='polite'></span><span class='pt-pace' hidden></span>"
           f"<button type='button' data-act='overview'>▦ {esc(s['panel_overview'])}</button>"
           f"<button type='button' data-act='full'>{esc(s['panel_fullscreen'])}</button>"
           f"<button type='button' data-act='next' class='nav-next'>{esc(s['panel_next'])}</button></nav>")
    data = {"lang": lang, "run": panel.store.run_id, "first": s["panel_first_slide"], "last": s["panel_last_slide"]}
    attrs = " ".join(f"data-{k}=\"{esc(v)}\"" for k, v in data.items())
    return (f"<div id='deck' {attrs}><div class='deck-bar'>{_timer_html(panel, lang)}{_presenter_html(panel, lang)}</div>"
            f"<div class='deck-slides'>{slides}</div>{nav}{_side_html(panel, lang, items)}"
            f"{_overview_html(panel, lang, items)}</div>")
