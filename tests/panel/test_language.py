"""One language at a time in the panel: every tab, as Chromium shows it, in the language the panel
was served in, with the browser set to the other one (Gradio follows the browser unless told).
Issue 31, parts 3 and 4: the visible text and the labels a pointer or a screen reader reads
(title, aria-label, placeholder, alt) have no word of the other language and no internal id.

By default the test panel's own run (1.1e and 1.2c); `PANEL_LANGUAGE_RUN=ROOT/RUN` points it
at a whole run (a fresh `quick` one) to read every item's slides, tables and explorers.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.panel.conftest import RUN, free_port
from tests.report.test_language import INTERNAL_ID, OTHER_WORDS, slips

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

BROWSER_LOCALE = {"es": "en-US", "en": "es-ES"}  # the other language's
# Gradio's own words, once seen in English on a Spanish panel (and their Spanish in an English one).
GRADIO_WORDS = {
    "es": ("fullscreen", "copy", "download", "reset", "thumbnail", "slider", "input", "empty", "value",
           "table", "actions", "clear", "loading", "dataframe", "ok", "eta", "batch", "step", "units", "filters",
           "linear", "of"),
    "en": ("pantalla", "completa", "descargar", "miniatura", "tabla", "valor", "cargando", "lotes", "pasos",
           "ítems", "verificaciones", "registro", "ejecutar", "cancelar"),
}
# What a person reads: the page's text without code (a command, a run's name, a layer's
# Keras name) and the labels of visible elements.
READ_JS = """() => {
  const hide = document.createElement('style');
  hide.textContent = 'code, pre { display: none !important; }';
  document.head.appendChild(hide);
  const text = document.body.innerText;  // laid out: one line per block, hidden slides left out
  hide.remove();
  const labels = [...document.querySelectorAll('[title],[aria-label],[placeholder],[alt]')]
    .filter(e => e.offsetParent !== null && !e.closest('code, pre'))
    .map(e => ['title', 'aria-label', 'placeholder', 'alt'].map(a => e.getAttribute(a)).filter(Boolean).join('\\n'));
  return text + '\\n' + labels.join('\\n');
}"""


def panel_slips(text: str, lang: str) -> list[str]:
    """The report's slips (tests/report/test_language.py) and Gradio's own words of the other language."""
    found = slips(text, lang)
    gradio = re.compile(r"\b(%s)\b" % "|".join(GRADIO_WORDS[lang]), re.I)
    for line in text.splitlines():
        words = {w.lower() for w in gradio.findall(line)}
        if words:
            found.append(f"{sorted(words)} in {line.strip()[:120]!r}")
    return found


def test_the_panel_words_are_caught_where_they_slipped_before():
    """The check can fail on what a Spanish panel once showed."""
    assert panel_slips("Copy table data", "es") and panel_slips("range slider for z1", "es")
    assert panel_slips("1.1e · entrenando · batch 3/40 · 8 % · ETA 0:12", "es")
    assert panel_slips("✓ encoder_layers_match_handout: Capa por capa", "es")
    assert panel_slips("eval.classifier", "es") and panel_slips("Pantalla completa", "en")
    assert not panel_slips("E1 · entrenando · lotes 3/40 · 8 % · faltan ≈ 0:12", "es")
    assert INTERNAL_ID.search("d_not_stuck_at_1")


@pytest.fixture(scope="module")
def language_run(reports) -> tuple[Path, str]:
    given = os.environ.get("PANEL_LANGUAGE_RUN")
    if given:
        path = Path(given)
        return path.parent, path.name
    return reports, RUN


def tab_texts(url: str, browser, lang: str) -> dict[str, str]:
    """Each tab's text as a person reads it, from a browser set to the other language."""
    page = browser.new_page(viewport={"width": 1280, "height": 720}, locale=BROWSER_LOCALE[lang])
    try:
        page.goto(url, wait_until="load")
        page.locator("#deck").wait_for(timeout=120_000)
        page.wait_for_function(f"document.documentElement.lang === {lang!r}", timeout=30_000)
        out = {}
        tabs = page.locator("#panel-tabs [role=tab]")
        for i in range(tabs.count()):
            tab = tabs.nth(i)
            name = tab.inner_text().strip()
            tab.click()
            page.wait_for_timeout(2500)  # the tab's first render and its load events
            out[name] = page.evaluate(READ_JS)
        # A value typed past a slider's end shows as that end, with no error toast.
        tabs.nth(2).click()
        box = page.locator("#vae-z1 input[type=number]")
        if box.is_visible():
            box.fill("99")
            box.press("Enter")
            page.wait_for_timeout(2000)
            out["range"] = page.evaluate(READ_JS)
            assert page.locator(".toast-body").count() == 0, page.inner_text(".toast-body")
            assert float(box.input_value()) < 99, box.input_value()
        return out
    finally:
        page.close()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_tab_reads_in_the_panel_language_whatever_the_browser(language_run, browser, lang):
    from harness.panel import app as panel_app

    root, run_id = language_run
    app = panel_app.build_app(root, run_id, lang=lang)
    port = free_port()
    panel_app.launch(app, port=port, prevent_thread_lock=True, quiet=True)
    try:
        texts = tab_texts(f"http://127.0.0.1:{port}/", browser, lang)
    finally:
        app.close()
    assert len(texts) >= 6, list(texts)
    found = [f"{tab}: {slip}" for tab, text in texts.items() for slip in panel_slips(text, lang)]
    assert not found, "\n".join(found)
