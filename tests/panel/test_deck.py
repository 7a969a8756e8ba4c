"""The presentation deck in a real browser, as a presenting team drives it on a classroom projector.

Fits: at 1024×768, 1280×720 and 1920×1080 the slide's title, its figure and the navigation lie
inside the window without scrolling. State: the countdown, the slide and the drawn presenter
survive a reload and a language switch. Plus the deck's talking points and the team kept by
`serve --config`. Screenshots go to $PANEL_SCREENSHOTS when set.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from harness.panel.deck import slide_parts
from harness.panel.points import talking_points
from harness.panel.state import wait_for
from tests.panel.conftest import RUN

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
PROJECTORS = [(1024, 768), (1280, 720), (1920, 1080)]
SHOWN = "#deck .slide:not([hidden])"


def shots_dir(tmp_path: Path) -> Path:
    out = Path(os.environ.get("PANEL_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def open_deck(browser, url: str, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url, wait_until="load")
    page.locator(SHOWN).wait_for(timeout=60000)
    return page


def shown(page) -> str:
    return page.locator(SHOWN).get_attribute("data-item")


def jump_to(page, item_id: str) -> None:
    """Type the slide's number, as a presenter would, then Enter."""
    number = [el.get_attribute("data-item") for el in page.locator("#deck .slide").all()].index(item_id) + 1
    page.locator("#deck .deck-count").click()  # focus the page, not an input
    page.keyboard.type(str(number))
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelector('{SHOWN}')?.dataset.item === '{item_id}'", timeout=5000)


def inside(page, selector: str, width: int, height: int) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 0 and \
        box["x"] + box["width"] <= width + 0.5 and box["y"] + box["height"] <= height + 0.5


# ---------------------------------------------------------------- talking points
def test_talking_points_are_complete_statements():
    # A lead-in ending in ':' announces a table the slide does not show: dropped, never the last word.
    md = "We measure each model:\n\n| a | b |\n|---|---|\n\n**Better?** Yes: going from 2 to 16 dimensions lowers the test loss by 24.5 nats.\nThe reason is in the two terms. " \
         "Reconstruction falls while the KL rises.\n"
    assert talking_points(md) == ["**Better?** Yes: going from 2 to 16 dimensions lowers the test loss by 24.5 nats.",
                                  "The reason is in the two terms. Reconstruction falls while the KL rises."]
    # A list is shown whole (every point of a sweep), never cut at an arbitrary count.
    md = "**The sweep.** We trained z of dimension 2, 10 and 100.\n\n- z = 2: FID 191.\n- z = 10: FID 183.\n- z = 100: FID 180.\n"
    assert talking_points(md) == ["**The sweep.** We trained z of dimension 2, 10 and 100.",
                                  "z = 2: FID 191.", "z = 10: FID 183.", "z = 100: FID 180."]
    # A list too long for one slide is skipped rather than cut; the next paragraph speaks instead.
    md = "Layers:\n\n" + "".join(f"- layer {i} does a thing.\n" for i in range(6)) + \
         "\nThe encoder ends in two linear heads for the mean and the log-variance. Both have two outputs each here."
    assert talking_points(md) == ["The encoder ends in two linear heads for the mean and the log-variance.",
                                  "Both have two outputs each here."]
    assert talking_points(None) == []


# ---------------------------------------------------------------- one slide, one screen
@pytest.mark.parametrize("width,height", PROJECTORS)
def test_a_slide_fits_the_projector_without_scrolling(served, browser, tmp_path, width, height):
    page = open_deck(browser, served[1], width, height)
    try:
        jump_to(page, "1.1e")  # a trained item: title, numbers, points and its learning curves
        page.wait_for_timeout(300)
        for part in (f"{SHOWN} h2", f"{SHOWN} .slide-fig img", f"{SHOWN} .metrics", "#deck .nav-prev",
                     "#deck .nav-next", "#deck .pt-clock"):
            assert inside(page, part, width, height), (part, page.locator(part).first.bounding_box())
        text = page.locator(f"{SHOWN} .slide-text")
        assert text.evaluate("el => el.scrollHeight <= el.clientHeight + 1"), "the talking points overflow the slide"
        assert page.evaluate("window.scrollY") == 0
        img = page.locator(f"{SHOWN} .slide-fig img").bounding_box()
        assert img["width"] * img["height"] > 0.2 * width * height  # the figure takes a large share of the screen
        page.screenshot(path=str(shots_dir(tmp_path) / f"deck-1.1e-{width}x{height}.png"))
    finally:
        page.close()


def test_keys_step_jump_and_never_wrap(served, browser):
    page = open_deck(browser, served[1], 1280, 720)
    try:
        page.locator("#deck .deck-count").click()
        page.keyboard.press("Home")
        first = shown(page)
        page.keyboard.press("ArrowRight")
        second = shown(page)
        page.keyboard.press("PageDown")
        assert len({first, second, shown(page)}) == 3
        page.keyboard.press("PageUp")
        assert shown(page) == second
        page.keyboard.press("End")
        last = shown(page)
        page.keyboard.press("ArrowRight")
        assert shown(page) == last  # the last slide says so instead of wrapping to the first
        assert page.inner_text("#deck .deck-note") == "Es la última diapositiva: no hay más."
        page.keyboard.press("o")
        assert page.locator("#deck .deck-overview").is_visible()
        page.locator("#deck .ov-cell").nth(1).click()
        assert shown(page) == second and not page.locator("#deck .deck-overview").is_visible()
    finally:
        page.close()


def test_no_gradio_spinner_greys_the_deck_on_load_or_on_a_language_switch(served, browser):
    """After a page load the deck sat greyed 1-2 s under Gradio's progress overlay (issue 35, point 5)."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    greyed = "() => !!document.querySelector('#deck-host .pending, #deck-host .wrap.translucent:not(.hide)')"
    try:
        page.goto(served[1], wait_until="commit")
        seen = []
        for _ in range(40):  # the first four seconds, when the load event re-renders the deck
            seen.append(page.evaluate(greyed))
            page.wait_for_timeout(100)
        page.locator(SHOWN).wait_for(timeout=60000)
        page.locator("#lang input[value='en']").click()
        for _ in range(20):
            seen.append(page.evaluate(greyed))
            page.wait_for_timeout(100)
        assert not any(seen), f"greyed in {sum(seen)} of {len(seen)} samples"
    finally:
        page.close()


def test_a_re_rendered_deck_never_shows_an_empty_frame(served, browser):
    """The server renders every slide hidden; the page showed none for up to 250 ms after each
    re-render (a flash on the projector, and a CI failure when a check looked in between)."""
    page = open_deck(browser, served[1], 1280, 720)
    watch = f"""() => {{ window.emptyFrames = 0; window.frames_ = 0;
        const look = () => {{ window.frames_++;
            if (document.querySelector('#deck') && !document.querySelector('{SHOWN}')) window.emptyFrames++;
            requestAnimationFrame(look); }};
        requestAnimationFrame(look); }}"""
    try:
        page.evaluate(watch)
        for lang in ("en", "es"):
            page.locator(f"#lang input[value='{lang}']").click()
            page.wait_for_function(f"document.querySelector('#deck').dataset.lang === '{lang}'", timeout=30000)
            page.wait_for_timeout(500)
        frames, empty = page.evaluate("[window.frames_, window.emptyFrames]")
        assert frames > 20, "the browser drew frames while the deck re-rendered"
        assert empty == 0, f"{empty} of {frames} frames showed the deck with no slide"
    finally:
        page.close()


def test_after_a_click_on_the_language_radio_the_arrows_still_step_the_slides(served, browser):
    """The focused radio took ← → for itself: nothing moved, or the language switched."""
    page = open_deck(browser, served[1], 1280, 720)
    try:
        page.locator("#deck .deck-count").click()
        page.keyboard.press("Home")
        first = shown(page)
        page.locator("#lang input[value='es']").click()
        page.keyboard.press("ArrowRight")
        assert shown(page) != first
        page.keyboard.press("ArrowLeft")
        assert shown(page) == first
        assert page.locator("#lang input[value='es']").is_checked()  # still Spanish
    finally:
        page.close()


# ---------------------------------------------------------------- state across reload and language
def test_timer_slide_and_presenter_survive_reload_and_language_switch(served, browser):
    page = open_deck(browser, served[1], 1280, 720)
    try:
        assert page.locator("#deck .pt-pace").is_hidden()  # no pace verdict before the talk starts
        jump_to(page, "1.1e")
        page.click("#deck [data-act=start]")
        page.click("#deck [data-act=draw]")
        who = page.inner_text("#deck .presenter .who")
        assert who in ("Ana", "Beto")
        page.wait_for_function("document.querySelector('#deck .pt-clock').textContent < '19:59'", timeout=5000)
        assert page.locator("#deck .pt-pace").is_visible()

        page.reload(wait_until="load")
        page.locator(SHOWN).wait_for(timeout=60000)
        assert shown(page) == "1.1e"
        assert page.inner_text("#deck .presenter .who") == who
        before = page.inner_text("#deck .pt-clock")
        assert before < "19:59"
        page.wait_for_timeout(1300)
        assert page.inner_text("#deck .pt-clock") < before  # still running after the reload

        page.get_by_label("en").check()
        page.wait_for_function("document.querySelector('#deck').dataset.lang === 'en'", timeout=30000)
        page.wait_for_timeout(400)
        assert shown(page) == "1.1e" and page.inner_text("#deck .presenter .who") == who
        page.click("#deck [data-act=pause]")
        paused = page.inner_text("#deck .pt-clock")
        page.wait_for_timeout(1200)
        assert page.inner_text("#deck .pt-clock") == paused
    finally:
        page.close()


def test_overtime_counts_on_in_red(served, browser):
    page = open_deck(browser, served[1], 1024, 768)
    try:
        # Ten seconds past the end, as the talk's state (the server's, shared by its windows) holds it
        # after a long talk.
        set_talk(page, {"timer": "{left: -10, running: true, started: true, at: Date.now()}"})
        page.reload(wait_until="load")
        page.locator(SHOWN).wait_for(timeout=60000)
        page.wait_for_timeout(600)
        clock = page.locator("#deck .pt-clock")
        assert clock.inner_text().startswith("+00:1")
        assert clock.evaluate("el => getComputedStyle(el).color") == "rgb(220, 38, 38)"
        # the pace verdict no longer says "on pace" once the talk's time is spent
        pace = page.locator("#deck .pt-pace")
        assert pace.is_visible() and pace.inner_text() == "Tiempo cumplido: cierren ahora"
    finally:
        set_talk(page, {"timer": "null"})  # the next test's talk starts at 20:00
        page.close()


def set_talk(page, change: dict[str, str]) -> None:
    """Change the talk's state as a window does (values are JavaScript expressions)."""
    body = "{" + ", ".join(f"{k}: {v}" for k, v in change.items()) + "}"
    page.evaluate(f"""fetch(window.gradio_config.root.replace(/\\/$/, '') + '/gradio_api/run/talk',
        {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
          body: JSON.stringify({{data: [JSON.stringify({body}), '']}})}}).then(r => {{ if (!r.ok) throw new Error('talk: ' + r.status); }})""")


def test_two_windows_of_the_talk_show_the_same_slide_timer_and_presenter(served, browser):
    """A second window started at slide 1, 20:00, no presenter (issue 35, point 1): now every window
    of the talk follows the server's state within the poll (150 ms) and a new window joins it."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    a, b = context.new_page(), context.new_page()
    try:
        for page in (a, b):
            page.goto(served[1], wait_until="load")
            page.locator(SHOWN).wait_for(timeout=60000)
        jump_to(a, "1.1e")
        b.wait_for_function(f"document.querySelector('{SHOWN}').dataset.item === '1.1e'", timeout=1000)
        a.locator("#deck .deck-count").click()
        a.keyboard.press("ArrowRight")
        moved = shown(a)
        b.wait_for_function(f"document.querySelector('{SHOWN}').dataset.item === '{moved}'", timeout=1000)
        a.click("#deck [data-act=start]")
        b.wait_for_function("document.querySelector('#deck .pt-timer').classList.contains('pt-running')", timeout=1000)
        b.click("#deck [data-act=draw]")
        who = b.inner_text("#deck .presenter .who")
        a.wait_for_function(f"document.querySelector('#deck .presenter .who').textContent === {who!r}", timeout=1000)
        c = context.new_page()  # a window opened later joins the talk where it is
        c.goto(served[1], wait_until="load")
        c.wait_for_function(f"document.querySelector('{SHOWN}') && document.querySelector('{SHOWN}').dataset.item === '{moved}'",
                            timeout=60000)
        assert c.inner_text("#deck .presenter .who") == who
        c.wait_for_function("document.querySelector('#deck .pt-timer').classList.contains('pt-running')", timeout=1000)
    finally:
        set_talk(a, {"timer": "null", "slide": "'1.1a'"})
        context.close()


# ---------------------------------------------------------------- team and course
def test_serve_config_puts_its_team_into_the_run(reports, tmp_path):
    from harness.panel.state import Panel

    root = tmp_path / "reports"
    shutil.copytree(reports / RUN, root / RUN, symlinks=True)
    team = tmp_path / "team.toml"
    team.write_text('[team]\nmembers = ["Carla", "Diego"]\n\n[talk]\nminutes = 10.0\n', encoding="utf-8")
    panel = Panel(root, RUN, settings_file=team)
    assert panel.members() == ["Carla", "Diego"]
    assert panel.talk_seconds() == 600  # the talk's length and its plan come from the same file
    plan = panel.pace_plan("es")
    assert plan[0] == {"key": "vae", "label": "VAE", "end": 270} and plan[-1]["end"] == 600
    manifest = json.loads((root / RUN / "manifest.json").read_text())
    assert manifest["config"]["team"]["members"] == ["Carla", "Diego"]  # the report reads it from here
    assert manifest["config"]["course"]["professor"] == "Prof. Prueba"  # the run's course is kept
    assert Panel(root, RUN).members() == ["Carla", "Diego"]  # and the next serve, without --config, too


def test_items_tab_names_metrics_for_humans(served):
    from harness.panel.views import item_detail_html

    panel = served[0].panel
    for lang, label in (("es", "ELBO negativo en test"), ("en", "Test negative ELBO")):
        html = item_detail_html(panel, lang, "1.1e")
        assert label in html and "nats" in html
        assert "test_neg_elbo" not in html and "test_nll_iwae" not in html  # internal keys never shown


def test_an_explorer_without_its_model_names_the_item_to_rerun(reports, tmp_path):
    from harness.panel.state import Panel
    from harness.panel.views import explorer_message

    root = tmp_path / "reports"
    shutil.copytree(reports / RUN, root / RUN, symlinks=True)
    models = list((root / RUN / "items" / "1.1e").rglob("*.keras"))
    assert models, "1.1e saves its VAE"
    for model in models:
        model.unlink()  # a run folder copied without its models
    panel = Panel(root, RUN)
    with pytest.raises(Exception) as caught:
        panel.vae.ensure()
    es = explorer_message(panel, "es", panel.vae, caught.value)
    en = explorer_message(panel, "en", panel.vae, caught.value)
    assert "1.1e" in es and "«Ejecutar 1.1e»" in es and "Traceback" not in es and "model" not in es.replace("modelo", "")
    assert "1.1e" in en and "“Run 1.1e”" in en


def test_an_architecture_slide_shows_its_layer_table_instead_of_an_unreadable_diagram(tmp_path):
    from harness.panel.deck import LAYER_COLUMNS, _layer_table_html, layer_table
    from harness.report.content import Figure, ItemView, Table, strings

    layers = Table(1, "encoder_layers", "El encoder capa por capa",
                   ["capa", "tipo", "forma de salida", "parámetros", "activación"],
                   [["conv_1", "Conv2D", "(None, 28, 28, 32)", 320, "relu"]], detail=True)
    it = ItemView("1.1a", "Encoder", "", "1.1", "ok", None, "c", tables=[layers])
    diagram = Figure(1, tmp_path / "encoder_graph.es.png", "x", "", "encoder_graph")
    curves = Figure(2, tmp_path / "curves.es.png", "x", "", "curves")
    assert layer_table(it, diagram) is layers and layer_table(it, curves) is None
    html = _layer_table_html(strings("es"), "es", layers)
    assert html.count("<th>") == LAYER_COLUMNS and "activación" not in html
    assert "(28, 28, 32)" in html and "None" not in html  # the batch dimension is noise to a listener
    assert "Tabla 1. El encoder capa por capa" in html


def test_the_items_tab_follows_the_language_switch(served, browser):
    page = open_deck(browser, served[1], 1280, 720)
    try:
        page.get_by_label("en").check()
        page.wait_for_function("document.querySelector('#deck').dataset.lang === 'en'", timeout=30000)
        page.get_by_role("tab", name="Items").click()
        # the labels change in one event after the switch: wait for each, then no Spanish one is left
        page.get_by_role("button", name="Run", exact=True).wait_for(timeout=30000)
        page.get_by_text("Recompute even if cached").wait_for(timeout=30000)
        page.get_by_label("Log", exact=True).wait_for(timeout=30000)
        assert page.get_by_role("button", name="Ejecutar", exact=True).count() == 0
        assert page.get_by_text("Recalcular aunque esté en caché").count() == 0
    finally:
        page.close()


def test_the_audience_view_is_the_slide_alone_and_follows_the_presenters_window(served, browser):
    """`?view=audience`, the projector's window: the slide over the whole window, no timer, name or
    buttons, moved by the presenter's window (issue 35, point 1)."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    presenter, audience = context.new_page(), context.new_page()
    try:
        presenter.goto(served[1], wait_until="load")
        presenter.locator(SHOWN).wait_for(timeout=60000)
        audience.goto(served[1] + "?view=audience", wait_until="load")
        audience.locator(SHOWN).wait_for(timeout=60000)
        box = audience.locator("#deck").bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 1024, 768), box
        assert audience.locator("#deck .deck-bar").is_hidden() and audience.locator("#deck .deck-nav").is_hidden()
        assert presenter.locator("#deck .deck-bar").is_visible()  # the presenter keeps the timer and buttons
        jump_to(presenter, "1.2c")
        audience.wait_for_function(f"document.querySelector('{SHOWN}').dataset.item === '1.2c'", timeout=1000)
        slide = audience.locator(SHOWN).bounding_box()
        assert slide["width"] > 900 and slide["height"] > 600, slide  # the slide fills the projector
    finally:
        set_talk(presenter, {"slide": "'1.1a'"})
        context.close()


def test_the_presenter_view_shows_the_next_slide_the_notes_and_cancels_the_talks_job(served, browser, tmp_path):
    """`?view=presenter`, the laptop's window: the slide, the next one, the notes of the slide on
    screen, the timer and the talk's job with a Cancel that works from this window (issue 35, 1-2)."""
    app = served[0]
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    pres, audience = context.new_page(), context.new_page()
    try:
        pres.goto(served[1] + "?view=presenter", wait_until="load")
        pres.locator(SHOWN).wait_for(timeout=60000)
        audience.goto(served[1] + "?view=audience", wait_until="load")
        audience.locator(SHOWN).wait_for(timeout=60000)
        assert pres.locator("#deck .deck-side").is_visible() and audience.locator("#deck .deck-side").is_hidden()
        assert pres.locator("#deck .pt-clock").is_visible()  # the timer bar stays with the presenter
        ids = [el.get_attribute("data-item") for el in pres.locator("#deck .slide").all()]
        jump_to(pres, "1.1e")
        audience.wait_for_function(f"document.querySelector('{SHOWN}')?.dataset.item === '1.1e'", timeout=1000)
        nxt = ids[ids.index("1.1e") + 1]
        want = pres.locator(f"#deck .slide[data-item='{nxt}'] h2").text_content()
        assert pres.locator("#deck .side-next-body h2").text_content() == want
        notes = pres.locator("#deck .side-notes:not([hidden])")
        assert notes.count() == 1 and notes.get_attribute("data-item") == "1.1e"
        parts = slide_parts(app.panel, "es", app.panel.view("es").item("1.1e"))
        assert parts["notes"] and not set(parts["notes"]) & set(parts["points"])  # beyond the slide, never a repeat
        assert notes.locator("li").count() == len(parts["notes"])
        # A job started from another window belongs to the talk: the presenter sees it and cancels it.
        job = app.panel.submit(["1.1e"], force=True)
        pres.wait_for_function(f"document.querySelector('#deck .side-job-line').textContent.includes('#{job.id} 1.1e')",
                               timeout=5000)
        assert pres.locator("#deck [data-act=cancel]").is_enabled()
        pres.screenshot(path=str(shots_dir(tmp_path) / "presenter-view-1024x768.png"))
        audience.screenshot(path=str(shots_dir(tmp_path) / "audience-view-1024x768.png"))
        for sel in ("#deck .deck-nav .nav-next", "#deck .side-job button"):  # nothing drawn over another
            assert inside(pres, sel, 1024, 768), sel
        nav, side = pres.locator("#deck .deck-nav").bounding_box(), pres.locator("#deck .deck-side").bounding_box()
        assert side["y"] + side["height"] <= nav["y"] + 0.5, (side, nav)
        jump_to(pres, ids[-1])
        assert pres.locator("#deck .side-next-body").text_content() == "Última diapositiva: después, preguntas."
        pres.click("#deck [data-act=cancel]")
        pres.wait_for_function("document.querySelector('#deck .side-job-said').textContent.length > 0", timeout=5000)
        assert wait_for(job, 180).state == "cancelled"
        pres.wait_for_function("document.querySelector('#deck [data-act=cancel]').disabled", timeout=5000)
        assert app.panel.store.load_result("1.1e").ok  # the cancel kept the last good result
    finally:
        set_talk(pres, {"slide": "'1.1a'"})
        context.close()
