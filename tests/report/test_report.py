"""Report: HTML, PDF and notebook from one run; inert user text; nothing fetched from outside the run."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.config import load_config
from harness.report.content import build, strings
from harness.errors import HarnessError
from harness.report.pdf import RunFolderFetcher, write_pdf
from harness.report.render import write_report, write_reports
from harness.run.runner import Runner
from harness.run.store import RunStore
from tests.conftest import toy_dataset
from tests.fixtures.report_items.items import REG
from harness.result import Result


@pytest.fixture(scope="module")
def run_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    store = RunStore(root, "smoke")
    Runner(REG, load_config("smoke"), store, lambda: toy_dataset()).run(["1.1a", "1.1b"])
    return store


@pytest.fixture(scope="module")
def written(run_store):
    # Both languages at once, as `harness run --report` writes them: one forked worker per language.
    # (The fixture's toy items are not the handout's: the submission folder is tests/report/test_submission.py's.)
    return write_reports(run_store, REG, ("es", "en"), ["html", "pdf"])


def test_an_unknown_language_fails_before_any_report_is_written(tmp_path):
    store = RunStore(tmp_path, "r")
    with pytest.raises(HarnessError):
        write_reports(store, REG, ("es", "xx"), ["html"])
    assert not list(tmp_path.rglob("report*"))


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_two_files_in_both_languages(written, run_store):
    assert {p.name for p in written["es"].values()} == {"report.html", "report.pdf"}
    assert {p.name for p in written["en"].values()} == {"report.en.html", "report.en.pdf"}
    for paths in written.values():
        assert all(p.parent == run_store.dir and p.stat().st_size > 0 for p in paths.values())


@pytest.mark.parametrize("lang", ["es", "en"])
def test_pdf_text_has_every_item_and_section(written, lang):
    text = pdf_text(written[lang]["pdf"])
    s = strings(lang)
    for heading in ("overview", "section_vae", "section_gan", "conclusions", "references", "verification",
                    "appendix", "reproduce"):
        assert s[heading].split(" ")[-1] in text, heading
    for item_id in ("1.1a", "1.1b", "1.2a"):
        assert item_id in text
    assert re.search(r"\b(\d+) ?/ ?\1\s*$", text)  # the last page's number: "N / N"
    assert "harness run 1.2a --profile smoke" in text  # the not-run item says how to run it


def test_strings_are_complete_in_both_languages():
    assert strings("es").keys() == strings("en").keys()
    with pytest.raises(HarnessError, match="unknown language 'de'"):
        strings("de")


def tags_and_attributes(html: str) -> list[tuple[str, dict]]:
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Collect().feed(html)
    return found


@pytest.mark.parametrize("lang,other", [("es", "en"), ("en", "es")])
def test_each_language_shows_its_own_figure_files(written, lang, other):
    html = written[lang]["html"].read_text(encoding="utf-8")
    assert f"curve.{lang}.png" in html and f"curve.{other}.png" not in html


def test_html_is_self_contained_and_answer_is_inert(written):
    html = written["es"]["html"].read_text()
    tags = tags_and_attributes(html)
    # no element may point at a remote or local-system URL, or carry an event handler
    for tag, attrs in tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "href"):
                assert not re.match(r"\s*(https?:|file:|javascript:|data:|//)", value or "", re.I), (tag, value)
    assert "script" not in {tag for tag, _ in tags}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, inert
    assert not re.search(r"<img[^>]*onerror", html, re.I)
    assert '<a href="#item-1.1a">local</a>' in html  # in-page links still work
    for img in re.findall(r'<img src="([^"]+)"', html):
        assert (written["es"]["html"].parent / img).is_file()


def test_numbers_in_answers_come_from_the_run(written):
    assert "La pérdida es 146,2 nats." in written["es"]["html"].read_text()  # Spanish decimal comma
    assert "The loss is 146.2 nats." in written["en"]["html"].read_text()


def test_answer_errors_are_shown_not_raised(run_store):
    es = build(run_store, REG, "es").item("1.1b")
    assert es.answer_html is None and "no_such_metric" in es.answer_error
    en = build(run_store, REG, "en").item("1.1b")
    assert "invalid template" in en.answer_error and "line 1" in en.answer_error


def test_scorecard_links_failed_checks_and_marks_missing_items(run_store, written):
    view = build(run_store, REG, "en")
    item = view.item("1.1a")
    assert item.checks_passed == 1 and [c["name"] for c in item.failed_checks] == ["epochs"]
    # Not graded at this profile is a third state: in neither count, shown apart with its reason.
    assert item.check_score == "1/2 · 1 ○" and view.all_checks == (1, 2) and view.checks_not_graded == 1
    row = re.search(r'<tr id="check-1.1a-3" class="not-graded">.*?</tr>', written["en"]["html"].read_text(), re.S)
    assert row and "○" in row.group() and "needs ≥ 10 epochs: this profile trains 1" in row.group()
    assert "no evaluada en este perfil: necesita ≥ 10 épocas" in written["es"]["html"].read_text()
    assert view.item("1.2a").status == "not run"
    html = written["en"]["html"].read_text()
    assert 'href="#check-1.1a-2"' in html and 'id="check-1.1a-2"' in html
    # The verification is one table in an appendix, after the body; the body has no check log.
    assert html.index('id="check-1.1a-2"') > html.index('id="conclusions"')
    # toy_model lives in the item's own module, not in a model module: harness and item code is never
    # printed; the fixture's models module is, once, in the model-code appendix after the conclusions.
    text = re.sub(r"<[^>]+>", "", html)  # the highlighted code's words, without its spans
    assert "def toy_model" not in text and "def toy_encoder" not in text
    assert text.count("def build_toy_model") == 1
    assert html.index('id="model-code"') > html.index('id="conclusions"')


def test_pdf_fetches_nothing_outside_the_run_folder(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "ok.png").write_bytes((Path(__file__).parents[1] / "fixtures" / "pixel.png").read_bytes())
    html = ('<img src="ok.png"><img src="file:///etc/passwd"><img src="http://example.com/x.png">'
            '<img src="../outside.png"><link rel="stylesheet" href="https://example.com/x.css">')
    (tmp_path / "outside.png").write_bytes(b"x")
    refused = write_pdf(html, folder, folder / "x.pdf")
    assert any("etc/passwd" in u for u in refused)
    assert any(u.startswith("http://example.com") for u in refused)
    assert any(u.startswith("https://example.com") for u in refused)
    assert any(u.endswith("outside.png") for u in refused)
    assert not any(u.endswith("/run/ok.png") for u in refused)
    fetcher = RunFolderFetcher(folder)
    assert fetcher.inside((folder / "ok.png").as_uri()) and not fetcher.inside("file:///etc/passwd")


def test_missing_template_is_a_clear_error(run_store, tmp_path):
    shutil.copy(Path(__file__).parents[2] / "templates" / "report.css", tmp_path / "report.css")
    with pytest.raises(HarnessError, match="missing template report.html.j2"):
        write_report(run_store, REG, "es", ["html"], templates=tmp_path)


def test_only_model_module_code_is_listed_once_each():
    from harness.report.content import ItemView, model_code

    def view(item_id, module):
        code = [{"name": f"item_{item_id}", "module": module, "source": "def f(): pass\n"},
                {"name": "settings", "module": "experiments.vae.common", "source": "def settings(): pass\n"},
                {"name": "build_vae", "module": "experiments.vae.models", "source": "def build_vae(): pass\n"},
                {"name": "train_gan", "module": "experiments.gan.training", "source": "def train_gan(): pass\n"},
                {"name": "measure", "module": "harness.train.evaluation", "source": "def measure(): pass\n"}]
        return ItemView(id=item_id, title="", summary="", section="1.1", status="ok", error=None, command="",
                        code=code)

    listed = model_code([view("1.1e", "experiments.vae.e_training"), view("1.1f", "experiments.vae.f_latent_space")])
    assert [c["key"] for c in listed] == ["experiments.vae.models.build_vae", "experiments.gan.training.train_gan"]
    assert listed[0]["users"] == ["1.1e", "1.1f"]


def test_every_column_of_a_wide_table_reaches_the_pdf_page(written, run_store):
    """A 13-column table with long headers (1.1a's 'wide'): a column pushed past the right margin
    would be missing from the page's text."""
    import json

    for lang in ("es", "en"):
        raw = subprocess.run(["pdftotext", str(written[lang]["pdf"]), "-"], capture_output=True, text=True,
                             check=True).stdout
        text = re.sub(r"[\u2010-]\n", "", raw)  # a header hyphenated at a syllable is whole again
        result = json.loads((run_store.item_dir("1.1a") / "result.json").read_text())
        for name, table in result["tables"].items():
            for column in table["columns"]:
                header = column[lang] if isinstance(column, dict) else column
                for word in header.split():
                    assert word in text, (lang, name, header, word)


def test_a_wide_tables_columns_are_as_wide_as_their_cells_need(written):
    """A model's name beside twelve numbers keeps one line: the width goes where the text is, and a
    number never wraps (equal shares broke each name over several lines)."""
    from harness.words import names

    for lang in ("es", "en"):
        lines = [" ".join(line.split()) for line in pdf_text(written[lang]["pdf"]).splitlines()]
        for stored in ("GAN z=2 d_spectral_norm", "VAE z=2 BCE +conv block", "GAN z=100 uniform"):
            name = names(stored, lang)  # as the reader's language names the model ("GAN z=2 normalización espectral en D")
            assert any(line.startswith(name + " ") for line in lines), (lang, name)


def test_column_shares_follow_the_printed_cells():
    from harness.report.tables import TEXT_CELL_CAP, column_shares, share_table_columns

    shares = column_shares(["model", "n", "note"], [["GAN z=2 d_spectral_norm", "3\u202f280\u202f901", "x" * 200]])
    assert abs(sum(shares) - 100) < 0.05
    name, number, note = shares
    assert number > 100 * (9 + 1) / (TEXT_CELL_CAP * 3 + 9 + 6)  # the whole number on one line
    assert note == name  # both capped: a long text wraps instead of taking the table
    html = share_table_columns("<p>a</p><table><thead><tr><th>a</th><th>b</th></tr></thead>"
                               "<tbody><tr><td>enunciado (1.1e)</td><td>1</td></tr></tbody></table>")
    widths = [float(w) for w in re.findall(r'<col style="width: ([\d.]+)%">', html)]
    assert len(widths) == 2 and widths[0] > widths[1] and html.startswith("<p>a</p><table><colgroup>")


def test_body_shows_no_internal_metric_ids(written):
    html = written["en"]["html"].read_text()
    body = html[html.index('id="section-1.1"'):html.index('id="conclusions"')]
    assert "test_neg_elbo" not in body and "Test negative ELBO" in body  # its human label
    # no label, no note: the value stays in the item's result.json, the report never prints the id
    assert "stray_metric_id" not in html


def test_no_machine_path_in_the_report(run_store, tmp_path):
    import json

    store = RunStore(tmp_path, "paths")
    shutil.copytree(run_store.dir, store.dir, dirs_exist_ok=True)
    manifest = json.loads((store.dir / "manifest.json").read_text())
    manifest["dataset"] = {**(manifest.get("dataset") or {}), "name": "mnist",
                           "source": "--data /work/home/someone/data/mnist.npz", "checksum": "abc123"}
    (store.dir / "manifest.json").write_text(json.dumps(manifest))
    for lang in ("es", "en"):
        html = write_report(store, REG, lang, ["html"])["html"].read_text()
        assert not re.search(r"(?<![\w.])/(work|tmp|home|root|usr)\b", html), \
            re.search(r".{40}(?<![\w.])/(work|tmp|home|root|usr)\b.{40}", html)
        assert "mnist.npz" in html and "abc123" in html  # named by file and checksum


def test_numbers_follow_one_convention_per_language():
    from harness.locale import num
    from harness.report.content import format_value

    assert format_value(2000, "es") == "2\u202f000" and format_value(2000, "en") == "2,000"
    assert format_value(0.5, "es") == "0,500" and format_value(0.5, "en") == "0.500"
    assert format_value(1234.5678, "es") == "1\u202f235" and format_value(12.5, "en") == "12.50"
    assert num(60000, 0, "es") == "60\u202f000" and num(146.25, 1, "es") == "146,2" and num(146.25, 1, "en") == "146.2"
    assert "." not in format_value(2000, "es")


def test_code_highlighting_drops_only_spans_that_carry_no_colour():
    import html as htmllib
    import re

    from harness.report.render import highlight_python

    src = 'def area(w, h=2):\n    """Doc <b>."""\n    return w * h  # a < b & c\n'
    out = highlight_python(src)
    classes = set(re.findall(r'<span class="([^"]+)">', out))
    assert {"k", "nf", "mi", "sd", "c1", "o"} <= classes        # keywords, names of defs, numbers, strings...
    assert not classes & {"n", "p", "w"}                         # ...but no span for plain names or punctuation
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", out))
    assert text.strip() == src.strip()                          # the code itself is untouched


def test_title_page_says_when_no_team_is_configured_and_invents_no_names(written):
    html = written["es"]["html"].read_text(encoding="utf-8")
    cover = html[html.index('class="cover"'):html.index("</section>")]
    assert strings("es")["team_not_configured"] in cover
    assert "Integrante A" not in html and "Universidad Técnica Federico Santa María" in cover
    assert re.search(r"\d{1,2} de [a-z]+ de \d{4}", cover)  # the run's date, in words


def test_title_page_comes_from_the_settings_file(tmp_path):
    from harness.report.content import build
    from harness.report.title import date_in_words

    team_file = tmp_path / "team.toml"
    team_file.write_text('[team]\nmembers = ["Ana Pérez", "Beto Soto"]\n'
                         '[course]\nprofessor = "Prof. Uno"\nassistant = "Ayud. Dos"\nsemester = "2026-2"\n',
                         encoding="utf-8")
    store = RunStore(tmp_path / "reports", "team")
    Runner(REG, load_config("smoke", user_file=team_file), store, lambda: toy_dataset()).run(["1.1a"])
    title = build(store, REG, "en").title
    assert title.members == ["Ana Pérez", "Beto Soto"] and title.team_configured
    assert (title.professor, title.assistant, title.semester) == ("Prof. Uno", "Ayud. Dos", "2026-2")
    html = write_report(store, REG, "en", ["html"])["html"].read_text(encoding="utf-8")
    assert "Ana Pérez, Beto Soto" in html and "Prof. Uno" in html and "Semester 2026-2" in html
    assert strings("en")["team_not_configured"] not in html
    import datetime as dt
    assert date_in_words(dt.date(2026, 11, 28), "es") == "28 de noviembre de 2026"
    assert date_in_words(dt.date(2026, 11, 28), "en") == "28 November 2026"


def test_report_command_warns_once_without_a_team(run_store):
    from tests.conftest import run_cli

    done = run_cli("--root", str(run_store.root), "report", "--run", run_store.run_id, "--lang", "es",
                   "--format", "html")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("no team configured") == 1


def test_detail_tables_go_to_an_appendix_linked_from_their_item(run_store, written):
    view = build(run_store, REG, "es")
    layers = next(t for t in view.item("1.1a").tables if t.name == "layers")
    assert layers.detail and not next(t for t in view.item("1.1a").tables if t.name == "wide").detail
    html = written["es"]["html"].read_text(encoding="utf-8")
    body_link = html.index(f'href="#table-{layers.number}"')
    assert html.index('id="item-1.1a"') < body_link < html.index('id="conclusions"')
    assert html.index(f'id="table-{layers.number}"') > html.index('id="detail-tables"') > html.index('id="conclusions"')


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_machine_sentence_comes_from_the_recorded_environment(run_store, lang):
    from harness.report.conclusions import limits

    view = build(run_store, REG, lang)
    cpu_run = {"cpu": "AMD EPYC", "cpu_count": 2, "backend": "tensorflow", "accelerators": []}
    gpu_run = {"cpu": "Intel Xeon", "cpu_count": 16, "backend": "jax", "accelerators": ["cuda:0 NVIDIA H200"]}
    view.manifest["environment"] = cpu_run
    cpu_text = " ".join(limits(view))
    view.manifest["environment"] = gpu_run
    gpu_text = " ".join(limits(view))
    assert "AMD EPYC" in cpu_text and "tensorflow" in cpu_text
    assert "NVIDIA H200" in gpu_text and "jax" in gpu_text
    assert "tensorflow" not in gpu_text and "CPU" not in gpu_text  # a GPU run never says it trained on a CPU


def test_an_item_shows_its_first_labelled_metrics_as_headline_numbers():
    from harness.report.content import HEADLINE_METRICS, ItemView

    metrics = [{"name": "internal_only", "value": 1.0, "unit": None, "note": "", "label": ""}]
    metrics += [{"name": f"m{i}", "value": float(i), "unit": None, "note": "", "label": f"quantity {i}"}
                for i in range(HEADLINE_METRICS + 4)]
    view = ItemView("1.1e", "t", "", "1.1", "ok", None, "harness run 1.1e", metrics=metrics)
    shown = view.shown_metrics
    assert [m["name"] for m in shown] == [f"m{i}" for i in range(HEADLINE_METRICS)]  # recorded order, no id


def test_the_overview_names_a_failed_check_in_words_not_by_its_id(written):
    for lang, words in (("es", "pocas épocas"), ("en", "too few epochs")):
        html = written[lang]["html"].read_text()
        overview = html[html.index('id="overview"'):html.index('id="section-1.1"')]
        assert f"✗ {words}" in overview and "✗ epochs" not in overview


def test_figures_beside_an_answer_float_from_after_its_first_paragraph():
    from harness.report.content import ItemView

    view = ItemView("1.2e", "t", "", "1.2", "ok", None, "c", answer_html="<p>One.</p>\n<p>Two.</p>\n")
    assert view.answer_parts == ("<p>One.</p>", "\n<p>Two.</p>\n")
    listed = ItemView("1.2e", "t", "", "1.2", "ok", None, "c", answer_html="<ul><li>a</li></ul>")
    assert listed.answer_parts == ("", "<ul><li>a</li></ul>")


def test_an_items_time_includes_the_units_it_gathered():
    from harness.report.content import item_timing

    result = Result("x", timing={"wall_s": 25.0, "cpu_s": 7.0, "peak_rss_mb": 1500.0}, units={"z4": "a", "z8": "b"})
    entry = {"units": {"z4": {"fingerprint": "a", "timing": {"wall_s": 100.0, "cpu_s": 20.0, "peak_rss_mb": 1600.0}},
                       "z8": {"fingerprint": "b", "timing": {"wall_s": 50.0, "cpu_s": 10.0, "peak_rss_mb": 1400.0}},
                       "z16": {"fingerprint": "c", "timing": {"wall_s": 999.0}}}}  # no longer planned
    assert item_timing(result, entry) == {"wall_s": 175.0, "cpu_s": 37.0, "peak_rss_mb": 1600.0}
    entry["units"]["z8"]["fingerprint"] = "old"  # a unit computed at other settings is not this item's
    assert item_timing(result, entry)["wall_s"] == 125.0
    assert item_timing(Result("x", timing={"wall_s": 3.0}), {}) == {"wall_s": 3.0}


def test_one_language_lays_out_its_pdf_aside_to_the_same_pages(run_store, tmp_path):
    """`harness report --lang es` forks the PDF's layout beside the HTML: same
    files, and the same PDF text as one process writes."""
    aside = write_reports(run_store, REG, ("es",), ["html", "pdf"], out=tmp_path / "aside")["es"]
    inline = write_report(run_store, REG, "es", out=tmp_path / "inline")
    assert [p.name for p in aside.values()] == [p.name for p in inline.values()]
    assert pdf_text(aside["pdf"]) == pdf_text(inline["pdf"])


def test_a_pdf_that_fails_aside_is_one_clear_error_and_no_file_of_that_report_is_written(run_store, tmp_path, monkeypatch):
    """All or nothing (issue 36, 4): an HTML renamed into place beside the previous command's PDF would
    mix two reports in one folder."""
    import harness.report.pdf

    def broken(html, folder, out):
        raise HarnessError("report.pdf: the layout failed")

    monkeypatch.setattr(harness.report.pdf, "write_pdf", broken)  # the forked worker inherits it
    out = tmp_path / "out"
    with pytest.raises(HarnessError, match="the layout failed"):
        write_report(run_store, REG, "es", out=out, pdf_aside=True)
    assert not (out / "report.html").exists() and not (out / "report.pdf").exists()
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]


def test_data_that_are_not_canonical_mnist_are_said_once_in_the_run_and_on_the_report(tmp_path):
    """--data with other arrays (64 images once went unremarked and the run then reported GRADE FAILS)."""
    data = toy_dataset()
    data.canonical = False
    events = []
    store = RunStore(tmp_path, "toy")
    Runner(REG, load_config("smoke"), store, lambda: data,
           on_event=lambda kind, **kw: events.append((kind, kw))).run(["1.1a", "1.1b"])
    said = [kw["message"] for kind, kw in events if kind == "log" and kw.get("item") == "data"]
    assert len(said) == 1 and "not canonical MNIST" in said[0]["en"] and "no son el MNIST canónico" in said[0]["es"]
    assert store.read_manifest()["dataset"]["canonical"] is False
    for lang in ("es", "en"):
        page = write_report(store, REG, lang, ["html"], out=tmp_path / lang)["html"].read_text(encoding="utf-8")
        assert page.count(strings(lang)["dataset_not_canonical"].replace("'", "&#39;")) == 2  # the overview, the data table


def test_an_item_whose_last_attempt_failed_says_its_page_shows_the_last_good_result(tmp_path):
    """A failed re-run keeps the last good result.json (status ok, checks passed) and only the manifest
    said failed: the item's page must not read as current."""
    store = RunStore(tmp_path, "toy")
    Runner(REG, load_config("smoke"), store, lambda: toy_dataset()).run(["1.1a", "1.1b"])
    manifest = store.read_manifest()
    manifest["items"]["1.1a"].update(status="failed", error="ItemFailed: the loss diverged",
                                     error_words={"es": "la pérdida divergió", "en": "the loss diverged"})
    store.write_manifest(manifest)
    finished = store.load_result("1.1a").finished_at[:16].replace("T", " ")
    for lang, said in (("es", f"Su último intento falló (la pérdida divergió); esta página muestra el último resultado "
                              f"bueno, terminado el {finished}"),
                       ("en", f"Its last attempt failed (the loss diverged); this page shows the last good result, "
                              f"finished {finished}")):
        page = write_report(store, REG, lang, ["html"], out=tmp_path / lang)["html"].read_text(encoding="utf-8")
        item = page[page.index('id="item-1.1a"'):page.index('id="item-1.1b"')]
        assert said in item and said not in page[page.index('id="item-1.1b"'):]
