"""The report: report.html and report.pdf, from one content model (the notebook: report/submission.py).

It reads the run folder only. The HTML references figures by paths inside the
run folder, so the folder is self-contained; the PDF is WeasyPrint over the
same HTML with a fetcher that admits files inside the run folder and nothing
else (no network, no /etc/passwd).
"""
from __future__ import annotations

import datetime as dt
import errno
import os
import re
from functools import lru_cache
from html import escape as html_escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from markupsafe import Markup, escape
from pygments import highlight as pyg_highlight
from pygments.formatters import HtmlFormatter
from pygments.token import STANDARD_TYPES
from pygments.lexers import PythonLexer

from harness import templates as template_files
from harness.locale import duration
from harness.report.content import RunView, build, dataset_source, format_value, strings
from harness.report.tables import column_shares, table_parts
from harness.errors import HarnessError
from harness.registry import Registry
from harness.run.files import sweep_leftovers, temp_name
from harness.run.store import RunStore, atomic_write_text

FORMATS = ("html", "pdf", "ipynb")


def report_formats(text: str) -> list[str]:
    """`harness report --format`: the formats named, or one line naming the choices. "slides" is the
    panel's deck as a PDF (harness.panel.slides_pdf), written beside the report."""
    formats = [f.strip() for f in text.split(",") if f.strip()]
    known = (*FORMATS, "slides")
    unknown = [f for f in formats if f not in known]
    if unknown or not formats:
        raise HarnessError(f"unknown format {','.join(unknown) or text!r}: choose from {','.join(known)}")
    return formats


def make_out(out: str | None) -> Path | None:
    """`--out DIR`, made if missing; one line if it cannot be."""
    if not out:
        return None
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"--out {out}: cannot make that folder ({exc.strerror}); pick a writable one") from None
    return Path(out)


def output_names(lang: str) -> dict[str, str]:
    """Spanish, the course's language, gets the plain names; English gets a .en suffix."""
    suffix = "" if lang == "es" else f".{lang}"
    return {"html": f"report{suffix}.html", "pdf": f"report{suffix}.pdf"}


def _jinja(templates: Path) -> Environment:
    env = Environment(loader=FileSystemLoader(str(templates)), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["short"] = short_text
    return env


_INLINE_CODE = re.compile(r"`([^`]+)`")


def short_text(text: Any) -> Markup:
    """A caption, note or check as a page shows it: escaped, and its `code` marked as code (the catalogue
    writes code names in backticks, as the answers do)."""
    return Markup(_INLINE_CODE.sub(r"<code>\1</code>", str(escape("" if text is None else text))))


def _side_by_side(view: RunView) -> list[Any]:
    """The headline sample grids of the VAE and the GAN, next to each other."""
    picks = []
    for role in ("vae_samples", "gan_samples"):
        it = view.showing(role)
        if it and it.ran and it.figures:
            picks.append(it.figures[0])
    return picks if len(picks) == 2 else []


def render_html(view: RunView, templates: Path | None = None, coloured_code: bool = True) -> str:
    """The report's HTML. `coloured_code=False` prints the model-code appendix in plain type: the
    PDF's version: paper does not need the colour spans, and each costs WeasyPrint layout time
    (benchmarks/RESULTS.md, 2026-11-28 09:50 entry)."""
    templates = templates or template_files.folder()
    s = view.s
    labels = {"ok": s["ok"], "cached": s["cached"], "failed": s["failed"], "skipped": s["skipped"],
              "cancelled": s["cancelled"], "not run": s["not_run"], "stale": s["stale"],
              "damaged": s["damaged"]}
    try:
        template = _jinja(templates).get_template("report.html.j2")
        css = (templates / "report.css").read_text(encoding="utf-8")
    except TemplateNotFound as exc:
        raise HarnessError(f"missing template {exc.name} in {templates}; restore it from git") from None
    except FileNotFoundError as exc:
        raise HarnessError(f"missing template {Path(exc.filename).name} in {templates}; restore it from git") from None
    passed, total = view.all_checks
    manifest = view.manifest
    from harness.report.conclusions import REFERENCES, conclusions

    lang = view.lang
    return template.render(
        run=view, s=s, lang=view.lang, title=view.title, css=css,
        # Plain code has no token spans: the PDF skips the colour rules, and matching them.
        pygments_css=HtmlFormatter(style=CODE_STYLE).get_style_defs(".highlight") if coloured_code else "",
        generated=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        checks_passed=passed, checks_total=total, side_by_side=_side_by_side(view),
        env=manifest.get("environment", {}), dataset=manifest.get("dataset"),
        dataset_source=dataset_source((manifest.get("dataset") or {}).get("source"), lang),
        conclusions=conclusions(view), references=REFERENCES,
        settings=sorted(_flat(manifest.get("config", {}))), overrides=manifest.get("overrides", {}),
        fmt=lambda v: format_value(v, lang),
        shares=lambda t: column_shares([str(c) for c in t.columns], [[format_value(v, lang) for v in row] for row in t.rows]),
        parts=table_parts,
        seconds=lambda v: duration(v, lang),
        short=lambda v: _short(v, lang), status_label=lambda st: labels.get(st, st),
        yesno=lambda b: s["yes"] if b else s["no"],
        highlight=highlight_python if coloured_code else plain_python,
    )


def _short(value: Any, lang: str, limit: int = 60) -> str:
    """An expected or observed value for the verification table: formatted, and cut if long."""
    if value is None:
        return "—"
    text = format_value(value, lang)
    return text if len(text) <= limit else text[:limit - 1] + "…"


CODE_STYLE = "friendly"


@lru_cache(maxsize=1)
def _plain_token_span() -> re.Pattern:
    """Spans of token classes the style does not colour (names, punctuation; whitespace,
    whose colour no one sees): they render exactly as bare text."""
    styled = set(re.findall(r"^\.highlight \.([\w-]+) \{", HtmlFormatter(style=CODE_STYLE).get_style_defs(".highlight"),
                            flags=re.M)) - {"w"}
    plain = sorted(set(STANDARD_TYPES.values()) - styled - {""})
    return re.compile(r'<span class="(?:%s)">([^<]*)</span>' % "|".join(map(re.escape, plain)))


def highlight_python(src: str) -> str:
    """Pygments HTML with the invisible spans unwrapped: two thirds of its spans carry no
    colour, and WeasyPrint's line layout cost grows with every inline box (the PDF of a
    quick run rendered in about half the time without them)."""
    html = pyg_highlight(src, PythonLexer(), HtmlFormatter(cssclass="highlight"))
    return _plain_token_span().sub(r"\1", html)


def plain_python(src: str) -> str:
    """The code as highlight_python lays it out, without colour: one text box per listing."""
    return f'<div class="highlight"><pre>{html_escape(src)}</pre></div>'


def _flat(tree: dict[str, Any], prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def write_report(store: RunStore, registry: Registry, lang: str = "es", formats: list[str] | tuple[str, ...] = FORMATS,
                 templates: Path | None = None, out: Path | None = None, pdf_aside: bool = False,
                 staged: bool = False) -> dict[str, Path] | dict[str, tuple[Path, Path]]:
    """The HTML and PDF of one language ("ipynb" is the submission folder: write_reports writes it).
    `out`: the folder the files go to (default the run folder; another one for a read-only run).

    `pdf_aside`: lay out the PDF in a forked process while this one writes the HTML.
    WeasyPrint's layout is pure Python on one core and most of a report's time, so a
    second core takes the rest off its path: the worker loads WeasyPrint while this process
    builds the page. Only for a caller with no threads of its own to fork (the CLI); the panel
    writes in one process.

    Every file is written under a temp name first and renamed once all are written, so a folder
    never holds this HTML beside the last command's PDF. `staged`: return {fmt: (temp, final)}
    unrenamed, for a caller that renames several languages' files together (commit_staged).
    """
    strings(lang)  # an unknown language fails before anything is written
    out = Path(out) if out is not None else store.dir
    names = output_names(lang)
    finals = {fmt: out / names[fmt] for fmt in FORMATS if fmt in formats and fmt in names}
    temps = {fmt: temp_name(path) for fmt, path in finals.items()}
    pdf = PdfAside(store.dir, temps["pdf"]) if "pdf" in formats and pdf_aside and len(formats) > 1 else None
    try:
        try:
            view = build(store, registry, lang)
            if "pdf" in formats:
                pdf_html = render_html(view, templates, coloured_code=False)
                if pdf is not None:
                    pdf.send(pdf_html)
                else:
                    _write_pdf(pdf_html, store.dir, temps["pdf"])
            if "html" in formats:
                atomic_write_text(temps["html"], render_html(view, templates))
        finally:
            if pdf is not None:
                pdf.finish()  # the PDF's own error, if any, surfaces here
    except BaseException:
        discard_staged(temps.values())
        raise
    pairs = {fmt: (temps[fmt], finals[fmt]) for fmt in finals}
    if staged:
        return pairs
    commit_staged(pairs.values())
    return {fmt: final for fmt, (_, final) in pairs.items()}


def commit_staged(pairs: Any) -> None:
    """Rename every staged (temp, final) file into place: the last step of a report, all files at once."""
    for temp, final in pairs:
        os.replace(temp, final)


def discard_staged(temps: Any) -> None:
    for temp in temps:
        Path(temp).unlink(missing_ok=True)


def die_with_parent(parent: int) -> None:
    """A forked report worker ends when the command that forked it does (a `kill -9` of `harness report`):
    it must not go on laying out a PDF nobody will rename into place. Linux's PR_SET_PDEATHSIG; elsewhere the
    worker finishes, and its temp file is swept by the next command that writes the folder."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent was gone before the line above took effect
        os._exit(1)


def _write_pdf(html: str, folder: Path, out: Path) -> list[str]:
    from harness.report import pdf  # WeasyPrint loads here: in the PDF's own process when aside

    return pdf.write_pdf(html, folder, out)


class PdfAside:
    """A forked process that loads WeasyPrint at once, then lays out the HTML it is sent."""

    def __init__(self, folder: Path, out: Path) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe()
        self._process = context.Process(target=_pdf_worker, args=(child_end, folder, out, os.getpid()), daemon=True)
        self._process.start()
        child_end.close()
        self._sent = False

    def send(self, html: str) -> None:
        self._sent = True
        try:
            self._conn.send(html)
        except OSError:
            pass  # the worker has stopped already: finish() says why

    def finish(self) -> None:
        try:
            if not self._sent:
                self._conn.send(None)  # this process failed first: the worker stops without writing
            error = self._conn.recv()
        except (EOFError, OSError):
            error = HarnessError("report.pdf: its process ended without writing it; run `harness report` again")
        finally:
            self._process.join()
            self._conn.close()
        if error is not None and self._sent:
            raise error


def _pdf_worker(conn: Any, folder: Path, out: Path, parent: int) -> None:
    import pickle

    die_with_parent(parent)
    try:
        from harness.report import pdf

        html = conn.recv()
        if html is not None:
            pdf.write_pdf(html, folder, out)
        conn.send(None)
    except BaseException as exc:  # handed to the parent, which raises it as its own
        try:
            pickle.dumps(exc)
        except Exception:
            exc = HarnessError(f"report.pdf: {type(exc).__name__}: {exc}")
        conn.send(exc)
    finally:
        conn.close()


def write_reports(store: RunStore, registry: Registry, langs: list[str] | tuple[str, ...] = ("es", "en"),
                  formats: list[str] | tuple[str, ...] = FORMATS, out: Path | None = None,
                  submission: Path | None = None) -> dict[str, dict[str, Path]]:
    """write_report for each language; on a machine with cores to spare, one process per language.
    Then, with "ipynb" in `formats`, the submission folder (harness.report.submission: both
    languages' notebooks beside their PDFs), at `submission` or its default place.

    WeasyPrint's layout is pure Python, so two languages take twice one language's time in one
    process (benchmarks/RESULTS.md). The workers are forked: they
    inherit the registry and never touch the Keras backend, so nothing is re-imported.

    All or nothing: every page is written under a temp name, the submission folder is staged and
    swapped, and only then are the pages renamed into place. A failure (a full or read-only disk)
    is one line naming the folder and the fix, and leaves the earlier report files as they were.
    """
    folder = Path(out) if out is not None else store.dir
    where = f"--out {out}" if out is not None else f"the run folder '{store.run_id}'"
    sweep_leftovers(folder)  # what a killed `report` left there
    staged: dict[str, dict[str, tuple[Path, Path]]] = {}
    try:
        staged = _write_pages(store, registry, langs, [f for f in formats if f != "ipynb"], out)
        written = {lang: {fmt: final for fmt, (_, final) in pairs.items()} for lang, pairs in staged.items()}
        if "ipynb" in formats:
            from harness.report.submission import NOTEBOOKS, write_submission

            # The folder holds both notebooks, each linking to its language's PDF: one not at hand, or older
            # than the run's last change (its manifest), is written.
            pdfs = {lang: pairs["pdf"][0] for lang, pairs in staged.items() if "pdf" in pairs}
            changed = (store.dir / "manifest.json").stat().st_mtime if (store.dir / "manifest.json").exists() else 0
            for lang in NOTEBOOKS:
                there = folder / output_names(lang)["pdf"]
                current = there.is_file() and there.stat().st_mtime >= changed
                if lang not in pdfs and not current:
                    staged.setdefault(lang, {}).update(write_report(store, registry, lang, ["pdf"], out=out, staged=True))
                pdfs[lang] = staged[lang]["pdf"][0] if "pdf" in staged.get(lang, {}) else there
            sub = write_submission(store, registry, submission, tuple(NOTEBOOKS), reports=pdfs)
            for lang in langs:
                written.setdefault(lang, {})["ipynb"] = sub / NOTEBOOKS[lang]
        commit_staged(pair for pairs in staged.values() for pair in pairs.values())
    except OSError as exc:
        discard_staged(temp for pairs in staged.values() for temp, _ in pairs.values())
        if exc.errno not in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT):
            raise
        raise HarnessError(f"cannot write the report in {where} ({exc.strerror}); free space, fix its permissions "
                           f"or write it elsewhere with --out DIR; the earlier report files are unchanged") from None
    except BaseException:
        discard_staged(temp for pairs in staged.values() for temp, _ in pairs.values())
        raise
    return written


def _write_pages(store: RunStore, registry: Registry, langs: list[str] | tuple[str, ...], formats: list[str],
                 out: Path | None) -> dict[str, dict[str, tuple[Path, Path]]]:
    """Each language's pages, staged (not yet renamed into place)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    for lang in langs:
        strings(lang)  # an unknown language fails here, before any worker starts
    if not formats:
        return {}
    spare_core = (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()
    if len(langs) < 2 or not spare_core:
        staged: dict[str, dict[str, tuple[Path, Path]]] = {}
        try:
            for lang in langs:
                staged[lang] = write_report(store, registry, lang, formats, out=out, pdf_aside=spare_core, staged=True)
        except BaseException:
            discard_staged(temp for pairs in staged.values() for temp, _ in pairs.values())
            raise
        return staged
    global _FORKED
    _FORKED = (store, registry, tuple(formats), out, os.getpid())
    try:
        with ProcessPoolExecutor(len(langs), mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {lang: pool.submit(_write_forked, lang) for lang in langs}
            done: dict[str, dict[str, tuple[Path, Path]]] = {}
            try:
                for lang, future in futures.items():
                    done[lang] = future.result()
            except BaseException:
                for lang, future in futures.items():  # the other language's finished pages go too
                    if lang not in done and future.done() and future.exception() is None:
                        done[lang] = future.result()
                discard_staged(temp for pairs in done.values() for temp, _ in pairs.values())
                raise
            return done
    finally:
        _FORKED = None


_FORKED: tuple | None = None  # what a forked report worker inherits (a registry does not pickle)


def _write_forked(lang: str) -> dict[str, tuple[Path, Path]]:
    store, registry, formats, out, parent = _FORKED
    die_with_parent(parent)
    return write_report(store, registry, lang, formats, out=out, staged=True)
