"""The panel's working tabs: Items (status, queued re-runs, live progress), the VAE and GAN
explorers, Compare and Report. Each `_x_tab` lays out components, each `wire_x` connects them
to plain functions of the panel's state (harness.panel.state, harness.panel.views).
"""
from __future__ import annotations

import json
from typing import Any

import gradio as gr

from harness.errors import HarnessError
from harness.panel.explore import SCATTER_PX
from harness.panel.jobs import Job
from harness.panel.state import Panel
from harness.panel.views import (build_report, comparison, side_by_side, compare_html, explorer_message, gallery,
                                 headline, item_detail_html, missing_md, plan_md, progress_html, queue_md)


def items_tab(panel: Panel, item_ids: list[str]) -> dict[str, Any]:
    s = panel.strings("es")
    ui: dict[str, Any] = {"gen": gr.State(-1)}
    ui["missing"] = gr.Markdown()
    ui["run_missing"] = gr.Button(s["panel_run_missing"], size="sm")
    ui["table"] = gr.Dataframe(headers=_headers(s), interactive=False, wrap=True)
    with gr.Row():
        ui["item"] = gr.Dropdown(item_ids, value=item_ids[0] if item_ids else None, label=s["item"], scale=2)
        ui["force"] = gr.Checkbox(False, label=s["panel_force"], scale=1)
        ui["run"] = gr.Button(s["panel_run"], variant="primary", scale=1)
        ui["cancel"] = gr.Button(s["panel_cancel"], variant="stop", scale=1)
    ui["plan"] = gr.Markdown(elem_id="rerun-plan")  # what Run will recompute and for how long, before it starts
    ui["ack"] = gr.Markdown()
    ui["progress"] = gr.HTML(js_on_load=None)
    ui["queue"] = gr.Markdown()
    ui["log"] = gr.Textbox(label="log", lines=8, max_lines=8, interactive=False, autoscroll=True)
    ui["detail"] = gr.HTML(js_on_load=None)
    ui["gallery"] = gr.Gallery(label=s["figures"], columns=3, height="auto", object_fit="contain")
    ui["tick"] = gr.Timer(1.0)
    return ui


def _headers(s: dict[str, str]) -> list[str]:
    return [s["item"], s["title"], s["status"], s["checks"], s["time"]]


def session(request: gr.Request | None) -> str:
    """The browser session a request comes from: a job belongs to the session that submitted it."""
    return getattr(request, "session_hash", None) or ""


def cancel_md(panel: Panel, lang: str, owner: str) -> str:
    """Cancel this session's job; another tab's job is named, never cancelled from here."""
    s = panel.strings(lang)
    if panel.jobs.cancel(owner=owner) is not None:
        return s["panel_cancelling"]
    others = [j for j in panel.jobs.active() if j.owner != owner]
    return s["panel_cancel_other"].format(id=others[0].id) if others else s["panel_queue_empty"]


def wire_items(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def results(lg: str, item_id: str | None):
        view = panel.view(lg)
        return (missing_md(panel, lg), gr.Dataframe(value=panel.status_rows(lg), headers=_headers(panel.strings(lg))),
                item_detail_html(panel, lg, item_id), gallery(panel, view.item(item_id) if item_id else None, lg))

    def queue(items: list[str], force: bool, lg: str, owner: str, empty: str = "panel_choose_item") -> str:
        s = panel.strings(lg)
        if not items:
            return f"⚠ {s[empty]}"
        plan = plan_md(panel, lg, items, bool(force))  # said with the ack: what this job recomputes
        try:
            job = panel.submit(items, bool(force), owner)
        except HarnessError as exc:
            return f"⚠ {exc}"
        pos = panel.jobs.position(job)
        # First in line with nothing training: the worker picks it up at once, so it is not "queued".
        ahead = pos - (1 if panel.jobs.current is None else 0)
        ack = s["panel_queued"].format(id=job.id, items=" ".join(items), pos=pos) if ahead > 0 else s["panel_started"].format(id=job.id)
        return f"{ack} {plan}"

    def poll(lg: str, gen: int, item_id: str | None, request: gr.Request):
        owner = session(request)
        shown = panel.jobs.last(owner) or Job(0, [], "", False)
        live = (progress_html(panel, lg, owner), queue_md(panel, lg, owner), "\n".join(shown.log))
        if gen == panel.jobs.generation:
            return (*live, gen, gr.skip(), gr.skip(), gr.skip(), gr.skip())
        return (*live, panel.jobs.generation, *results(lg, item_id))

    res_outs = [ui["missing"], ui["table"], ui["detail"], ui["gallery"]]
    def run_item(item_id: str | None, force: bool, lg: str, request: gr.Request) -> str:
        return queue([item_id] if item_id else [], force, lg, session(request))

    def run_missing(lg: str, request: gr.Request) -> str:
        return queue(panel.missing(), False, lg, session(request), "panel_nothing_missing")

    def cancel(lg: str, request: gr.Request) -> str:
        return cancel_md(panel, lg, session(request))

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
    def pick_row(evt: gr.SelectData):  # clicking a row shows that item below
        return gr.Dropdown(value=evt.row_value[0]) if evt.row_value else gr.skip()

    ui["table"].select(pick_row, None, ui["item"], api_visibility="private")
    lang.change(results, [lang, ui["item"]], res_outs, api_visibility="private")
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


def vae_tab(panel: Panel) -> dict[str, Any]:
    s = panel.strings("es")
    ui: dict[str, Any] = {}
    ui["msg"] = gr.Markdown(s["panel_vae_hint"])
    with gr.Row():
        with gr.Column(scale=3):
            # No label badge: it would sit on the plot's corner, over the "↑ z2" axis name.
            ui["scatter"] = gr.Image(type="numpy", label=s["panel_vae_scatter"], show_label=False, interactive=False,
                                     height=SCATTER_PX + 24, format="png", elem_classes=["pixel"], buttons=[])
        with gr.Column(scale=2):
            ui["z1"] = gr.Slider(-4, 4, value=0.0, step=0.01, label="z1", elem_id="vae-z1")
            ui["z2"] = gr.Slider(-4, 4, value=0.0, step=0.01, label="z2", elem_id="vae-z2")
            ui["digit"] = gr.Image(type="numpy", label=s["panel_vae_decoded"], interactive=False, height=300,
                                   format="png", elem_id="vae-digit", elem_classes=["pixel"], buttons=[])
    with gr.Row():
        ui["a"] = gr.Number(0, label=s["panel_digit_a"], precision=0, minimum=0)
        ui["b"] = gr.Number(1, label=s["panel_digit_b"], precision=0, minimum=0)
        ui["interp"] = gr.Button(s["panel_interpolate"], variant="primary")
    ui["strip"] = gr.Image(type="numpy", label=s["panel_interp_strip"], interactive=False, format="png",
                           elem_classes=["pixel"], buttons=[])
    return ui


def wire_vae(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def setup(lg: str):
        try:
            panel.vae.ensure()
        except Exception as exc:  # noqa: BLE001 -- shown in the tab, the other tabs still work
            return explorer_message(panel, lg, panel.vae, exc), None, gr.skip(), gr.skip(), None, None
        lim = panel.vae.latents.limit
        # The strip starts filled (test digits 0 and 1, the fields' defaults): no empty box on screen.
        return (panel.strings(lg)["panel_vae_hint"], panel.vae.scatter_with_marker(0.0, 0.0),
                gr.Slider(minimum=-lim, maximum=lim, value=0.0), gr.Slider(minimum=-lim, maximum=lim, value=0.0),
                panel.vae.decode(0.0, 0.0), panel.vae.interpolate(0, 1))

    def decode(z1: float, z2: float):
        try:
            return panel.vae.decode(float(z1), float(z2))
        except Exception:  # noqa: BLE001 -- no model: the tab already says which item to re-run; no toast per move
            return gr.skip()

    def click(evt: gr.SelectData):
        z1, z2 = panel.vae.pixel_to_z(*evt.index[:2])
        return z1, z2, panel.vae.decode(z1, z2), panel.vae.scatter_with_marker(z1, z2)

    def interp(a: float, b: float, lg: str):
        try:
            return panel.vae.interpolate(int(a), int(b)), gr.skip()
        except HarnessError:  # an index out of range: said inline, in the panel's language
            return None, f"⚠ {panel.strings(lg)['panel_vae_bad_index'].format(last=len(panel.vae.latents.images) - 1)}"
        except Exception as exc:  # noqa: BLE001 -- no model
            return None, explorer_message(panel, lg, panel.vae, exc)

    app.load(setup, lang, [ui["msg"], ui["scatter"], ui["z1"], ui["z2"], ui["digit"], ui["strip"]],
             api_visibility="private")
    # Both sliders share one endpoint; z1's is public so clients (and tests) can decode a point.
    for slider, api in ((ui["z1"], "public"), (ui["z2"], "private")):
        slider.input(decode, [ui["z1"], ui["z2"]], ui["digit"], trigger_mode="always_last", show_progress="hidden",
                     api_name="decode", api_visibility=api)
    ui["scatter"].select(click, None, [ui["z1"], ui["z2"], ui["digit"], ui["scatter"]], api_visibility="private")
    ui["z1"].release(lambda a, b: panel.vae.scatter_with_marker(a, b), [ui["z1"], ui["z2"]], ui["scatter"],
                     api_visibility="private", show_progress="hidden")
    ui["z2"].release(lambda a, b: panel.vae.scatter_with_marker(a, b), [ui["z1"], ui["z2"]], ui["scatter"],
                     api_visibility="private", show_progress="hidden")
    ui["interp"].click(interp, [ui["a"], ui["b"], lang], [ui["strip"], ui["msg"]], api_name="vae_interpolate")


def gan_tab(panel: Panel) -> dict[str, Any]:
    s = panel.strings("es")
    ui: dict[str, Any] = {}
    ui["msg"] = gr.Markdown(s["panel_gan_hint"])
    with gr.Row():
        with gr.Column(scale=2):
            ui["n1"] = gr.Slider(-1, 1, value=0.0, step=0.01, label="z1", elem_id="gan-z1")
            ui["n2"] = gr.Slider(-1, 1, value=0.0, step=0.01, label="z2", elem_id="gan-z2")
            ui["digit"] = gr.Image(type="numpy", label=s["panel_gan_sample"], interactive=False, height=300, elem_id="gan-digit",
                                   format="png", elem_classes=["pixel"], buttons=[])
        with gr.Column(scale=3):
            with gr.Row():
                ui["seed"] = gr.Number(0, label=s["seed"], precision=0)
                ui["grid_btn"] = gr.Button(s["panel_gan_grid"], variant="primary")
            ui["grid"] = gr.Image(type="numpy", label=s["panel_gan_grid"], interactive=False, height=560,
                                  format="png", elem_classes=["pixel"], buttons=[])
    with gr.Row():
        ui["sa"] = gr.Number(1, label=s["panel_seed_a"], precision=0)
        ui["sb"] = gr.Number(2, label=s["panel_seed_b"], precision=0)
        ui["interp"] = gr.Button(s["panel_interpolate"], variant="primary")
    ui["strip"] = gr.Image(type="numpy", label=s["panel_interp_strip"], interactive=False, format="png",
                           elem_classes=["pixel"], buttons=[])
    return ui


def wire_gan(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def setup(lg: str):
        try:
            panel.gan.ensure()
        except Exception as exc:  # noqa: BLE001 -- shown in the tab
            return explorer_message(panel, lg, panel.gan, exc), gr.skip(), gr.skip(), None, None, None
        lim, two = panel.gan.limit, panel.gan.noise_dim == 2
        msg = panel.strings(lg)["panel_gan_hint"] if two else panel.strings(lg)["panel_gan_not_2d"].format(dim=panel.gan.noise_dim)
        return (msg, gr.Slider(minimum=-lim, maximum=lim, value=0.0, visible=two),
                gr.Slider(minimum=-lim, maximum=lim, value=0.0, visible=two),
                panel.gan.from_noise(0.0, 0.0) if two else None, panel.gan.seed_grid(0),
                panel.gan.interpolate(1, 2))  # seeds 1 and 2, the fields' defaults: the strip starts filled

    def sample(a: float, b: float):
        try:
            return panel.gan.from_noise(float(a), float(b))
        except Exception:  # noqa: BLE001 -- no model: the tab already says which item to re-run
            return gr.skip()

    app.load(setup, lang, [ui["msg"], ui["n1"], ui["n2"], ui["digit"], ui["grid"], ui["strip"]],
             api_visibility="private")
    for slider, api in ((ui["n1"], "public"), (ui["n2"], "private")):
        slider.input(sample, [ui["n1"], ui["n2"]], ui["digit"], trigger_mode="always_last", show_progress="hidden",
                     api_name="gan_sample", api_visibility=api)
    ui["grid_btn"].click(lambda seed: panel.gan.seed_grid(int(seed or 0)), ui["seed"], ui["grid"], api_name="gan_grid")
    ui["interp"].click(lambda a, b: panel.gan.interpolate(int(a or 0), int(b or 0)), [ui["sa"], ui["sb"]], ui["strip"],
                       api_name="gan_interpolate")


def compare_tab(panel: Panel) -> dict[str, Any]:
    s = panel.strings("es")
    ui: dict[str, Any] = {}
    ui["table"] = gr.HTML(js_on_load=None)
    ui["gallery"] = gr.Gallery(label=s["figures"], columns=2, height="auto", object_fit="contain")
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
        out: list[Any] = [compare_html(panel, lg), gallery(panel, comparison(panel, lg), lg),
                          f"### {panel.strings(lg)['side_by_side']}"]
        for item_id in side_by_side(panel):
            out += list(headline(panel, lg, item_id))
        return out

    outs = [ui["table"], ui["gallery"], ui["side_title"]] + [ui[k] for i in side_by_side(panel) for k in (i, i + "_cap")]
    for trigger in (app.load, lang.change, ui["refresh"].click):
        trigger(render, lang, outs, api_visibility="private")


def report_tab(panel: Panel, lang: gr.Radio) -> None:
    s = panel.strings("es")
    with gr.Row():
        formats = gr.CheckboxGroup(["html", "pdf", "ipynb"], value=["html", "pdf", "ipynb"], label=s["panel_formats"])
        build = gr.Button(s["panel_build_report"], variant="primary")
    msg = gr.Markdown()
    files = gr.File(label=s["panel_downloads"], file_count="multiple", interactive=False)
    build.click(lambda lg, f: build_report(panel, lg, f), [lang, formats], [files, msg], api_name="build_report")
