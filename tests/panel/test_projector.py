"""Readable from the back row (issue 35, point 3): every slide of a run of all 20 items, in the
projector's window (?view=audience), at 1024×768, 1280×720 and 1920×1080: body text ≥ 18 px,
headline labels ≥ 14 px, captions ≥ 14 px and growing with the screen, nothing cut. A slide too
long for 18 px shows its last points on the presenter's window only, each point whole."""
from __future__ import annotations

import pytest

from tests.panel.conftest import free_port
from tests.panel.test_deck import PROJECTORS, SHOWN, shots_dir

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

MEASURE = """() => {
  const s = document.querySelector('#deck .slide:not([hidden])');
  const px = el => parseFloat(getComputedStyle(el).fontSize);
  const min = els => els.length ? Math.min(...els.map(px)) : null;
  const text = s.querySelector('.slide-text'), cap = s.querySelector('figcaption');
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {item: s.dataset.item, body: min([...s.querySelectorAll('.slide-text li:not([hidden]), .slide-text p')]),
          label: min([...s.querySelectorAll('.metric .n')]), caption: cap ? px(cap) : null,
          text_cut: text.scrollHeight > text.clientHeight + 1,
          caption_cut: cap ? cap.scrollHeight > cap.clientHeight + 1 : false,
          slide: box(s), caption_box: cap ? box(cap) : null,
          shown: s.querySelectorAll('ul.points > li:not([hidden])').length,
          points: s.querySelectorAll('ul.points > li').length};
}"""


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory, smoke_all):
    from harness.panel import app as panel_app
    from tests.conftest import SMOKE_RUN, smoke_copy

    store, _ = smoke_copy(tmp_path_factory, smoke_all, [])
    app = panel_app.build_app(store.root, SMOKE_RUN)
    port = free_port()
    panel_app.launch(app, port=port, prevent_thread_lock=True, quiet=True)
    yield app, f"http://127.0.0.1:{port}/"
    app.close()


def test_every_slide_reads_from_the_back_row_at_three_projector_sizes(whole_run, browser, tmp_path):
    app, url = whole_run
    captions = {}
    for width, height in PROJECTORS:
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            page.goto(url + "?view=audience", wait_until="load")
            page.locator(SHOWN).wait_for(timeout=120000)
            n = page.locator("#deck .slide").count()
            assert n == 20, n
            bad = []
            for i in range(n):
                page.evaluate(f"window.panelDeck.show({i})")
                page.wait_for_timeout(250)
                m = page.evaluate(MEASURE)
                if m["caption"] is not None:
                    captions.setdefault(m["item"], []).append(m["caption"])
                    inside = m["caption_box"][3] <= m["slide"][3] + 0.5 and m["caption_box"][2] <= width + 0.5
                else:
                    inside = True
                if (m["body"] or 99) < 18 or (m["label"] or 99) < 14 or (m["caption"] or 99) < 14 or m["text_cut"] \
                        or m["caption_cut"] or not inside or (m["points"] and m["shown"] < min(2, m["points"])):
                    bad.append(m)
            assert not bad, (width, height, bad)
            page.evaluate("window.panelDeck.show(4)")
            page.screenshot(path=str(shots_dir(tmp_path) / f"audience-{width}x{height}.png"))
        finally:
            page.close()
    # Captions grow with the screen: on the largest projector they are larger than on the smallest.
    assert all(sizes[-1] > sizes[0] for sizes in captions.values()), captions
