"""`harness report --format slides`: slides.pdf, the talk's backup (a dead laptop, a room
without the panel): one 16:9 page per slide, the audience view's content in the language asked.

The pages are the panel's own slides (harness.panel.deck.slide_html: title, headline numbers,
talking points, the figure or layer table with its caption), laid out by WeasyPrint with a print
stylesheet instead of the browser's. A slide whose text would run past its page gets a smaller
font, step by step, down to a floor; the page never spills onto a second one, so page n is slide n.
Figures travel as data URIs: nothing is fetched, no machine path is written.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from harness.errors import HarnessError
from harness.panel.deck import slide_html
from harness.panel.state import Panel, esc
from harness.run.store import atomic_write_bytes

# 16:9 at 254 mm wide (10 in): the size presentation software exports.
PAGE_W_MM, PAGE_H_MM = 254.0, 142.875
# Body text from this size down to the floor, 1 pt a step, until the slide's text fits its page.
START_PT, FLOOR_PT = 14, 8

CSS = f"""
@page {{ size: {PAGE_W_MM}mm {PAGE_H_MM}mm; margin: 7mm 9mm; }}
html {{ font-family: "DejaVu Sans", sans-serif; color: #111; }}
body {{ margin: 0; }}
section.slide {{ min-height: {PAGE_H_MM - 14.5}mm; display: flex; flex-direction: row; gap: 6mm;
                 break-before: page; }}
section.slide:first-child {{ break-before: auto; }}
section.slide.wide {{ flex-direction: column; gap: 2mm; }}
.slide-text {{ flex: 0 0 42%; width: 42%; line-height: 1.3; }}
section.slide.wide .slide-text {{ flex: 0 0 auto; width: 100%; }}
section.slide.no-fig .slide-text {{ flex: 0 0 100%; width: 100%; }}
.slide-top {{ display: flex; justify-content: space-between; font-size: 0.72em; color: #555; }}
.slide-top span {{ display: block; }}
h2 {{ font-size: 1.45em; margin: 0.15em 0 0.35em 0; line-height: 1.15; }}
.metrics {{ display: flex; gap: 0.5em; margin-bottom: 0.45em; }}
.metric {{ border: 0.3mm solid #ccc; border-radius: 1.5mm; padding: 0.15em 0.5em; }}
.metric .v {{ font-size: 1.25em; font-weight: bold; color: #b93e0a; }}
.metric .v small {{ font-size: 0.65em; }}
.metric .n {{ font-size: 0.72em; }}
ul.points {{ margin: 0; padding-left: 1.1em; }}
ul.points li {{ margin-bottom: 0.35em; }}
code {{ font-family: "DejaVu Sans Mono", monospace; font-size: 0.88em; }}
.missing {{ border-left: 1.2mm solid #e69500; padding: 0.3em 0.6em; background: #fdf1dc; }}
.slide-fig {{ flex: 0 0 55%; width: 55%; margin: 0; }}
section.slide.wide .slide-fig {{ flex: 0 0 auto; width: 100%; }}
.slide-fig img {{ display: block; width: 100%; max-height: {PAGE_H_MM - 34}mm; object-fit: contain; }}
section.slide.wide .slide-fig img {{ max-height: 62mm; }}
.slide-fig figcaption {{ font-size: 9pt; line-height: 1.25; color: #333; margin-top: 1.5mm; }}
.slide-layers table {{ border-collapse: collapse; font-size: 10pt; width: 100%; }}
.slide-layers th, .slide-layers td {{ padding: 0.1em 0.4em; border-bottom: 0.2mm solid #ccc; text-align: left; }}
.slide-layers td.num {{ text-align: right; }}
"""


def _sections(panel: Panel, lang: str) -> list[tuple[str, str]]:
    """(item id, the slide's HTML shown) for every slide of the run, in the deck's order."""
    items = panel.slides(lang)
    if not items:
        raise HarnessError(f"run '{panel.store.run_id}' has no slides yet: run the items first (harness run --profile quick)")
    out = []
    for n, it in enumerate(items):
        html = slide_html(panel, lang, n, len(items), it).replace(" hidden>", ">", 1)
        # The browser picks the larger rendering by media query; print takes the one in <img>.
        html = re.sub(r"<source [^>]*>", "", html)
        out.append((it.id, html))
    return out


def _document(lang: str, sections: list[str], sizes: list[int]) -> str:
    body = "".join(html.replace("<section ", f"<section style='font-size:{pt}pt' ", 1) for html, pt in zip(sections, sizes))
    return f"<!doctype html><html lang='{esc(lang)}'><head><meta charset='utf-8'><style>{CSS}</style></head><body>{body}</body></html>"


def _overflowing(document) -> set[int]:
    """The slides (by their data-n) whose content runs past their page: laid out over two pages, or
    with a line of text below the slide's box (cut by overflow: hidden)."""
    pages: dict[int, int] = {}
    over: set[int] = set()
    for page in document.pages:
        slide = _find(page._page_box, "section")
        if slide is None:
            continue
        n = int(slide.element.get("data-n"))
        pages[n] = pages.get(n, 0) + 1
        text = _find(slide, "div", "slide-text")
        # Lines, not blocks: a block's box may be stretched to its container (flex) past its last line.
        bottom = max((b.position_y + b.height for b in _descendants(text) if type(b).__name__ == "LineBox"),
                     default=0) if text is not None else 0
        if bottom > slide.position_y + slide.height + 0.5:
            over.add(n)
    return over | {n for n, count in pages.items() if count > 1}


def _descendants(box):
    for child in getattr(box, "children", []) or []:
        yield child
        yield from _descendants(child)


def _find(box, tag: str, cls: str | None = None):
    for b in _descendants(box):
        el = getattr(b, "element", None)
        if el is not None and el.tag == tag and (cls is None or cls in (el.get("class") or "").split()):
            return b
    return None


def write_slides_pdf(panel: Panel, lang: str, out: Path) -> tuple[Path, int]:
    """Write the deck as a PDF at `out`; returns the path and its page count (= the slide count)."""
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    ids, sections = zip(*_sections(panel, lang))
    sizes = [START_PT] * len(sections)
    while True:
        document = HTML(string=_document(lang, list(sections), sizes)).render()
        shrink = [n for n in sorted(_overflowing(document)) if sizes[n] > FLOOR_PT]
        if not shrink:
            break
        for n in shrink:
            sizes[n] -= 1
    if len(document.pages) != len(sections):
        raise HarnessError(f"slides.pdf: {len(sections)} slides laid out on {len(document.pages)} pages; "
                           "report this run's id to the harness's maintainers")
    atomic_write_bytes(out, document.write_pdf())
    return out, len(sections)


def slides_name(lang: str) -> str:
    """Spanish gets the plain name, like the report; English a .en suffix."""
    return "slides.pdf" if lang == "es" else f"slides.{lang}.pdf"


def write_slides(store, registry, langs, folder: Path) -> list[tuple[Path, int]]:
    """`harness report --format slides`: each language's slides.pdf in `folder`."""
    panel = Panel(store.root, store.run_id, registry)
    return [write_slides_pdf(panel, lang, Path(folder) / slides_name(lang)) for lang in langs]
