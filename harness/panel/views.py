"""The panel's HTML: slides, the timer and presenter blocks, progress, item details, tables.

Plain functions of the panel's state (harness.panel.state) and a language; app.py wires them to
Gradio components. Every string shown comes from templates/strings.toml in the chosen language.
"""
from __future__ import annotations

import time
from pathlib import Path

from harness.errors import HarnessError
from harness.locale import pct
from harness.run.words import program_message
from harness.panel.explore import NotReady
from harness.panel.jobs import Job
from harness.panel.state import Panel, esc, safe_file, status_label
from harness.context import NOT_GRADED
from harness.report.content import MARKS, ItemView, format_value


def comparison(panel: Panel, lang: str) -> ItemView | None:
    """The item that compares every generative model of the run."""
    return panel.view(lang).item(panel.registry.showing("comparison") or "")


def side_by_side(panel: Panel) -> tuple[str, ...]:
    """The items whose first figures are the VAE's and the GAN's headline sample grids."""
    return tuple(i for i in (panel.registry.showing("vae_samples"), panel.registry.showing("gan_samples")) if i)

# ---------------------------------------------------------------- HTML renderers
def progress_html(panel: Panel, lang: str) -> str:
    """The job line: the talk's job (running, else the latest ended), its item and what it does now.
    The bar shows only while the item trains: evaluating or saving is named, not shown as 100 %."""
    s, job = panel.strings(lang), panel.jobs.last()
    if job is None:
        return f"<div class='progress-box'>{esc(s['panel_queue_empty'])}</div>"
    head = (f"#{job.id} {esc(panel.labels(job.items, lang, ' '))} · {esc(job.profile)} · "
            f"{esc(s['panel_job_' + job.state])}")
    if job.final:
        return f"<div class='progress-box'><b>{head}</b><br>{esc(job_outcome(panel, job, lang))}</div>"
    elapsed = _fmt_s(time.time() - job.item_started) if job.item_started else "0:00"
    line = ""
    if job.phase == "train" and job.total:
        share = job.done / job.total
        eta = job.eta_s()
        eta_txt = f" · {esc(s['panel_eta'].format(time=_fmt_s(eta)))}" if eta is not None else ""
        unit = s["panel_progress_units"].get(job.unit, job.unit)
        line = (f"<div>{esc(panel.label(job.item, lang))} · {esc(s['panel_phase_train'])} · {esc(unit)} "
                f"{job.done}/{job.total} · {esc(pct(share, 0, lang))} · {esc(s['panel_elapsed'])} {elapsed}{eta_txt}</div>"
                f"<div class='bar'><div class='fill' style='width:{100 * share:.1f}%'></div></div>")
    elif job.item:
        phase = s.get(f"panel_phase_{job.phase or 'work'}", s["panel_phase_work"])
        line = f"<div>{esc(panel.label(job.item, lang))} · {esc(phase)}… · {esc(s['panel_elapsed'])} {elapsed}</div>"
    return f"<div class='progress-box'><b>{head}</b>{line}</div>"


def job_outcome(panel: Panel, job: Job, lang: str) -> str:
    """How a job ended, in the panel's language; a cancel says what was saved before it, if anything."""
    s = panel.strings(lang)
    if job.state == "cancelled":
        return s["panel_cancel_saved"].format(items=job.message) if job.message else s["panel_cancel_nothing"]
    if job.outcomes and job.state in ("done", "failed", "finished_first"):
        return ", ".join(f"{panel.label(i, lang)} {status_label(s, st)}" for i, st in job.outcomes.items())
    # Refused or broken: the one line the harness wrote, in English, under a lead in the page's language.
    return program_message(job.message)[lang] if job.message else ""


def queue_md(panel: Panel, lang: str) -> str:
    """The talk's jobs waiting behind the one the progress box shows."""
    s, active = panel.strings(lang), panel.jobs.active()
    shown = panel.jobs.last()
    lines = []
    for pos, j in enumerate(active):
        if j is shown and pos == 0:
            continue  # the progress box above already shows it
        where = s["panel_job_running"] if pos == 0 and j is panel.jobs.current else f"{s['panel_job_queued']} {pos}"
        lines.append(f"- #{j.id} {panel.labels(j.items, lang, ' ')} ({j.profile}) · {where}")
    return f"**{s['panel_waiting']}**\n\n" + "\n".join(lines) if lines else ""


def plan_md(panel: Panel, lang: str, item_ids: list[str], force: bool) -> str:
    """What a re-run of `item_ids` will recompute and how long this run says that takes, before it starts."""
    s = panel.strings(lang)
    if not item_ids:
        return ""
    try:
        todo, seconds = panel.rerun_plan(item_ids, force)
    except HarnessError as exc:  # no data, an unknown item: its one line
        return f"⚠ {exc}"
    if not todo:
        return s["panel_plan_nothing"].format(items=panel.labels(item_ids, lang))
    evaluator = panel.registry.showing("evaluator")
    named = [f"{panel.label(i, lang)} ({s['panel_evaluator']})" if i == evaluator else panel.label(i, lang) for i in todo]
    if seconds is None:
        unknown = [i for i in todo if panel.recorded_seconds([i]) is None]
        when = s["panel_plan_unknown"].format(items=panel.labels(unknown, lang))
    else:
        when = s["panel_plan_time"].format(time=_about(seconds))
    return s["panel_plan"].format(items=", ".join(named), profile=panel.profile, time=when)


def _about(seconds: float) -> str:
    """A duration as a person says it ahead of time: seconds under a minute and a half, else minutes."""
    return f"{max(1, round(seconds))} s" if seconds < 90 else f"{round(seconds / 60)} min"


def missing_md(panel: Panel, lang: str) -> str:
    s, missing = panel.strings(lang), panel.missing()
    if not missing:
        return f"✓ {s['panel_all_present']}"
    return f"**{s['panel_missing']}** ({len(missing)}): {panel.labels(missing, lang)}"


def item_detail_html(panel: Panel, lang: str, item_id: str | None) -> str:
    s, view = panel.strings(lang), panel.view(lang)
    it = view.item(item_id) if item_id else None
    if it is None:
        return ""
    out = [f"<div class='item-detail'><h3>{esc(it.label)} · {esc(it.title)}</h3>",
           f"<p><b>{esc(s['status'])}:</b> {esc(status_label(s, it.status))}</p>"]
    if it.error:
        out.append(f"<p><b>{esc(s['error'])}:</b> {esc(it.error)}</p>")
    if not it.ran:
        out.append(f"<p>{esc(s['run_it'])}: <code>{esc(it.command)}</code></p>")
    units = s.get("panel_units", {})
    named = [(m.get("label"), m) for m in it.metrics]  # harness.report.content.metric_label
    named = [(label, m) for label, m in named if label]  # never an internal key: the rest is in the report's appendix
    if named:
        rows = "".join(f"<tr><td>{esc(label)}</td><td>{esc(format_value(m['value'], lang))} "
                       f"{esc(units.get(m.get('unit') or '', m.get('unit') or ''))}</td></tr>" for label, m in named)
        out.append(f"<h4>{esc(s['metrics'])}</h4><table><tr><th>{esc(s['metric'])}</th><th>{esc(s['value'])}</th></tr>{rows}</table>")
    if it.checks:
        # The check's description, never its stored name (the report's verification table does the same).
        rows = "".join(f"<li>{MARKS[c['state']]} {esc(c.get('detail') or c.get('name'))}"
                       + (f" <em>({esc(s['not_graded'])}: {esc(c.get('reason'))})</em>" if c["state"] == NOT_GRADED else "")
                       + "</li>" for c in it.checks)
        out.append(f"<h4>{esc(s['checks'])} ({esc(it.check_score)})</h4><ul>{rows}</ul>")
    for table in it.tables:
        out.append(table_html(s, table, lang))
    if it.answer_html:
        out.append(f"<h4>{esc(s['written_answer'])}</h4>{it.answer_html}")
    out.append("</div>")
    return "".join(out)


def table_html(s: dict[str, str], table, lang: str) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(format_value(v, lang))}</td>" for v in row) + "</tr>"
                   for row in table.rows)
    return (f"<p><b>{esc(s['table'])} {table.number}.</b> {esc(table.caption)}</p>"
            f"<table><tr>{head}</tr>{body}</table>")


def gallery(panel: Panel, it: ItemView | None, lang: str) -> list[tuple[str, str]]:
    if it is None:
        return []
    s = panel.strings(lang)
    return [(p, f"{s['figure']} {f.number}. {f.caption}") for f in it.figures if (p := _safe_or_none(panel, f.file))]


def compare_html(panel: Panel, lang: str) -> str:
    s, it = panel.strings(lang), comparison(panel, lang)
    if it is None or not it.ran:
        item = panel.label(panel.registry.showing("comparison") or "", lang)
        return f"<div class='item-detail'><p>{esc(s['panel_compare_missing'].format(item=item))}</p></div>"
    # Figures as images at their own aspect, full width (a gallery's thumbnails crop a wide bar chart).
    from harness.panel.deck import slide_uris

    figures = "".join(f"<figure class='compare-fig'><img alt='{esc(f.caption)}' src='{uri}'>"
                      f"<figcaption>{esc(s['figure'])} {f.number}. {esc(f.caption)}</figcaption></figure>"
                      for f in it.figures if (uri := slide_uris(panel, f)[0]))
    return ("<div class='item-detail compare'>" + "".join(table_html(s, t, lang) for t in it.tables)
            + f"<div class='compare-figs'>{figures}</div></div>")


def headline(panel: Panel, lang: str, item_id: str) -> tuple[str | None, str]:
    s, it = panel.strings(lang), panel.view(lang).item(item_id)
    if it is None or not it.figures:
        return None, f"{item_id}: {s['panel_not_ready'] if it is None or not it.ran else s['panel_no_figure']}"
    return _safe_or_none(panel, it.figures[0].file), f"{it.id} · {it.title}: {it.figures[0].caption}"


def _safe_or_none(panel: Panel, path: Path) -> str | None:
    try:
        return str(safe_file(panel.run_dir, path))
    except HarnessError:
        return None


def _fmt_s(seconds: float) -> str:
    m, sec = divmod(max(0, int(round(seconds))), 60)
    return f"{m}:{sec:02d}"


# ---------------------------------------------------------------- handlers (small, over panel_logic)
def explorer_message(panel: Panel, lang: str, explorer, exc: Exception) -> str:
    """Why an explorer cannot show its model, in one sentence of the panel's language, naming the item to re-run."""
    s, item = panel.strings(lang), explorer.item_id
    if item is None:
        return f"⚠ {s['panel_explorer_none']}"
    result = panel.store.load_result(item, verify=False)
    shown = panel.label(item, lang)
    if result is not None and panel.store.damaged([item]):  # a file no longer matches the hash the run recorded
        return f"⚠ {s['panel_explorer_damaged'].format(item=shown)}"
    if result is None or not result.ok:
        return f"⚠ {s['panel_explorer_not_run'].format(item=shown)}"
    if isinstance(exc, NotReady) and "latent space" in str(exc):
        return f"⚠ {s['panel_explorer_not_2d'].format(item=shown)}"
    # The item ran but its saved model is gone or unreadable (a copied or trimmed run folder).
    return f"⚠ {s['panel_explorer_model_missing'].format(item=shown)}"


def build_report(panel: Panel, lang: str, formats: list[str]) -> tuple[list[str], str]:
    s = panel.strings(lang)
    if not formats:
        return [], s["panel_pick_format"]
    try:
        from harness.report.render import write_reports
    except ImportError:
        return [], s["panel_report_unavailable"]
    try:
        written = write_reports(panel.store, panel.registry, (lang,), list(formats))
    except HarnessError as exc:
        return [], f"⚠ {exc}"
    # The notebook is in the submission folder, outside the run folder the panel serves files from.
    files = [str(safe_file(panel.run_dir, p)) for fmt, p in written.get(lang, {}).items() if fmt != "ipynb"]
    message = s["panel_report_built"].format(n=len(files))
    if "ipynb" in formats:
        message += " " + s["panel_submission_built"].format(folder=written[lang]["ipynb"].parent.name)
    return files, message
