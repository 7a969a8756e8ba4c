"""slides.pdf, the talk's backup (issue 35, point 6): `harness report --format slides` writes one
16:9 page per slide of the panel, in the language asked, every slide's text whole on its page."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from harness.panel.deck import slide_parts
from harness.panel.slides_pdf import PAGE_H_MM, PAGE_W_MM
from harness.panel.state import Panel
from tests.conftest import run_cli
from tests.panel.conftest import RUN

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def pages_text(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]  # pdftotext ends every page with a form feed


def words(text: str) -> list[str]:
    return " ".join(text.split()).split()


def test_slides_pdf_has_one_16_9_page_per_slide_with_its_title_and_its_whole_text(reports, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(reports, root)
    done = run_cli("--root", str(root), "report", "--format", "slides", "--lang", "both")
    assert done.returncode == 0, done.stderr
    panel = Panel(root, RUN)
    for lang, name in (("es", "slides.pdf"), ("en", "slides.en.pdf")):
        pdf = root / RUN / name
        assert f"slides {pdf}" in done.stdout, done.stdout
        items = panel.slides(lang)
        pages = pages_text(pdf)
        assert len(pages) == len(items), (lang, len(pages), len(items))
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        w, h = (float(v) for v in info.split("Page size:")[1].split("pts")[0].split("x"))
        assert abs(w / h - PAGE_W_MM / PAGE_H_MM) < 0.01 and abs(w / h - 16 / 9) < 0.01, info
        for page, it in zip(pages, items):
            flat = " ".join(page.split())
            assert f"{it.label} · " in flat and words(it.title)[0] in flat, (lang, it.id, flat[:120])
            parts = slide_parts(panel, lang, it)
            if parts["points"]:  # the last point's last words are on the page: nothing cut or spilled
                tail = words(parts["points"][-1].replace("**", "").replace("`", ""))[-3:]
                assert " ".join(tail) in flat, (lang, it.id, tail)
            assert "/tmp" not in page and str(root) not in page
        other = "Diapositiva" if lang == "en" else "Slide"
        assert not any(f"{other} " in p for p in pages)


def test_an_unknown_format_names_slides_among_the_choices(reports, tmp_path):
    done = run_cli("--root", str(reports), "report", "--format", "slide")
    assert done.returncode != 0 and "choose from html,pdf,ipynb,slides" in done.stderr, done.stderr
