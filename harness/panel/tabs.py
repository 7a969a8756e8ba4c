"""The panel's working tabs: Items (status, queued re-runs, live progress), Compare and Report
(the VAE and GAN explorers are in harness.panel.explorer_tabs). Each `_x_tab` lays out components, each `wire_x` connects them
to plain functions of the panel's state (harness.panel.state, harness.panel.views).
"""
from __future__ import annotations

import json
from typing import Any

import gradio as gr

from harness.errors import HarnessError
from harness.panel.jobs import Job
from harness.panel.state import Panel
from harness.panel.views import (build_report, side_by_side, compare_html, gallery,
                                 headline, item_detail_html, missing_md, plan_md, progress_html, queue_md)


def items_tab(panel: Panel, item_ids: list[str], start: str = "es") -> dict[str, Any]:
    s = panel.strings(start)  # built in the language the panel opens in
    ui: dict[str, Any] = {"gen": gr.State(-1)}
    ui["missing"] = gr.Markdown()
    ui["run_missing"] = gr.Button(s["panel_run_missing"], size="sm")
    # No copy or full-screen buttons: a status list, and their labels were Gradio's noise on the projector.
    ui["table"] = gr.Dataframe(headers=_headers(s), interactive=False, wrap=True, buttons=[])
    with gr.Row():
        # Each item by its label (1.1e, E1), its id sent: the eval items' ids are not for a person to read.
        ui["item"] = gr.Dropdown(panel.choices(start), value=item_ids[0] if item_ids else None, label=s["item"], scale=2)
        ui["force"] = gr.Checkbox(False, label=s["panel_force"], scale=1)
        ui["run"] = gr.Button(s["panel_run"], variant="primary", scale=1)
        ui["cancel"] = gr.Button(s["panel_cancel"], variant="stop", scale=1)
    ui["plan"] = gr.Markdown(elem_id="rerun-plan")  # what Run will recompute and for how long, before it starts
    ui["ack"] = gr.Markdown()
    ui["progress"] = gr.HTML(js_on_load=None)
    ui["queue"] = gr.Markdown()
    ui["log"] = gr.Textbox(label=s["panel_log"], lines=8, max_lines=8, interactive=False, autoscroll=True)
    ui["detail"] = gr.HTML(js_on_load=None)
    ui["gallery"] = gr.Gallery(label=s["figures"], columns=3, height="auto", object_fit="contain",
                               buttons=["download", "fullscreen"])  # no share-to-Hugging-Face, no zip of all
    ui["tick"] = gr.Timer(1.0)
    return ui


LABELLED = ("run_missing", "item", "force", "run", "cancel", "log", "gallery")


def items_labels(panel: Panel, lang: str) -> list[Any]:
    """The Items tab's labels in `lang` (the LABELLED components, in order), when the language changes."""
    s = panel.strings(lang)
    return [gr.Button(value=s["panel_run_missing"]), gr.Dropdown(label=s["item"]), gr.Checkbox(label=s["panel_force"]),
            gr.Button(value=s["panel_run"]), gr.Button(value=s["panel_cancel"]), gr.Textbox(label=s["panel_log"]),
            gr.Gallery(label=s["figures"])]


def _headers(s: dict[str, str]) -> list[str]:
    return [s["item"], s["title"], s["status"], s["checks"], s["time"]]


def cancel_md(panel: Panel, lang: str) -> str:
    """Cancel the talk's running job (else its first waiting one), from any window of the talk."""
    s = panel.strings(lang)
    return s["panel_cancelling"] if panel.cancel_job() is not None else s["panel_queue_empty"]


def wire_items(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def results(lg: str, item_id: str | None):
        view = panel.view(lg)
        return (missing_md(panel, lg), gr.Dataframe(value=panel.status_rows(lg), headers=_headers(panel.strings(lg))),
                item_detail_html(panel, lg, item_id), gallery(panel, view.item(item_id) if item_id else None, lg))

    def queue(items: list[str], force: bool, lg: str, empty: str = "panel_choose_item") -> str:
        s = panel.strings(lg)
        if not items:
            return f"⚠ {s[empty]}"
        same = next((j for j in panel.jobs.active() if j.items == list(items) and j.force == bool(force)), None)
        if same is not None:  # a second press while the first is waiting or training: one job, said so
            return s["panel_already_queued"].format(id=same.id, items=panel.labels(items, lg, " "))
        try:
            nothing = not force and not panel.rerun_plan(items, False)[0]
        except HarnessError:  # no data, an unknown item: the job says its one line
            nothing = False
        if nothing:  # every item is cached: no job, only that
            return s["panel_plan_nothing"].format(items=panel.labels(items, lg))
        plan = plan_md(panel, lg, items, bool(force))  # said with the ack: what this job recomputes
        try:
            job = panel.submit(items, bool(force))
        except HarnessError as exc:
            return f"⚠ {exc}"
        pos = panel.jobs.position(job)
        # First in line with nothing training: the worker picks it up at once, so it is not "queued".
        ahead = pos - (1 if panel.jobs.current is None else 0)
        ack = (s["panel_queued"].format(id=job.id, items=panel.labels(items, lg, " "), pos=pos) if ahead > 0
               else s["panel_started"].format(id=job.id))
        return f"{ack} {plan}"

    def poll(lg: str, gen: int, item_id: str | None):
        shown = panel.jobs.last() or Job(0, [], "", False)
        live = (progress_html(panel, lg), queue_md(panel, lg),
                shown.log_text(panel.strings(lg), lg, lambda i: panel.label(i, lg)))
        if gen == panel.jobs.generation:
            return (*live, gen, gr.skip(), gr.skip(), gr.skip(), gr.skip())
        return (*live, panel.jobs.generation, *results(lg, item_id))

    res_outs = [ui["missing"], ui["table"], ui["detail"], ui["gallery"]]
    def run_item(item_id: str | None, force: bool, lg: str) -> str:
        return queue([item_id] if item_id else [], force, lg)

    def run_missing(lg: str) -> str:
        return queue(panel.missing(), False, lg, "panel_nothing_missing")

    def cancel(lg: str) -> str:
        return cancel_md(panel, lg)

    def plan(lg: str, item_id: str | None, force: bool) -> str:
        return plan_md(panel, lg, [item_id] if item_id else [], bool(force))

    ui["run"].click(run_item, [ui["item"], ui["force"], lang], ui["ack"], api_name="run_item")
    ui["run_missing"].click(run_missing, [lang], ui["ack"], api_name="run_missing")
    ui["cancel"].click(cancel, lang, ui["ack"], api_name="cancel")
    for trigger in (ui["item"].change, ui["force"].change, lang.change, app.load, ui["gen"].change):
        trigger(plan, [lang, ui["item"], ui["force"]], ui["plan"], api_visibility="private", show_progress="hidden")
    gr.api(plan, api_name="rerun_plan")
    ui["tick"].tick(poll, [lang, ui["gen"], ui["item"]],
                    [ui["progress"], ui["queue"], ui["log"], ui["gen"], *res_outs], api_visibility="private",
                    show_progress="hidden")
    ui["item"].change(results, [lang, ui["item"]], res_outs, api_visibility="private")
    def pick_row(lg: str, evt: gr.SelectData):  # clicking a row shows that item below
        by_label = {label: item_id for label, item_id in panel.choices(lg)}
        item_id = by_label.get(evt.row_value[0]) if evt.row_value else None
        return gr.Dropdown(value=item_id) if item_id else gr.skip()

    ui["table"].select(pick_row, lang, ui["item"], api_visibility="private")
    lang.change(results, [lang, ui["item"]], res_outs, api_visibility="private")
    lang.change(lambda lg: items_labels(panel, lg), lang, [ui[k] for k in LABELLED], api_visibility="private",
                show_progress="hidden")
    app.load(results, [lang, ui["item"]], res_outs, api_visibility="private")
    def job(job_id: int) -> str:
        return _job_json(panel, int(job_id))

    def item_result(item_id: str, lg: str) -> str:
        return _item_json(panel, item_id, lg)

    gr.api(job, api_name="job")
    gr.api(item_result, api_name="item_result")


def _job_json(panel: Panel, job_id: int) -> str:
    job = panel.jobs.job(job_id)
    if job is None:
        return json.dumps({"error": f"no job #{job_id}"})
    return json.dumps({"id": job.id, "state": job.state, "items": job.items, "position": panel.jobs.position(job),
                       "phase": job.phase, "done": job.done, "total": job.total, "unit": job.unit,
                       "outcomes": job.outcomes, "message": job.message})


def _item_json(panel: Panel, item_id: str, lang: str) -> str:
    it = panel.view(lang).item(item_id)
    if it is None:
        return json.dumps({"error": f"unknown item {item_id}"})
    return json.dumps({"id": it.id, "status": it.status, "metrics": {m["name"]: m["value"] for m in it.metrics},
                       "figures": [f.rel for f in it.figures], "error": it.error}, default=str)


def compare_tab(panel: Panel, start: str = "es") -> dict[str, Any]:
    s = panel.strings(start)
    ui: dict[str, Any] = {}
    ui["table"] = gr.HTML(js_on_load=None, elem_id="compare-table")  # its tables and figures
    ui["side_title"] = gr.Markdown(f"### {s['side_by_side']}")
    with gr.Row():
        for item_id in side_by_side(panel):
            with gr.Column():
                ui[item_id] = gr.Image(type="filepath", show_label=False, interactive=False, height=480,
                                       buttons=["fullscreen"])
                ui[item_id + "_cap"] = gr.Markdown()
    ui["refresh"] = gr.Button(s["panel_refresh"], size="sm")
    return ui


def wire_compare(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def render(lg: str):
        out: list[Any] = [compare_html(panel, lg), f"### {panel.strings(lg)['side_by_side']}"]
        for item_id in side_by_side(panel):
            out += list(headline(panel, lg, item_id))
        return out

    outs = [ui["table"], ui["side_title"]] + [ui[k] for i in side_by_side(panel) for k in (i, i + "_cap")]
    for trigger in (app.load, lang.change, ui["refresh"].click):
        trigger(render, lang, outs, api_visibility="private")


def report_tab(panel: Panel, lang: gr.Radio, start: str = "es") -> None:
    s = panel.strings(start)
    with gr.Row():
        formats = gr.CheckboxGroup(["html", "pdf", "ipynb"], value=["html", "pdf", "ipynb"], label=s["panel_formats"])
        build = gr.Button(s["panel_build_report"], variant="primary")
    msg = gr.Markdown()
    files = gr.File(label=s["panel_downloads"], file_count="multiple", interactive=False)
    build.click(lambda lg, f: build_report(panel, lg, f), [lang, formats], [files, msg], api_name="build_report")

    def labels(lg: str) -> list[Any]:
        t = panel.strings(lg)
        return [gr.CheckboxGroup(label=t["panel_formats"]), gr.Button(value=t["panel_build_report"]),
                gr.File(label=t["panel_downloads"])]
    lang.change(labels, lang, [formats, build, files], api_visibility="private", show_progress="hidden")
