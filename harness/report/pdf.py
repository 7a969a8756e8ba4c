"""report.pdf: WeasyPrint over the report's HTML, fetching only files inside the run folder.

Kept apart from render.py so that writing the HTML never imports WeasyPrint
(about a second of loading Pango): the PDF can then be laid out in a process of its own.
"""
from __future__ import annotations

import logging
import urllib.parse
from pathlib import Path

from weasyprint.urls import URLFetcher

from harness.run.store import atomic_write_bytes


class RunFolderFetcher(URLFetcher):
    """Admits file:// URLs inside the run folder; refuses everything else and remembers it."""

    def __init__(self, folder: Path) -> None:
        super().__init__(allowed_protocols={"file"}, fail_on_errors=False)
        self.folder = folder.resolve()
        self.refused: list[str] = []

    def inside(self, url: str) -> bool:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "file":
            return False
        path = Path(urllib.parse.unquote(parsed.path)).resolve()
        return path == self.folder or self.folder in path.parents

    def fetch(self, url: str, headers: dict | None = None):
        if not self.inside(url):
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url}: only files inside the run folder")
        return super().fetch(url, headers)


PDF_PPI = 150


def write_pdf(html: str, folder: Path, out: Path) -> list[str]:
    """Lay out `html` with `folder` as its base and write the PDF to `out`; returns the refused URLs."""
    from weasyprint import HTML

    fetcher = RunFolderFetcher(folder)
    # WeasyPrint logs every refused URL as a warning; the fetcher keeps the list instead.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    # Figures embedded at PDF_PPI at most (screen and ebook quality): the PDFs travel in the submission
    # folder, which GitHub must show whole; sizes and layout times in benchmarks/RESULTS.md (2026-12-07,
    # "the submission folder", update).
    pdf = HTML(string=html, base_url=str(folder.resolve()) + "/", url_fetcher=fetcher).write_pdf(dpi=PDF_PPI)
    atomic_write_bytes(out, pdf)
    return fetcher.refused
