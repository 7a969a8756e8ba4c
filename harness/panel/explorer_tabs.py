"""The VAE and GAN explorer tabs: sliders that decode a latent point, a clickable latent map,
interpolation between two digits (VAE, picked by digit class) or two seeds (GAN).

Everything a presenter can type is checked here and answered inline, in the panel's language,
above the explorer (never a toast): the number fields carry no `minimum`, because Gradio would
refuse such a value with its own English error. When the explorer's model is missing, the tab
says which item to re-run and offers a button that queues it through the panel's job queue.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from harness.errors import HarnessError
from harness.panel.explore import SCATTER_PX, NotReady
from harness.panel.state import Panel
from harness.panel.views import explorer_message

DIGITS = [str(d) for d in range(10)]
MAX_SEED = 2 ** 32 - 1  # numpy's seeds


class BadInput(HarnessError):
    """A value typed in an explorer's field, refused with a sentence of the panel's language."""


def _whole(value: Any, low: int, high: int) -> int:
    """`value` as an integer in [low, high], or BadInput (the caller says why, in its language)."""
    try:
        number = float(value)
        if number != int(number) or not low <= int(number) <= high:
            raise ValueError(value)
    except (TypeError, ValueError, OverflowError):  # None, "", NaN, infinity, text, a fraction, out of range
        raise BadInput(str(value)) from None
    return int(number)


def rerun(panel: Panel, explorer, lang: str) -> str:
    """Queue the explorer's source item (recomputed: its saved model is what is missing)."""
    s = panel.strings(lang)
    try:
        job = panel.submit([explorer.item_id], force=True)
    except HarnessError as exc:
        return f"⚠ {exc}"
    return s["panel_explorer_queued"].format(id=job.id, item=explorer.item_id)


def _missing(panel: Panel, explorer, lang: str, exc: Exception) -> tuple[str, Any]:
    """The tab's message and its re-run button when the model cannot be loaded."""
    msg = explorer_message(panel, lang, explorer, exc)
    can_rerun = explorer.item_id is not None and not (isinstance(exc, NotReady) and "latent space" in str(exc))
    label = panel.strings(lang)["panel_explorer_rerun"].format(item=explorer.item_id)
    return msg, gr.Button(value=label, visible=can_rerun)


# ---------------------------------------------------------------- VAE
def vae_tab(panel: Panel, start: str = "es") -> dict[str, Any]:
    s = panel.strings(start)  # built in the language the panel opens in
    ui: dict[str, Any] = {}
    with gr.Row(equal_height=True):
        ui["msg"] = gr.Markdown(s["panel_vae_hint"], elem_id="vae-msg")
        ui["rerun"] = gr.Button(visible=False, variant="primary", scale=0, min_width=200, elem_id="vae-rerun")
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
    with gr.Row(elem_id="vae-ab"):
        ui["a"] = gr.Dropdown(DIGITS, value="0", label=s["panel_digit_a"], elem_id="vae-a")
        ui["na"] = gr.Number(0, label=s["panel_nth"], precision=0, elem_id="vae-na")
        ui["b"] = gr.Dropdown(DIGITS, value="1", label=s["panel_digit_b"], elem_id="vae-b")
        ui["nb"] = gr.Number(0, label=s["panel_nth"], precision=0, elem_id="vae-nb")
        ui["interp"] = gr.Button(s["panel_interpolate"], variant="primary", elem_id="vae-interp")
    ui["strip"] = gr.Image(type="numpy", label=s["panel_interp_strip"], interactive=False, format="png",
                           elem_classes=["pixel"], buttons=[])
    return ui


def vae_labels(panel: Panel, lang: str) -> list[Any]:
    s = panel.strings(lang)
    return [gr.Image(label=s["panel_vae_decoded"]), gr.Dropdown(label=s["panel_digit_a"]),
            gr.Number(label=s["panel_nth"]), gr.Dropdown(label=s["panel_digit_b"]), gr.Number(label=s["panel_nth"]),
            gr.Button(value=s["panel_interpolate"]), gr.Image(label=s["panel_interp_strip"])]


def vae_pair(panel: Panel, lang: str, a: Any, na: Any, b: Any, nb: Any):
    """The interpolation strip between the na-th test digit `a` and the nb-th test digit `b`."""
    s, vae = panel.strings(lang), panel.vae
    indices = []
    for digit, nth in ((a, na), (b, nb)):
        try:
            digit = _whole(digit, 0, 9)
        except BadInput:
            raise BadInput(s["panel_vae_bad_digit"]) from None
        count = vae.count(digit)
        try:
            indices.append(vae.nth(digit, _whole(nth, 0, max(0, count - 1))))
        except BadInput:
            raise BadInput(s["panel_vae_bad_nth"].format(digit=digit, count=count, last=count - 1)) from None
    return vae.interpolate(*indices)


def wire_vae(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any], refresh: gr.State) -> None:
    def setup(lg: str):
        try:
            panel.vae.ensure()
        except Exception as exc:  # noqa: BLE001 -- shown in the tab, the other tabs still work
            return (*_missing(panel, panel.vae, lg, exc), None, gr.skip(), gr.skip(), None, None)
        lim = panel.vae.latents.limit
        # The strip starts filled (the first 0 and the first 1 of the test set): no empty box on screen.
        return (panel.strings(lg)["panel_vae_hint"], gr.Button(visible=False), panel.vae.scatter_with_marker(0.0, 0.0),
                gr.Slider(minimum=-lim, maximum=lim, value=0.0), gr.Slider(minimum=-lim, maximum=lim, value=0.0),
                panel.vae.decode(0.0, 0.0), vae_pair(panel, lg, 0, 0, 1, 0))

    def decode(z1: float, z2: float):
        try:
            return panel.vae.decode(float(z1), float(z2))
        except Exception:  # noqa: BLE001 -- no model: the tab already says which item to re-run; no toast per move
            return gr.skip()

    def click(evt: gr.SelectData):
        z1, z2 = panel.vae.pixel_to_z(*evt.index[:2])
        return z1, z2, panel.vae.decode(z1, z2), panel.vae.scatter_with_marker(z1, z2)

    def interp(a: Any, na: Any, b: Any, nb: Any, lg: str):
        try:
            return vae_pair(panel, lg, a, na, b, nb), panel.strings(lg)["panel_vae_hint"]
        except BadInput as exc:
            return gr.skip(), f"⚠ {exc}"
        except Exception as exc:  # noqa: BLE001 -- no model
            return None, explorer_message(panel, lg, panel.vae, exc)

    outs = [ui["msg"], ui["rerun"], ui["scatter"], ui["z1"], ui["z2"], ui["digit"], ui["strip"]]
    for trigger in (app.load, lang.change, refresh.change):  # a finished re-run brings the model back
        trigger(setup, lang, outs, api_visibility="private", show_progress="hidden")
    labelled = [ui["digit"], ui["a"], ui["na"], ui["b"], ui["nb"], ui["interp"], ui["strip"]]
    for trigger in (app.load, lang.change):
        trigger(lambda lg: vae_labels(panel, lg), lang, labelled, api_visibility="private", show_progress="hidden")
    ui["rerun"].click(lambda lg: rerun(panel, panel.vae, lg), lang, ui["msg"], api_name="vae_rerun", show_progress="hidden")
    # Both sliders share one endpoint; z1's is public so clients (and tests) can decode a point.
    # preprocess=False: a value typed past a slider's end reaches the explorer, which takes it at that end;
    # Gradio's own check would answer with an English error toast and a server traceback.
    for slider, api in ((ui["z1"], "public"), (ui["z2"], "private")):
        slider.input(decode, [ui["z1"], ui["z2"]], ui["digit"], trigger_mode="always_last", show_progress="hidden",
                     api_name="decode", api_visibility=api, preprocess=False)
    for slider in (ui["z1"], ui["z2"]):
        slider.input(lambda v: at_end(v, panel.vae.latents.limit), slider, slider, preprocess=False,
                     api_visibility="private", show_progress="hidden")
    ui["scatter"].select(click, None, [ui["z1"], ui["z2"], ui["digit"], ui["scatter"]], api_visibility="private")
    for slider in (ui["z1"], ui["z2"]):
        slider.release(lambda a, b: _marked(panel, a, b), [ui["z1"], ui["z2"]], ui["scatter"],
                       api_visibility="private", show_progress="hidden", preprocess=False)
    # The image being made shows Gradio's progress; the message line never does (its "processing | 0.7s"
    # is English, and read as the message).
    ui["interp"].click(interp, [ui["a"], ui["na"], ui["b"], ui["nb"], lang], [ui["strip"], ui["msg"]],
                       api_name="vae_interpolate", show_progress_on=[ui["strip"]])


def at_end(value: Any, limit: float):
    """A value typed past a slider's end shows as that end, the point the explorer decoded; one inside
    is left alone (sending it back would fight the hand still dragging)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return gr.Slider(value=0.0)
    if v != v:
        return gr.Slider(value=0.0)
    return gr.Slider(value=max(-limit, min(limit, v))) if abs(v) > limit else gr.skip()


def _marked(panel: Panel, z1: float, z2: float):
    try:
        lim = panel.vae.latents.limit
        return panel.vae.scatter_with_marker(*(max(-lim, min(lim, float(z))) for z in (z1, z2)))
    except Exception:  # noqa: BLE001 -- no model: said above the explorer
        return gr.skip()


# ---------------------------------------------------------------- GAN
def gan_tab(panel: Panel, start: str = "es") -> dict[str, Any]:
    s = panel.strings(start)  # built in the language the panel opens in
    ui: dict[str, Any] = {}
    with gr.Row(equal_height=True):
        ui["msg"] = gr.Markdown(s["panel_gan_hint"], elem_id="gan-msg")
        ui["rerun"] = gr.Button(visible=False, variant="primary", scale=0, min_width=200, elem_id="gan-rerun")
    with gr.Row():
        with gr.Column(scale=2):
            ui["n1"] = gr.Slider(-1, 1, value=0.0, step=0.01, label="z1", elem_id="gan-z1")
            ui["n2"] = gr.Slider(-1, 1, value=0.0, step=0.01, label="z2", elem_id="gan-z2")
            ui["digit"] = gr.Image(type="numpy", label=s["panel_gan_sample"], interactive=False, height=300,
                                   elem_id="gan-digit", format="png", elem_classes=["pixel"], buttons=[])
        with gr.Column(scale=3):
            with gr.Row():
                ui["seed"] = gr.Number(0, label=s["seed"], precision=0, elem_id="gan-seed")
                ui["grid_btn"] = gr.Button(s["panel_gan_grid"], variant="primary", elem_id="gan-grid-btn")
            ui["grid"] = gr.Image(type="numpy", label=s["panel_gan_grid"], interactive=False, height=560,
                                  format="png", elem_classes=["pixel"], buttons=[])
    with gr.Row():
        ui["sa"] = gr.Number(1, label=s["panel_seed_a"], precision=0, elem_id="gan-sa")
        ui["sb"] = gr.Number(2, label=s["panel_seed_b"], precision=0, elem_id="gan-sb")
        ui["interp"] = gr.Button(s["panel_interpolate"], variant="primary", elem_id="gan-interp")
    ui["strip"] = gr.Image(type="numpy", label=s["panel_interp_strip"], interactive=False, format="png",
                           elem_classes=["pixel"], buttons=[])
    return ui


def gan_labels(panel: Panel, lang: str) -> list[Any]:
    s = panel.strings(lang)
    return [gr.Image(label=s["panel_gan_sample"]), gr.Number(label=s["seed"]), gr.Button(value=s["panel_gan_grid"]),
            gr.Image(label=s["panel_gan_grid"]), gr.Number(label=s["panel_seed_a"]),
            gr.Number(label=s["panel_seed_b"]), gr.Button(value=s["panel_interpolate"]),
            gr.Image(label=s["panel_interp_strip"])]


def wire_gan(app: gr.Blocks, panel: Panel, lang: gr.Radio, ui: dict[str, Any], refresh: gr.State) -> None:
    def hint(lg: str) -> str:
        s = panel.strings(lg)
        return s["panel_gan_hint"] if panel.gan.noise_dim == 2 else s["panel_gan_not_2d"].format(dim=panel.gan.noise_dim)

    def setup(lg: str):
        try:
            panel.gan.ensure()
        except Exception as exc:  # noqa: BLE001 -- shown in the tab
            return (*_missing(panel, panel.gan, lg, exc), gr.skip(), gr.skip(), None, None, None)
        lim, two = panel.gan.limit, panel.gan.noise_dim == 2
        return (hint(lg), gr.Button(visible=False), gr.Slider(minimum=-lim, maximum=lim, value=0.0, visible=two),
                gr.Slider(minimum=-lim, maximum=lim, value=0.0, visible=two),
                panel.gan.from_noise(0.0, 0.0) if two else None, panel.gan.seed_grid(0),
                panel.gan.interpolate(1, 2))  # seeds 1 and 2, the fields' defaults: the strip starts filled

    def sample(a: float, b: float):
        try:
            return panel.gan.from_noise(float(a), float(b))
        except Exception:  # noqa: BLE001 -- no model: the tab already says which item to re-run
            return gr.skip()

    def seeded(make, lg: str, *seeds: Any):
        """`make(*seeds)`, or the inline reason the seeds were refused, or the missing model's sentence."""
        s = panel.strings(lg)
        try:
            return make(*(_whole(x, 0, MAX_SEED) for x in seeds)), hint(lg)
        except BadInput:
            return gr.skip(), f"⚠ {s['panel_gan_bad_seed'].format(max=MAX_SEED)}"
        except Exception as exc:  # noqa: BLE001 -- no model
            return None, explorer_message(panel, lg, panel.gan, exc)

    outs = [ui["msg"], ui["rerun"], ui["n1"], ui["n2"], ui["digit"], ui["grid"], ui["strip"]]
    for trigger in (app.load, lang.change, refresh.change):
        trigger(setup, lang, outs, api_visibility="private", show_progress="hidden")
    labelled = [ui["digit"], ui["seed"], ui["grid_btn"], ui["grid"], ui["sa"], ui["sb"], ui["interp"], ui["strip"]]
    for trigger in (app.load, lang.change):
        trigger(lambda lg: gan_labels(panel, lg), lang, labelled, api_visibility="private", show_progress="hidden")
    ui["rerun"].click(lambda lg: rerun(panel, panel.gan, lg), lang, ui["msg"], api_name="gan_rerun", show_progress="hidden")
    for slider, api in ((ui["n1"], "public"), (ui["n2"], "private")):
        slider.input(sample, [ui["n1"], ui["n2"]], ui["digit"], trigger_mode="always_last", show_progress="hidden",
                     api_name="gan_sample", api_visibility=api, preprocess=False)  # as the VAE's sliders
    for slider in (ui["n1"], ui["n2"]):
        slider.input(lambda v: at_end(v, panel.gan.limit), slider, slider, preprocess=False,
                     api_visibility="private", show_progress="hidden")
    ui["grid_btn"].click(lambda seed, lg: seeded(panel.gan.seed_grid, lg, seed), [ui["seed"], lang],
                         [ui["grid"], ui["msg"]], api_name="gan_grid", show_progress_on=[ui["grid"]])
    ui["interp"].click(lambda a, b, lg: seeded(panel.gan.interpolate, lg, a, b), [ui["sa"], ui["sb"], lang],
                       [ui["strip"], ui["msg"]], api_name="gan_interpolate", show_progress_on=[ui["strip"]])
