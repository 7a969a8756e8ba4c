"""Readable from the back row, light or dark, and explorers that explain themselves: the panel in
Chromium as a projector shows it. Screenshots go to $PANEL_SCREENSHOTS when set.
"""
from __future__ import annotations

import json
import shutil

import pytest

from harness.figure_screen import screens_from_source, screens_of
from harness.panel.deck import slide_parts
from harness.report.content import Table, format_value
from tests.panel.conftest import RUN, free_port
from tests.panel.test_deck import SHOWN, jump_to, open_deck, shots_dir

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
TOAST = ".toast-body"
# WCAG relative luminance and contrast of two computed CSS colours; the background is the first
# ancestor with an opaque one (a transparent box shows its parent's).
CONTRAST_JS = """el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  let bg = null;
  for (let n = el; n && !bg; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length < 4 || c[3] > 0.9) bg = c;
  }
  if (!bg) bg = [255, 255, 255];
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def text_px_in_png(panel, item_id: str, lang: str) -> float:
    """The height of the smallest text in the PNG the slide shows: the screen rendering's (drawn by the
    item, or by the panel from the saved figure), else the report's PNG's, as the item recorded it."""
    it = panel.view(lang).item(item_id)
    name = slide_parts(panel, lang, it)["figure"].name
    entry = next(f for f in panel.store.load_result(item_id, verify=False).figures if f["name"] == name)
    screens = screens_of(entry, panel.store.item_dir(item_id), lang)
    return screens["screen_text_px"] if screens["screen"] is not None else entry["text_px"][lang]


# ---------------------------------------------------------------- figures and tables
def test_slide_figure_text_is_14_px_at_1280x720(served, browser, tmp_path):
    panel = served[0].panel
    page = open_deck(browser, served[1], 1280, 720)
    try:
        checked = 0
        for slide in page.locator("#deck .slide").all():
            item = slide.get_attribute("data-item")
            if not slide.locator(".slide-fig img").count():
                continue
            jump_to(page, item)
            page.wait_for_timeout(300)
            img = page.locator(f"{SHOWN} .slide-fig img")
            size = img.evaluate("""i => { const r = i.getBoundingClientRect();
                                         return [i.naturalWidth, i.naturalHeight, r.width, r.height]; }""")
            nw, nh, bw, bh = size
            scale = min(bw / nw, bh / nh)  # object-fit: contain
            shown = text_px_in_png(panel, item, "es") * scale
            assert shown >= 14, f"{item}: smallest figure text {shown:.1f} px at 1280×720"
            checked += 1
        assert checked, "the test run has a slide with a figure"
        page.screenshot(path=str(shots_dir(tmp_path) / "figure-text-1280x720.png"))
    finally:
        page.close()


def test_the_report_keeps_its_own_figure(served):
    """The slide's rendering is a second file: the report's PNG and its size stay as drawn."""
    panel = served[0].panel
    fig = slide_parts(panel, "es", panel.view("es").item("1.1e"))["figure"]
    # The item saved the figure for the slides; the panel draws the rendering into its own cache.
    assert fig.screen is None and fig.slide_source is not None and fig.file.name.endswith(".es.png")
    before = fig.file.read_bytes()
    drawn = screens_from_source(fig.slide_source, fig.file, 110, False)
    assert drawn["screen"] is not None and drawn["screen"].parent != fig.file.parent
    assert fig.file.read_bytes() == before


def test_full_screen_fills_the_screen(served, browser):
    page = open_deck(browser, served[1], 1280, 720)
    try:
        jump_to(page, "1.1e")
        before = page.locator(f"{SHOWN} .slide-fig img").bounding_box()
        page.keyboard.press("f")
        page.wait_for_function("document.fullscreenElement && document.fullscreenElement.id === 'deck'", timeout=5000)
        page.wait_for_timeout(400)
        deck = page.locator("#deck").bounding_box()
        screen = page.evaluate("[window.innerWidth, window.innerHeight]")
        assert deck["x"] == 0 and deck["y"] == 0
        assert abs(deck["width"] - screen[0]) <= 1 and abs(deck["height"] - screen[1]) <= 1
        after = page.locator(f"{SHOWN} .slide-fig img").bounding_box()
        assert after["height"] > before["height"]  # the page header's room goes to the figure
        page.keyboard.press("ArrowRight")  # the keys still drive the deck in full screen
        assert page.locator(SHOWN).get_attribute("data-item") != "1.1e"
        page.keyboard.press("f")
        page.wait_for_function("!document.fullscreenElement", timeout=5000)
    finally:
        page.close()


def test_tables_use_the_language_and_never_show_minus_zero():
    from harness.panel.views import table_html

    assert format_value(-0.0, "es") == "0,000" and format_value(-0.0, "en") == "0.000"
    table = Table(1, "t", "FID", ["modelo", "FID"], [["VAE", -0.0], ["GAN", 1234.5]])
    html = table_html({"table": "Tabla"}, table, "es")
    assert "-0" not in html and "0,000" in html and "1234.5" not in html


def test_tables_are_at_least_16_px(served, browser):
    page = open_deck(browser, served[1], 1280, 720)
    try:
        # A detail table as the Items and Comparación tabs render it, styled by the panel's CSS.
        size = page.evaluate("""() => { const d = document.createElement('div'); d.className = 'item-detail';
            d.innerHTML = '<table><tr><td>FID</td><td>59,43</td></tr></table>'; document.body.appendChild(d);
            return parseFloat(getComputedStyle(d.querySelector('td')).fontSize); }""")
        assert size >= 16
    finally:
        page.close()


# ---------------------------------------------------------------- light and dark
@pytest.mark.parametrize("width,height", [(1024, 768), (1920, 1080)])
def test_light_dark_toggle_persists_and_reads_both_ways(served, browser, tmp_path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(served[1] + "?__theme=light", wait_until="load")
        page.locator(SHOWN).wait_for(timeout=60000)
        jump_to(page, "1.1e")
        page.click("#deck [data-act=draw]")
        toggle = page.locator("#theme-toggle")
        for dark in (False, True):
            if dark:
                toggle.click()
                page.wait_for_function("document.body.classList.contains('dark')", timeout=5000)
            page.wait_for_timeout(300)
            assert page.evaluate("document.body.classList.contains('dark')") is dark
            for part in ("#deck .presenter .who", f"{SHOWN} .metric .v", f"{SHOWN} h2", f"{SHOWN} .points",
                         "#deck .deck-count", "#theme-toggle"):
                ratio = page.locator(part).first.evaluate(CONTRAST_JS)
                assert ratio >= 4.5, (part, "dark" if dark else "light", round(ratio, 2))
            page.screenshot(path=str(shots_dir(tmp_path) / f"deck-{'dark' if dark else 'light'}-{width}x{height}.png"))
        page.reload(wait_until="load")
        page.locator(SHOWN).wait_for(timeout=60000)
        page.wait_for_timeout(500)
        assert page.evaluate("document.body.classList.contains('dark')")  # kept for this browser tab
        assert page.inner_text("#deck .presenter .who") in ("Ana", "Beto")
    finally:
        page.close()


# ---------------------------------------------------------------- explorers
def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_vae_pair_by_digit_class_and_inline_refusal(served, browser):
    vae = served[0].panel.vae
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(served[1], wait_until="load")
        open_tab(page, "Explorador VAE")
        page.locator("#vae-digit img").wait_for(timeout=120000)
        page.locator("#vae-na input").fill("-1")
        page.click("#vae-interp")
        msg = page.locator("#vae-msg")
        page.wait_for_function("document.querySelector('#vae-msg').innerText.includes('⚠')", timeout=20000)
        count = vae.count(0)
        assert f"Hay {count} ejemplos del dígito 0" in msg.inner_text() and f"de 0 a {count - 1}" in msg.inner_text()
        assert page.locator(TOAST).count() == 0  # said inline, never a toast
        page.locator("#vae-na input").fill("2")
        page.click("#vae-interp")
        page.wait_for_function("!document.querySelector('#vae-msg').innerText.includes('⚠')", timeout=20000)
        assert page.locator(TOAST).count() == 0
    finally:
        page.close()
    # The strip's ends are the chosen test digits: the third 0 and the first 1 here.
    import numpy as np

    strip = vae.interpolate(vae.nth(0, 2), vae.nth(1, 0))
    assert vae.latents.labels[vae.nth(0, 2)] == 0 and vae.latents.labels[vae.nth(1, 0)] == 1
    assert strip.shape[1] > strip.shape[0] and np.asarray(strip).std() > 0


@pytest.fixture()
def bare_run(reports, tmp_path):
    """A copy of the test run without its saved models, as a run folder copied without them."""
    root = tmp_path / "reports"
    shutil.copytree(reports / RUN, root / RUN, symlinks=True)
    for model in (root / RUN / "items").rglob("*.keras"):
        model.unlink()
    return root


def test_explorers_without_models_name_the_item_and_queue_it(bare_run, browser):
    from harness.panel import app as panel_app

    app = panel_app.build_app(bare_run, RUN, lang="en")
    port = free_port()
    panel_app.launch(app, port=port, auth=("prof", "s3cret"), prevent_thread_lock=True, quiet=True)
    panel = app.panel
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
        page.get_by_text("Assignment 3 panel (INF-395): enter user and password.").wait_for(timeout=30000)
        page.locator("input[type=text]").first.fill("prof")
        page.locator("input[type=password]").fill("s3cret")
        page.keyboard.press("Enter")
        page.locator("#deck").wait_for(timeout=60000)
        open_tab(page, "GAN explorer")
        gan = page.locator("#gan-msg")
        want = "⚠ Item 1.2d has not run in this run yet: run it with the “Run 1.2d” button."
        page.wait_for_function("document.querySelector('#gan-msg').innerText.includes('1.2d')", timeout=60000)
        # Nothing else in the line, Gradio's "processing | 0.7s" included (the page's load events may still run).
        page.wait_for_function(f"document.querySelector('#gan-msg').innerText.trim() === {json.dumps(want)}", timeout=10000)
        assert "processing" not in gan.inner_text()
        open_tab(page, "VAE explorer")
        page.wait_for_function("document.querySelector('#vae-msg').innerText.includes('1.1e')", timeout=60000)
        assert "The model item 1.1e saved is missing" in page.inner_text("#vae-msg")
        button = page.locator("#vae-rerun")
        assert button.is_visible() and button.inner_text() == "Run 1.1e"
        button.click()
        page.wait_for_function("document.querySelector('#vae-msg').innerText.includes('queued')", timeout=20000)
        job = panel.jobs.last()
        assert job.items == ["1.1e"] and job.force  # through the panel's own queue, recomputing the item
        assert page.locator(TOAST).count() == 0
    finally:
        page.close()
        panel.jobs.cancel()
        panel.jobs.wait_idle(180)
        app.close()


def test_login_page_speaks_the_serve_language(reports, browser):
    from harness.panel import app as panel_app

    app = panel_app.build_app(reports, RUN, lang="es")
    port = free_port()
    panel_app.launch(app, port=port, auth=("prof", "s3cret"), prevent_thread_lock=True, quiet=True)
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
        page.get_by_text("Panel de la Tarea 3 (INF-395): ingresa usuario y contraseña.").wait_for(timeout=30000)
        assert "enter user and password" not in page.inner_text("body")
    finally:
        page.close()
        app.close()


# ---------------------------------------------------------------- large viewports
SHOWN_IMG = """i => { const r = i.getBoundingClientRect();
                       return {nw: i.naturalWidth, nh: i.naturalHeight, bw: r.width, bh: r.height, top: r.top,
                               bottom: r.bottom, right: r.right, src: i.currentSrc, small: i.getAttribute('src'),
                               large: (i.parentElement.querySelector('source') || {}).srcset || null}; }"""


def figure_entry(panel, item_id: str) -> dict:
    name = slide_parts(panel, "es", panel.view("es").item(item_id))["figure"].name
    return next(f for f in panel.store.load_result(item_id, verify=False).figures if f["name"] == name)


@pytest.mark.parametrize("item", ["1.1e", "1.2c"])
@pytest.mark.parametrize("width,height", [(1920, 1080), (1600, 900), (1280, 720)])
def test_each_viewport_gets_the_rendering_drawn_for_its_box(served, browser, tmp_path, item, width, height):
    """1920 × 1080 and 1600 × 900 show the rendering drawn for the large boxes, 1280 × 720 the one for
    its own. Criterion for a figure that fills its box: the picture, scaled to fit (object-fit: contain),
    spans at least 95 % of its box's width or height, covers at least 18 % of the screen (a wide strip
    under the talking points at 1280 × 720 covers about a fifth), and lies inside the viewport; its smallest text
    is 14 px or more, and at 1920 no more than 26 px (the 1280 rendering showed 29.5 px there: text
    huge, plots short)."""
    panel = served[0].panel
    page = open_deck(browser, served[1], width, height)
    theme = "dark" if width == 1600 else "light"
    try:
        if theme == "dark":
            page.click("#theme-toggle")
        jump_to(page, item)
        page.wait_for_timeout(400)
        img = page.locator(f"{SHOWN} .slide-fig img").evaluate(SHOWN_IMG)
        entry = figure_entry(panel, item)
        large = width >= 1600
        assert img["large"] is not None and img["src"] == (img["large"] if large else img["small"]), (width, img["src"][:40])
        scale = min(img["bw"] / img["nw"], img["bh"] / img["nh"])
        screens = screens_of(entry, panel.store.item_dir(item), "es")
        text = screens["screen_large_text_px" if large else "screen_text_px"] * scale
        assert text >= 14, f"{item} at {width}×{height}: smallest text {text:.1f} px"
        if width == 1920:
            assert text <= 26, f"{item} at 1920×1080: text {text:.1f} px, drawn for a smaller box"
        shown_w, shown_h = img["nw"] * scale, img["nh"] * scale
        assert max(shown_w / img["bw"], shown_h / img["bh"]) >= 0.95
        assert shown_w * shown_h >= 0.18 * width * height, (shown_w, shown_h)
        assert img["top"] >= 0 and img["bottom"] <= height and img["right"] <= width
        for part in (f"{SHOWN} h2", "#deck .nav-next", "#deck .pt-clock"):
            box = page.locator(part).first.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= height + 1, part
        page.screenshot(path=str(shots_dir(tmp_path) / f"slide-{item}-{width}x{height}-{theme}.png"))
    finally:
        page.close()
