"""A normal, non-editable install works: the wheel carries the templates, strings, profiles and answers.

The wheel is built from this checkout and installed without -e into a fresh venv; its
dependencies come from the test venv (a .pth line: nothing is downloaded, and the editable
install's own finder is not inherited). Everything then runs from a folder outside the checkout,
so nothing can be found through the source tree.
"""
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("harness/templates/report.html.j2", "harness/templates/report.css", "harness/templates/strings.toml",
           "harness/templates/panel.css", "harness/templates/panel.js", "harness/profiles.toml",
           "experiments/vae/answers/es/1.1a.md", "experiments/gan/answers/en/items.toml")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the checkout's files (tracked and new, not ignored): setuptools' build/
    folder in the checkout could hold modules that no longer exist."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("inf395_harness-*.whl")
    return built


def test_the_wheel_ships_every_file_the_report_and_panel_read(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in SHIPPED if name not in names]
    assert not missing, missing


@pytest.mark.slow
def test_an_installed_wheel_runs_and_reports_outside_the_checkout(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()
    # The test venv's packages (TensorFlow, Keras, WeasyPrint...) as dependencies, without its
    # editable finder for this project: a plain path line does not run the .pth files it points at.
    Path(target, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": "", "HARNESS_REPORTS": str(work / "reports")}

    def harness(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), "-m", "harness", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=900)

    where = subprocess.run([str(python), "-c", "import harness, harness.templates as t; print(harness.__file__); "
                                               "print(t.folder())"], cwd=work, env=env, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout and target in where.stdout
    ran = harness("run", "1.1a", "1.2a", "--profile", "smoke", "--run", "wheel")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    reported = harness("report", "--run", "wheel", "--lang", "es", "--format", "html")
    assert reported.returncode == 0, reported.stdout + reported.stderr
    html = (work / "reports" / "wheel" / "report.html").read_text(encoding="utf-8")
    assert "1.1a" in html and "1.2a" in html and "<style" in html
