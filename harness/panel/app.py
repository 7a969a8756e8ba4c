"""`harness serve`: a Gradio Blocks app over one run, built for the 20-minute presentation.

Tabs: Presentation (the slide deck with its timer bar and presenter draw, harness.panel.deck),
Items (status, queued re-runs with live progress, cancel), VAE explorer, GAN explorer, Compare,
Report (harness.panel.tabs). The logic lives in harness.panel.state (plain functions tests
call); this module builds the page and serves it.

Security: binds 127.0.0.1 unless told otherwise, never opens a share link unless asked,
`auth` guards every route, and Gradio may serve files from the run folder only
(allowed_paths), every path checked by state.safe_file.
"""
from __future__ import annotations

import json
import socket
from pathlib import Path

import gradio as gr

from harness.errors import HarnessError
from harness.panel import explorer_tabs, tabs
from harness.panel.deck import deck_html, slide_parts
from harness.panel.pretalk import pretalk_html, print_pretalk
from harness.panel.state import Panel
from harness.panel.views import progress_html
from harness.registry import Registry
from harness import templates
from harness.locale import LANGS
from harness.words import words

W = words(__file__)

TABS = ("presentation", "items", "vae", "gan", "compare", "report")


def build_app(root: Path, run_id: str | None, registry: Registry | None = None, dataset_loader=None,
              settings_file: Path | None = None, lang: str = "es") -> gr.Blocks:
    """The panel over run `run_id` under `root` (the latest when None), opening in `lang`."""
    panel = Panel(Path(root), run_id, registry, dataset_loader, settings_file)
    start, s0 = lang, panel.strings(lang)  # `lang` names the language radio below
    item_ids = [i.id for i in panel.view("es").items]
    theme = gr.themes.Default(font=["system-ui", "Segoe UI", "Arial", "sans-serif"], font_mono=["monospace"])
    with gr.Blocks(title=f"INF-395 · {panel.store.run_id}", analytics_enabled=False) as app:
        app.panel, app.panel_theme, app.panel_lang = panel, theme, start
        with gr.Row(elem_id="panel-head"):
            title = gr.HTML(_title_html(panel, start), elem_id="panel-title", js_on_load=None)
            # What is missing for the talk, in the header from the first paint: it takes no height
            # from the slides (a line above the deck shrank every slide's figure: benchmarks/RESULTS.md).
            check = gr.HTML(pretalk_html(panel, start), elem_id="pretalk", js_on_load=None)
            lang = gr.Radio(list(LANGS), value=start, label=s0["panel_language"], scale=0, min_width=160,
                            container=False, elem_id="lang")
        with gr.Tabs(elem_id="panel-tabs"):
            views = {}
            with gr.Tab(s0["panel_tab_presentation"], id="presentation") as views["presentation"]:
                deck = gr.HTML(deck_html(panel, start), elem_id="deck-host", js_on_load=None)
            with gr.Tab(s0["panel_tab_items"], id="items") as views["items"]:
                items_ui = tabs.items_tab(panel, item_ids, start)
            with gr.Tab(s0["panel_tab_vae"], id="vae") as views["vae"]:
                vae_ui = explorer_tabs.vae_tab(panel, start)
            with gr.Tab(s0["panel_tab_gan"], id="gan") as views["gan"]:
                gan_ui = explorer_tabs.gan_tab(panel, start)
            with gr.Tab(s0["panel_tab_compare"], id="compare") as views["compare"]:
                cmp_ui = tabs.compare_tab(panel, start)
            with gr.Tab(s0["panel_tab_report"], id="report") as views["report"]:
                tabs.report_tab(panel, lang, start)
        _wire_presentation(app, panel, lang, deck, items_ui["gen"])
        for trigger in (app.load, lang.change, items_ui["gen"].change):
            trigger(lambda lg: pretalk_html(panel, lg), lang, check, api_visibility="private", show_progress="hidden")
        tabs.wire_items(app, panel, lang, items_ui)
        explorer_tabs.wire_vae(app, panel, lang, vae_ui, items_ui["gen"])
        explorer_tabs.wire_gan(app, panel, lang, gan_ui, items_ui["gen"])
        tabs.wire_compare(app, panel, lang, cmp_ui)
        labels = [views[t] for t in TABS] + [title, lang]
        lang.change(lambda lg: [gr.Tab(label=panel.strings(lg)[f"panel_tab_{t}"]) for t in TABS]
                    + [_title_html(panel, lg), gr.Radio(label=panel.strings(lg)["panel_language"])],
                    lang, labels, api_visibility="private")

        def statuses() -> str:
            return json.dumps(panel.statuses())

        gr.api(statuses, api_name="statuses")
    return app


def _title_html(panel: Panel, lang: str) -> str:
    from harness.panel.state import esc

    s = panel.strings(lang)
    # The light/dark switch sits in the header: every tab is shown on the projector, not only the deck.
    toggle = (f"<button type='button' id='theme-toggle' data-act='theme' title='{esc(s['panel_theme'])}' "
              f"data-dark='{esc(s['panel_theme_dark'])}' data-light='{esc(s['panel_theme_light'])}'>"
              f"◐ {esc(s['panel_theme'])}</button>")
    return (f"<div class='panel-title'><span>{esc(s['panel_title'])} · <code>{esc(panel.store.run_id)}</code></span>"
            f"{toggle}</div>")


def _wire_presentation(app: gr.Blocks, panel: Panel, lang: gr.Radio, deck: gr.HTML, gen: gr.State) -> None:
    """The deck is re-rendered on load, on a language switch and when a re-run changes the results;
    stepping, the timer and the draw run in the browser (panel.js), so nothing waits on the server mid-talk."""
    # No spinner over the deck: it is readable from the first paint, and the re-render replaces it when ready.
    app.load(lambda lg: deck_html(panel, lg), lang, deck, api_visibility="private", show_progress="hidden")
    lang.change(lambda lg: deck_html(panel, lg), lang, deck, api_visibility="private", show_progress="hidden")
    gen.change(lambda lg: deck_html(panel, lg), lang, deck, api_visibility="private", show_progress="hidden")

    def slides(lang: str) -> str:
        """Every slide as data: id, title, section, headline numbers, talking points, caption."""
        parts = [slide_parts(panel, lang, it) for it in panel.slides(lang)]
        return json.dumps([{**p, "figure": p["figure"] is not None} for p in parts], ensure_ascii=False)

    def draw_presenter() -> str:
        return panel.draw_presenter() or ""

    def talk(change: str, lang: str = "") -> str:
        """The talk's slide, timer and presenter (Panel.talk), after `change` (JSON; empty: only read).
        With `lang`, also the talk's job line in that language (the presenter view shows it), and,
        after a change {"cancel": true}, what the cancel did."""
        state = panel.talk(change)
        if lang in LANGS:
            if _asks_cancel(change):
                state["said"] = tabs.cancel_md(panel, lang)
            state["job"] = progress_html(panel, lang)
            state["job_active"] = bool(panel.jobs.active())
        return json.dumps(state, ensure_ascii=False)

    # Not queued: every window asks five times a second, and a slider's decode must not wait behind it.
    gr.api(talk, api_name="talk", queue=False)
    gr.api(slides, api_name="slides")
    gr.api(draw_presenter, api_name="draw_presenter")


def _asks_cancel(change: str) -> bool:
    try:
        data = json.loads(change) if change else None
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("cancel") is True


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
                      # No footer: its "Use via API" link is English whatever the panel's language, and its
                      # height pushed every page past a 720-px projector; the API itself stays served.
                      footer_links=[], theme=app.panel_theme, css=templates.read_text("panel.css"),
                      head=_head(app.panel_lang),
                      auth_message=panel.strings(app.panel_lang)["panel_auth_message"])  # the login page's one line of ours


def _head(lang: str) -> str:
    """panel.js, with the language the panel opens in and the words for Gradio's own English labels."""
    page = json.dumps({"lang": lang, "labels": W.table("gradio_labels")}, ensure_ascii=False).replace("</", "<\\/")
    return (f"<script>\n(() => {{ const p = {page}; window.PANEL_LANG = p.lang; window.PANEL_GRADIO_LABELS = p.labels; }})();\n"
            f"{templates.read_text('panel.js')}</script>")


def serve(root: Path, run_id: str | None, host: str = "127.0.0.1", port: int = 7860,
          auth: tuple[str, str] | None = None, share: bool = False, settings_file: Path | None = None,
          lang: str = "es") -> None:
    """`harness serve`: build the panel over the run and serve it until interrupted."""
    check_port(host, port)  # before the models and data load: fail in a second, not a minute
    if host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        print(f"harness: warning: --host {host} lets other machines open the panel and start training; add --auth USER:PASS")
    app = build_app(Path(root), run_id, settings_file=settings_file, lang=lang)
    print_pretalk(app.panel, lang)
    shown = "localhost" if host in ("127.0.0.1", "::1", "0.0.0.0", "::") else host
    s = app.panel.strings(lang)
    print(f"harness: {s['panel_presenter_url']}: http://{shown}:{port}/?view=presenter")
    print(f"harness: {s['panel_audience_url']}: http://{shown}:{port}/?view=audience")
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
