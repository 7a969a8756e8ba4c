"""`harness serve`: a Gradio Blocks app over one run, built for the 20-minute presentation.

Tabs: Presentation (slides, countdown with pace markers, random presenter),
Items (status, queued runs with live progress, cancel), VAE explorer, GAN
explorer, Compare, Report. The logic lives in harness.panel.state (plain
functions tests call); this module renders HTML and wires components.

Security: binds 127.0.0.1 unless told otherwise, never opens a share link
unless asked, `auth` guards every route, and Gradio may serve files from the
run folder only (allowed_paths), every path checked by panel_logic.safe_file.
"""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from harness.report.content import ItemView, RunView, format_value
from harness.errors import HarnessError
from harness.panel.explore import SCATTER_PX, NotReady
from harness.panel.jobs import Job
from harness.panel.state import (PROFILES, Panel, esc, render_point, safe_file, section_key, status_label,
                                 talking_points)
from harness.panel.views import (build_report, comparison, side_by_side, compare_html, explorer_message, gallery, headline,
                                 item_detail_html, missing_md, presenter_html, progress_html, queue_md,
                                 slide_html, timer_html)
from harness.registry import Registry
from harness import templates

LANGS = ("es", "en")
TABS = ("presentation", "items", "vae", "gan", "compare", "report")




def build_app(root: Path, run_id: str | None, registry: Registry | None = None, dataset_loader=None) -> gr.Blocks:
    """The panel over run `run_id` under `root` (the latest when None)."""
    panel = Panel(Path(root), run_id, registry, dataset_loader)
    s0 = panel.strings("es")
    item_ids = [i.id for i in panel.view("es").items]
    theme = gr.themes.Default(font=["system-ui", "Segoe UI", "Arial", "sans-serif"], font_mono=["monospace"])
    with gr.Blocks(title=f"INF-395 · {panel.store.run_id}", analytics_enabled=False) as app:
        app.panel, app.panel_theme = panel, theme
        with gr.Row():
            title = gr.Markdown(f"## {s0['panel_title']} · `{panel.store.run_id}`")
            lang = gr.Radio(list(LANGS), value="es", label=s0["panel_language"], scale=0, min_width=240,
                            container=False, elem_id="lang")
        with gr.Tabs():
            tabs = {}
            with gr.Tab(s0["panel_tab_presentation"], id="presentation") as tabs["presentation"]:
                pres = _presentation_tab(panel)
            with gr.Tab(s0["panel_tab_items"], id="items") as tabs["items"]:
                items_ui = _items_tab(panel, item_ids)
            with gr.Tab(s0["panel_tab_vae"], id="vae") as tabs["vae"]:
                vae_ui = _vae_tab(panel)
            with gr.Tab(s0["panel_tab_gan"], id="gan") as tabs["gan"]:
                gan_ui = _gan_tab(panel)
            with gr.Tab(s0["panel_tab_compare"], id="compare") as tabs["compare"]:
                cmp_ui = _compare_tab(panel)
            with gr.Tab(s0["panel_tab_report"], id="report") as tabs["report"]:
                _report_tab(panel, lang)
        _wire_presentation(app, panel, lang, pres)
        _wire_items(app, panel, lang, items_ui)
        _wire_vae(app, panel, lang, vae_ui)
        _wire_gan(app, panel, lang, gan_ui)
        _wire_compare(app, panel, lang, cmp_ui)
        labels = [tabs[t] for t in TABS] + [title, lang]
        lang.change(lambda lg: [gr.Tab(label=panel.strings(lg)[f"panel_tab_{t}"]) for t in TABS]
                    + [f"## {panel.strings(lg)['panel_title']} · `{panel.store.run_id}`", gr.Radio(label=panel.strings(lg)["panel_language"])],
                    lang, labels, api_visibility="private")
        def statuses() -> str:
            return json.dumps(panel.statuses())

        gr.api(statuses, api_name="statuses")
    return app


def _presentation_tab(panel: Panel) -> dict[str, Any]:
    s = panel.strings("es")
    ui: dict[str, Any] = {"idx": gr.State(0)}
    with gr.Row(equal_height=True):
        with gr.Column(scale=5):
            ui["timer"] = gr.HTML(timer_html(panel, "es"), js_on_load=None)
            with gr.Row():
                ui["start"] = gr.Button(s["panel_timer_start"], size="sm", variant="primary")
                ui["pause"] = gr.Button(s["panel_timer_pause"], size="sm")
                ui["reset"] = gr.Button(s["panel_timer_reset"], size="sm")
        with gr.Column(scale=2):
            ui["presenter"] = gr.HTML(presenter_html(panel, "es", None, False), js_on_load=None)
            ui["draw"] = gr.Button(s["panel_draw"], variant="primary", elem_id="draw-btn")
    html0, fig0, cap0 = slide_html(panel, "es", 0)
    with gr.Row():
        with gr.Column(scale=4):
            ui["slide"] = gr.HTML(html0, elem_id="slide-deck", js_on_load=None)
        with gr.Column(scale=5):
            ui["figure"] = gr.Image(fig0, visible=fig0 is not None, type="filepath", show_label=False, height=520, interactive=False,
                                    buttons=["fullscreen"], elem_id="slide-figure")
            ui["caption"] = gr.Markdown(cap0)
    with gr.Row():
        ui["prev"] = gr.Button(s["panel_prev"], elem_id="prev-btn")
        ui["next"] = gr.Button(s["panel_next"], elem_id="next-btn", variant="primary")
    return ui


def _wire_presentation(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def show(idx: int, delta: int, lg: str):
        n = max(1, len(panel.slides(lg)))
        idx = (int(idx) + delta) % n
        html, fig, caption = slide_html(panel, lg, idx)
        return idx, html, gr.Image(value=fig, visible=fig is not None), caption

    outs = [ui["idx"], ui["slide"], ui["figure"], ui["caption"]]
    ui["prev"].click(lambda i, lg: show(i, -1, lg), [ui["idx"], lang], outs, api_name="prev_slide")
    ui["next"].click(lambda i, lg: show(i, 1, lg), [ui["idx"], lang], outs, api_name="next_slide")
    app.load(lambda i, lg: show(i, 0, lg), [ui["idx"], lang], outs, api_visibility="private")  # a results change since build
    ui["draw"].click(lambda lg: presenter_html(panel, lg, panel.draw_presenter(), True), lang, ui["presenter"],
                     api_visibility="private")
    def draw_presenter() -> str:
        return panel.draw_presenter() or ""

    gr.api(draw_presenter, api_name="draw_presenter")
    for name in ("start", "pause", "reset"):
        ui[name].click(None, js=f"() => window.panelTimer && window.panelTimer.{name}()")

    def relabel(idx: int, lg: str):
        s = panel.strings(lg)
        return (*show(idx, 0, lg), timer_html(panel, lg), presenter_html(panel, lg, None, False),
                gr.Button(s["panel_timer_start"]), gr.Button(s["panel_timer_pause"]), gr.Button(s["panel_timer_reset"]),
                gr.Button(s["panel_draw"]), gr.Button(s["panel_prev"]), gr.Button(s["panel_next"]))

    lang.change(relabel, [ui["idx"], lang], outs + [ui["timer"], ui["presenter"], ui["start"], ui["pause"], ui["reset"],
                                                     ui["draw"], ui["prev"], ui["next"]], api_visibility="private")


def _items_tab(panel: Panel, item_ids: list[str]) -> dict[str, Any]:
    s = panel.strings("es")
    ui: dict[str, Any] = {"gen": gr.State(-1)}
    ui["missing"] = gr.Markdown()
    ui["run_missing"] = gr.Button(s["panel_run_missing"], size="sm")
    ui["table"] = gr.Dataframe(headers=_headers(s), interactive=False, wrap=True)
    with gr.Row():
        ui["item"] = gr.Dropdown(item_ids, value=item_ids[0] if item_ids else None, label=s["item"], scale=2)
        ui["profile"] = gr.Dropdown(list(PROFILES), value=panel.manifest().get("profile", "quick"), label=s["profile"], scale=1)
        ui["force"] = gr.Checkbox(False, label=s["panel_force"], scale=1)
        ui["run"] = gr.Button(s["panel_run"], variant="primary", scale=1)
        ui["cancel"] = gr.Button(s["panel_cancel"], variant="stop", scale=1)
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


def _wire_items(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def results(lg: str, item_id: str | None):
        view = panel.view(lg)
        return (missing_md(panel, lg), gr.Dataframe(value=panel.status_rows(lg), headers=_headers(panel.strings(lg))),
                item_detail_html(panel, lg, item_id), gallery(panel, view.item(item_id) if item_id else None, lg))

    def queue(items: list[str], profile: str, force: bool, lg: str, empty: str = "panel_choose_item") -> str:
        s = panel.strings(lg)
        if not items:
            return f"⚠ {s[empty]}"
        try:
            job = panel.submit(items, profile, bool(force))
        except HarnessError as exc:
            return f"⚠ {exc}"
        pos = panel.jobs.position(job)
        # First in line with nothing training: the worker picks it up at once, so it is not "queued".
        ahead = pos - (1 if panel.jobs.current is None else 0)
        return s["panel_queued"].format(id=job.id, items=" ".join(items), pos=pos) if ahead > 0 else s["panel_started"].format(id=job.id)

    def poll(lg: str, gen: int, item_id: str | None):
        live = (progress_html(panel, lg), queue_md(panel, lg), "\n".join((panel.jobs.last() or Job(0, [], "", False)).log))
        if gen == panel.jobs.generation:
            return (*live, gen, gr.skip(), gr.skip(), gr.skip(), gr.skip())
        return (*live, panel.jobs.generation, *results(lg, item_id))

    res_outs = [ui["missing"], ui["table"], ui["detail"], ui["gallery"]]
    ui["run"].click(lambda i, p, f, lg: queue([i] if i else [], p, f, lg), [ui["item"], ui["profile"], ui["force"], lang],
                    ui["ack"], api_name="run_item")
    ui["run_missing"].click(lambda p, lg: queue(panel.missing(), p, False, lg, "panel_nothing_missing"),
                            [ui["profile"], lang], ui["ack"],
                            api_name="run_missing")
    ui["cancel"].click(lambda lg: panel.strings(lg)["panel_cancelling"] if panel.jobs.cancel() else panel.strings(lg)["panel_queue_empty"],
                       lang, ui["ack"], api_name="cancel")
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
                       "done": job.done, "total": job.total, "unit": job.unit, "outcomes": job.outcomes,
                       "message": job.message})


def _item_json(panel: Panel, item_id: str, lang: str) -> str:
    it = panel.view(lang).item(item_id)
    if it is None:
        return json.dumps({"error": f"unknown item {item_id}"})
    return json.dumps({"id": it.id, "status": it.status, "metrics": {m["name"]: m["value"] for m in it.metrics},
                       "figures": [f.rel for f in it.figures], "error": it.error}, default=str)


def _vae_tab(panel: Panel) -> dict[str, Any]:
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


def _wire_vae(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def setup(lg: str):
        try:
            panel.vae.ensure()
        except Exception as exc:  # noqa: BLE001 -- shown in the tab, the other tabs still work
            return explorer_message(panel, lg, exc), None, gr.skip(), gr.skip(), None, None
        lim = panel.vae.latents.limit
        # The strip starts filled (test digits 0 and 1, the fields' defaults): no empty box on screen.
        return (panel.strings(lg)["panel_vae_hint"], panel.vae.scatter_with_marker(0.0, 0.0),
                gr.Slider(minimum=-lim, maximum=lim, value=0.0), gr.Slider(minimum=-lim, maximum=lim, value=0.0),
                panel.vae.decode(0.0, 0.0), panel.vae.interpolate(0, 1))

    def decode(z1: float, z2: float) -> np.ndarray:
        return panel.vae.decode(float(z1), float(z2))

    def click(evt: gr.SelectData):
        z1, z2 = panel.vae.pixel_to_z(*evt.index[:2])
        return z1, z2, panel.vae.decode(z1, z2), panel.vae.scatter_with_marker(z1, z2)

    def interp(a: float, b: float, lg: str):
        try:
            return panel.vae.interpolate(int(a), int(b)), gr.skip()
        except HarnessError as exc:
            return None, f"⚠ {exc}"

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


def _gan_tab(panel: Panel) -> dict[str, Any]:
    s = panel.strings("es")
    ui: dict[str, Any] = {}
    ui["msg"] = gr.Markdown(s["panel_gan_hint"])
    with gr.Row():
        with gr.Column(scale=2):
            ui["n1"] = gr.Slider(-1, 1, value=0.0, step=0.01, label="z1", elem_id="gan-z1")
            ui["n2"] = gr.Slider(-1, 1, value=0.0, step=0.01, label="z2", elem_id="gan-z2")
            ui["digit"] = gr.Image(type="numpy", label=s["panel_gan_sample"], interactive=False, height=300,
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


def _wire_gan(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def setup(lg: str):
        try:
            panel.gan.ensure()
        except Exception as exc:  # noqa: BLE001 -- shown in the tab
            return explorer_message(panel, lg, exc), gr.skip(), gr.skip(), None, None, None
        lim, two = panel.gan.limit, panel.gan.noise_dim == 2
        msg = panel.strings(lg)["panel_gan_hint"] if two else panel.strings(lg)["panel_gan_not_2d"].format(dim=panel.gan.noise_dim)
        return (msg, gr.Slider(minimum=-lim, maximum=lim, value=0.0, visible=two),
                gr.Slider(minimum=-lim, maximum=lim, value=0.0, visible=two),
                panel.gan.from_noise(0.0, 0.0) if two else None, panel.gan.seed_grid(0),
                panel.gan.interpolate(1, 2))  # seeds 1 and 2, the fields' defaults: the strip starts filled

    def sample(a: float, b: float) -> np.ndarray:
        return panel.gan.from_noise(float(a), float(b))

    app.load(setup, lang, [ui["msg"], ui["n1"], ui["n2"], ui["digit"], ui["grid"], ui["strip"]],
             api_visibility="private")
    for slider, api in ((ui["n1"], "public"), (ui["n2"], "private")):
        slider.input(sample, [ui["n1"], ui["n2"]], ui["digit"], trigger_mode="always_last", show_progress="hidden",
                     api_name="gan_sample", api_visibility=api)
    ui["grid_btn"].click(lambda seed: panel.gan.seed_grid(int(seed or 0)), ui["seed"], ui["grid"], api_name="gan_grid")
    ui["interp"].click(lambda a, b: panel.gan.interpolate(int(a or 0), int(b or 0)), [ui["sa"], ui["sb"]], ui["strip"],
                       api_name="gan_interpolate")


def _compare_tab(panel: Panel) -> dict[str, Any]:
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


def _wire_compare(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any]) -> None:
    def render(lg: str):
        out: list[Any] = [compare_html(panel, lg), gallery(panel, comparison(panel, lg), lg),
                          f"### {panel.strings(lg)['side_by_side']}"]
        for item_id in side_by_side(panel):
            out += list(headline(panel, lg, item_id))
        return out

    outs = [ui["table"], ui["gallery"], ui["side_title"]] + [ui[k] for i in side_by_side(panel) for k in (i, i + "_cap")]
    for trigger in (app.load, lang.change, ui["refresh"].click):
        trigger(render, lang, outs, api_visibility="private")


def _report_tab(panel: Panel, lang: gr.Radio) -> None:
    s = panel.strings("es")
    with gr.Row():
        formats = gr.CheckboxGroup(["html", "pdf", "ipynb"], value=["html", "pdf", "ipynb"], label=s["panel_formats"])
        build = gr.Button(s["panel_build_report"], variant="primary")
    msg = gr.Markdown()
    files = gr.File(label=s["panel_downloads"], file_count="multiple", interactive=False)
    build.click(lambda lg, f: build_report(panel, lg, f), [lang, formats], [files, msg], api_name="build_report")


# ---------------------------------------------------------------- serving
def check_port(host: str, port: int) -> None:
    """One clear line if something already listens there (Gradio would say much less, much later)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are not "in use"
        try:
            sock.bind((host, port))
        except OSError:
            raise HarnessError(f"port {port} is in use; pass --port N") from None


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           share: bool = False, prevent_thread_lock: bool = False, quiet: bool = False):
    """Start the server; only the run folder is servable, and auth (if given) guards every route."""
    check_port(host, port)
    panel: Panel = app.panel
    app.queue(default_concurrency_limit=4)
    return app.launch(server_name=host, server_port=port, auth=auth, share=share,
                      prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=True,
                      allowed_paths=[str(panel.run_dir)], inbrowser=False, ssr_mode=False, mcp_server=False,
                      footer_links=["api"], theme=app.panel_theme, css=templates.read_text("panel.css"),
                      head=f"<script>\n{templates.read_text('panel.js')}</script>",
                      auth_message=panel.strings("es")["panel_auth_message"])


def serve(root: Path, run_id: str | None, host: str = "127.0.0.1", port: int = 7860,
          auth: tuple[str, str] | None = None, share: bool = False) -> None:
    """`harness serve`: build the panel over the run and serve it until interrupted."""
    check_port(host, port)  # before the models and data load: fail in a second, not a minute
    app = build_app(Path(root), run_id)
    _warm_explorers(app.panel)
    launch(app, host, port, auth, share)


def _warm_explorers(panel: Panel) -> None:
    """Load the explorers' models in the background so the first slider move is already fast."""
    import threading

    def warm() -> None:
        for explorer in (panel.vae, panel.gan):
            try:
                explorer.ensure()
            except Exception:  # noqa: BLE001 -- the tab shows the reason when opened
                pass

    threading.Thread(target=warm, name="panel-warm", daemon=True).start()
