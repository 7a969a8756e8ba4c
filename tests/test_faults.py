"""Issue 21's fault campaign, one regression test per point that is not the run store's
(those are in tests/run/test_reliability.py): bad input is one line, never a traceback."""
import contextlib
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import cli
from harness.config import load_config
from harness.errors import ConfigError, HarnessError
from harness.report.answers import MAX_STEPS, AnswerError, render_answer_text
from tests.conftest import ROOT, run_cli


def one_error_line(capsys, argv: list[str]) -> str:
    """Run the CLI in this process; it must exit 2 with exactly one 'harness: error' line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("harness: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- 3: an answer template is bounded, and its errors are one line naming the file --------------------

@pytest.mark.parametrize("template, says", [
    ("{% for x in range(10**9) %}x{% endfor %}", f"more than {MAX_STEPS} steps"),
    ("{% for x in range(99999) %}{% for y in range(99999) %}{% endfor %}{% endfor %}", "steps"),
    ("{{ 'x' * 10**9 }}", "repeated"),
    ("{{ ('x' * 150000) ~ ('y' * 150000) }}", "more than"),
    ("{{ 'x'|center(10**9) }}", "size above"),
    ("{{ 10 ** 100000 }}", "exponent"),
    ("{{ 1 / 0 }}", "ZeroDivisionError"),
])
def test_point3_a_hostile_answer_is_refused_in_one_line_naming_its_file(template, says):
    with pytest.raises(AnswerError) as caught:
        render_answer_text(template, {}, "experiments/vae/answers/es/1.1e.md", "es")
    message = str(caught.value)
    assert message.startswith("experiments/vae/answers/es/1.1e.md") and says in message and "\n" not in message


def test_point3_a_plain_answer_still_renders_with_the_runs_numbers():
    text = "{% for k in range(3) %}{{ k }}{% endfor %} {{ m.loss | num(2) }} ~ {{ 'ok' ~ '!' }}"
    assert render_answer_text(text, {"m": {"loss": 1234.5}}, "a.md", "es") == "012 1\u202f234,50 ~ ok!"


def test_point14_a_markdown_image_in_an_answer_is_text_not_a_fetch():
    from harness.report.content import render_markdown

    answer = render_answer_text("see ![plot](http://127.0.0.1:9/x.png)", {}, "a.md")
    assert "<img" not in render_markdown(answer) and "![plot](http://127.0.0.1:9/x.png)" in render_markdown(answer)


# -- 4, 8, 14: settings -------------------------------------------------------------------------------

@pytest.mark.parametrize("override", ["vae.learning_rate=nan", "gan.clipvalue=inf", "vae.learning_rate=-inf"])
def test_point4_nan_and_infinity_are_refused(override):
    with pytest.raises(ConfigError, match="must be a finite number"):
        load_config("smoke", [override])


def test_point4_the_manifest_is_standard_json_even_with_a_nan_inside(tmp_path):
    from harness.run.store import RunStore

    store = RunStore(tmp_path, "r")
    store.write_manifest({"items": {}, "timing": float("nan"), "ratio": float("inf")})
    def refuse(name): raise ValueError(name)
    manifest = json.loads(store.manifest_path.read_text(), parse_constant=refuse)
    assert manifest["timing"] is None and manifest["ratio"] is None


def test_point8_a_config_file_that_is_not_utf8_is_one_line_and_a_bom_is_fine(tmp_path):
    latin = tmp_path / "team.toml"
    latin.write_bytes('[team]\nmembers = ["José"]\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text .*save it as UTF-8"):
        load_config("smoke", user_file=latin)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + '[team]\nmembers = ["José"]\n'.encode())
    assert load_config("smoke", user_file=bom).get("team.members") == ["José"]


@pytest.mark.parametrize("override", ["dataset=" + "x" * 100_000, "vae.epochs=" + "9" * 100_000,
                                      "vae." + "k" * 100_000 + "=1"])
def test_point14_a_huge_bad_value_is_cut_in_its_error_line(override):
    with pytest.raises(ConfigError) as caught:
        load_config("smoke", [override])
    assert len(str(caught.value)) < 400 and "characters" in str(caught.value)


# -- 6: data ------------------------------------------------------------------------------------------

def test_point6_a_damaged_gz_is_the_one_line_data_error(tmp_path):
    from harness.data import DataError, IDX_FILES, clear_cache, load_dataset

    for key, name in IDX_FILES.items():
        dims = (2, 28, 28) if key.startswith("x") else (2,)
        header = bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
        packed = bytearray(gzip.compress(header + np.zeros(int(np.prod(dims)), np.uint8).tobytes()))
        packed[12:20] = b"\xff" * 8  # the compressed stream, past the gzip header
        (tmp_path / name).write_bytes(bytes(packed))
    clear_cache()
    with pytest.raises(DataError, match="cannot read .*re-download the IDX file") as caught:
        load_dataset("mnist", tmp_path)
    assert str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)


# -- 10, 11, 14, 16: the panel's address, checked before anything loads -------------------------------

@pytest.mark.parametrize("port", ["99999", "-1", "0", "65536"])
def test_point10_a_port_out_of_range_is_one_line(tmp_path, capsys, port):
    line = one_error_line(capsys, ["--root", str(tmp_path), "serve", "--port", port])
    assert f"--port {port} is not a port" in line


def test_point11_an_unresolvable_host_is_said_as_such(tmp_path, capsys):
    line = one_error_line(capsys, ["--root", str(tmp_path), "serve", "--host", "no-such-host.invalid"])
    assert "not an address this machine can resolve" in line and "in use" not in line


def test_point16_a_port_already_taken_is_one_line(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(capsys, ["--root", str(tmp_path), "serve", "--port", str(port)])
    assert f"port {port} is in use" in line


def test_point16_a_privileged_port_says_so_not_in_use(tmp_path, capsys, monkeypatch):
    def refuse(self, address):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)  # what a non-root user gets for --port 80
    line = one_error_line(capsys, ["--root", str(tmp_path), "serve", "--port", "80"])
    assert "needs administrator rights" in line


def test_point16_serving_a_run_that_is_not_there_is_one_line(tmp_path, capsys):
    line = one_error_line(capsys, ["--root", str(tmp_path), "serve", "--run", "nope", "--port", "7999"])
    assert "run 'nope' does not exist" in line


@pytest.mark.parametrize("argv", [["list"], ["list", "--runs"], ["run", "1.1a", "--profile", "smoke"]])
def test_a_root_that_is_a_file_is_said_so_not_no_run_yet_or_free_space(tmp_path, capsys, argv):
    """--root FILE listed nothing with exit 0, and `run` told the user to free space."""
    root = tmp_path / "a-file"
    root.write_text("not a folder")
    line = one_error_line(capsys, ["--root", str(root), *argv])
    assert "is a file, not a folder; pass --root DIR" in line, line
    assert root.read_text() == "not a folder"


def test_point14_serving_every_address_without_a_login_warns(tmp_path, capsys):
    assert cli.main(["--root", str(tmp_path), "serve", "--host", "0.0.0.0", "--port", "7998"]) == 2  # no run yet
    err = capsys.readouterr().err
    assert "warning: --host 0.0.0.0 lets other machines open the panel with no login" in err


# -- 7: a read-only run folder (a real read-only mount where the machine allows one) ------------------

@contextlib.contextmanager
def read_only(folder: Path):
    """`folder` mounted read-only onto itself; skips where mounting needs rights this user lacks."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only mount needs root")
    if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow bind mounts")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("this machine does not allow read-only remounts")
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_point7_a_read_only_run_is_listed_and_reported_to_another_folder(tmp_path):
    from harness.run.runner import Runner
    from harness.run.store import RunStore
    from tests.conftest import toy_dataset
    from tests.fixtures.report_items.items import REG

    store = RunStore(tmp_path / "reports", "ro")
    Runner(REG, load_config("smoke"), store, lambda: toy_dataset()).run(["1.1a"])
    before = sorted(p.relative_to(store.dir) for p in store.dir.rglob("*"))
    with read_only(store.dir):
        listed = run_cli("--root", str(store.root), "list", "--runs")
        assert listed.returncode == 0 and listed.stdout.startswith("ro "), listed.stderr
        from harness.report.render import write_report

        written = write_report(store, REG, "en", ["html", "pdf"], out=tmp_path / "out")
        assert {p.parent for p in written.values()} == {tmp_path / "out"} and all(p.exists() for p in written.values())
    assert sorted(p.relative_to(store.dir) for p in store.dir.rglob("*")) == before


def test_point7_force_on_a_read_only_run_is_refused_in_one_line_and_a_cached_run_answers(tmp_path, monkeypatch, capsys):
    """Issue 36, 7: --force asks for a recomputation a read-only folder cannot hold; saying "cached" would
    hide that nothing was computed. Without --force, a run whose items are all cached still answers."""
    from harness.run import catalogue
    from harness.run.runner import Runner
    from harness.run.store import RunStore
    from tests.conftest import toy_dataset
    from tests.fixtures.report_items.items import REG

    store = RunStore(tmp_path / "reports", "ro")
    Runner(REG, load_config("smoke"), store, lambda: toy_dataset()).run(["1.1a"])
    monkeypatch.setattr(catalogue, "items", lambda: REG)
    monkeypatch.setattr(catalogue, "discover", lambda: REG)
    monkeypatch.setattr(cli, "_loader", lambda config, data: toy_dataset)
    argv = ["--root", str(store.root), "run", "1.1a", "--profile", "smoke", "--run", "ro"]
    with read_only(store.dir):
        capsys.readouterr()
        assert cli.main(argv + ["--force"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--force cannot recompute into it" in err and "Traceback" not in err, err
        assert cli.main(argv) == 0
        assert "1.1a  cached (read-only run folder: nothing written)" in capsys.readouterr().err


# -- 15: the CLI answers without TensorFlow ------------------------------------------------------------

PROBE = """
import json, sys
from pathlib import Path
from harness.cli import main
other = Path(sys.argv[1] + "-other")  # a run folder with nothing computed yet: its report lists every item as not run
(other / "empty").mkdir(parents=True)
(other / "empty" / "manifest.json").write_text(json.dumps({"run_id": "empty", "profile": "smoke", "items": {}, "config": {}}))
codes = [main(["--root", sys.argv[1], "run", "9.9z"]), main(["--root", sys.argv[1], "list"]),
         main(["--root", str(other), "report", "--run", "empty", "--format", "html"])]
print(codes, sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


def test_point15_run_and_list_answer_without_importing_tensorflow_or_keras(tmp_path):
    env = {**os.environ, "HARNESS_DATA_DIR": str(tmp_path / "cache")}
    # The first command after a code change discovers the items (imports Keras) and keeps a catalogue.
    warm = subprocess.run([sys.executable, "-c", "from harness.run import catalogue; r = catalogue.discover(); "
                           "c = catalogue.load(); print(sorted(r.items) == sorted(c.items) and all("
                           "r.get(i).code_digest() == c.get(i).code_digest() and r.get(i).needs == c.get(i).needs "
                           "and r.get(i).title == c.get(i).title and r.get(i).source_file == c.get(i).source_file "
                           "for i in r.items))"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert warm.stdout.strip() == "True", warm.stderr
    probe = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "reports")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    # `report` writes a run's report without Keras too: it reads the catalogue, not the items
    assert probe.stdout.strip().splitlines()[-1] == "[2, 0, 0] []", probe.stdout + probe.stderr
    assert "unknown item '9.9z'" in probe.stderr


def test_point15_a_catalogue_of_other_sources_is_never_trusted(tmp_path, monkeypatch):
    from harness.run import catalogue
    from harness.registry import Registry

    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))
    reg = Registry()
    reg.item("1.1a", "toy", config=())(lambda ctx: None)
    catalogue.save(reg)
    assert list(catalogue.load().items) == ["1.1a"]
    saved = json.loads(catalogue.catalogue_path().read_text())
    catalogue.catalogue_path().write_text(json.dumps({**saved, "key": "a source file changed since"}))
    assert catalogue.load() is None


# -- 13: team names in any script reach the PDF's title page as glyphs, not boxes ------------------------

def test_point13_cjk_and_emoji_team_names_embed_fonts_that_have_them(tmp_path):
    from harness.report.render import write_report
    from harness.run.runner import Runner
    from harness.run.store import RunStore
    from tests.conftest import toy_dataset
    from tests.fixtures.report_items.items import REG

    team = tmp_path / "team.toml"
    team.write_text('[team]\nmembers = ["王小明", "김민준", "Zoë 🦊"]\n', encoding="utf-8")
    store = RunStore(tmp_path / "reports", "team")
    Runner(REG, load_config("smoke", user_file=team), store, lambda: toy_dataset()).run(["1.1a"])
    pdf = write_report(store, REG, "en", ["pdf"])["pdf"]
    fonts = subprocess.run(["pdffonts", "-l", "1", str(pdf)], capture_output=True, text=True, check=True).stdout
    cover = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "王小明" in cover and "김민준" in cover and "🦊" in cover
    # With no font holding these glyphs the page shows .notdef boxes from DejaVu, the only font embedded.
    assert "CJK" in fonts and "Emoji" in fonts, fonts


# -- issue 36, 1 and 4: a report that cannot be written, a killed report ----------------------------

@contextlib.contextmanager
def small_disk(folder: Path, size: str = "300k"):
    """A tmpfs of `size` mounted on `folder`; skips where mounting needs rights this user lacks."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a tmpfs mount needs root")
    folder.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("this machine does not allow tmpfs mounts")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def toy_run(tmp_path, monkeypatch):
    from harness.run import catalogue
    from harness.run.runner import Runner
    from harness.run.store import RunStore
    from tests.conftest import toy_dataset
    from tests.fixtures.report_items.items import REG

    store = RunStore(tmp_path / "reports", "toy")
    Runner(REG, load_config("smoke"), store, lambda: toy_dataset()).run(["1.1a", "1.1b"])
    monkeypatch.setattr(catalogue, "items", lambda: REG)
    return store


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def test_a_report_on_a_full_disk_is_one_line_and_leaves_no_temp_file(toy_run, tmp_path, capsys):
    out = tmp_path / "out"
    with small_disk(out, "16k"):
        (out / "report.html").write_text("the earlier report", encoding="utf-8")
        code = cli.main(["--root", str(toy_run.root), "report", "--run", "toy", "--format", "html,pdf", "--lang", "es",
                         "--out", str(out)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2, err
        assert err[-1].startswith("harness: error: cannot write the report in --out ") and "No space left" in err[-1]
        assert "Traceback" not in "\n".join(err)
        assert _leftovers(out) == [] and (out / "report.html").read_text(encoding="utf-8") == "the earlier report"
        assert not (out / "report.pdf").exists()  # all or nothing: no new PDF beside the old HTML


def test_a_report_into_a_read_only_run_folder_is_one_line_naming_the_fix(toy_run, capsys):
    with read_only(toy_run.dir):
        code = cli.main(["--root", str(toy_run.root), "report", "--run", "toy", "--format", "html", "--lang", "es"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "cannot write the report in the run folder 'toy' (Read-only file system)" in err[-1], err
    assert "--out DIR" in err[-1] and "Traceback" not in "\n".join(err)


def test_temp_files_a_killed_report_left_are_swept_by_the_next_report(toy_run, capsys):
    finished = subprocess.Popen(["true"])
    finished.wait()
    dead = finished.pid  # a process that is gone, as a killed report's is
    for name in (f".report.pdf.tmp-{dead}", f".submission.ipynb.tmp-{dead}", f".report.html.old-{dead}"):
        (toy_run.dir / name).write_bytes(b"half a file")
    (toy_run.dir / f".report.pdf.tmp-{os.getpid()}x").write_bytes(b"not ours: no pid suffix")
    assert cli.main(["--root", str(toy_run.root), "report", "--run", "toy", "--format", "html", "--lang", "en"]) == 0
    assert _leftovers(toy_run.dir) == [f".report.pdf.tmp-{os.getpid()}x"]


def test_a_report_is_renamed_into_place_only_when_every_file_is_written(toy_run, monkeypatch):
    """A failing PDF leaves the earlier HTML and PDF in place, and no new HTML beside them."""
    from harness.report import render
    from tests.fixtures.report_items.items import REG

    render.write_reports(toy_run, REG, ("es",), ["html", "pdf"])
    before = {name: (toy_run.dir / name).read_bytes() for name in ("report.html", "report.pdf")}

    def broken_pdf(html, folder, out):
        raise OSError(28, "No space left on device", str(out))

    monkeypatch.setattr(render, "_write_pdf", broken_pdf)
    monkeypatch.setattr(render.os, "cpu_count", lambda: 1)  # in this process, where the patch applies
    with pytest.raises(HarnessError, match="cannot write the report in the run folder 'toy'"):
        render.write_reports(toy_run, REG, ("es",), ["html", "pdf"])
    assert {name: (toy_run.dir / name).read_bytes() for name in before} == before
    assert _leftovers(toy_run.dir) == []


DIES_WITH_PARENT = """
import os, sys, time
from harness.report.render import die_with_parent
parent = os.getpid()
child = os.fork()
if child == 0:
    die_with_parent(parent)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
time.sleep(60)
"""


def test_a_report_worker_dies_with_a_killed_report():
    """kill -9 of `harness report` once left its PDF worker running; a minute later it replaced report.pdf.
    The PDF worker and the per-language workers call die_with_parent first."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-c", DIES_WITH_PARENT], stdout=subprocess.PIPE, cwd=ROOT)
    child = int(proc.stdout.readline())
    time.sleep(0.5)  # the child has set its death signal
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child), "the worker outlived the command that forked it"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
