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


# -- the install respects the backend already there (README: which command where) ---------------------------

PREINSTALLED = "a GPU build installed before us"


def stub_wheel(folder: Path, dist: str, import_name: str, mark: str, version: str = "2.99.0") -> Path:
    """A minimal wheel of `dist` whose import package says which one it is: pip resolves and installs
    it like the real one, in a second and offline."""
    import base64
    import hashlib

    stem = f"{dist.replace('-', '_')}-{version}"
    files = {
        f"{import_name}/__init__.py": f"MARK = {mark!r}\n",
        f"{stem}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{stem}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(text.encode())}" for name, text in files.items()]
    files[f"{stem}.dist-info/RECORD"] = "\n".join(record + [f"{stem}.dist-info/RECORD,,"]) + "\n"
    path = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    """What pip may install from: both TensorFlow distributions, as stubs. If our metadata asked for
    `tensorflow-cpu`, pip would find it here and install it over the pre-installed `tensorflow`."""
    folder = tmp_path_factory.mktemp("index")
    stub_wheel(folder, "tensorflow-cpu", "tensorflow", "tensorflow-cpu from our install")
    stub_wheel(folder, "tensorflow", "tensorflow", "tensorflow from our install")
    return folder


def venv_without_backend(tmp_path: Path) -> Path:
    """A fresh venv that sees the test venv's packages except TensorFlow and this project: every other
    dependency is already satisfied, so pip resolves our real metadata offline."""
    env_dir, view = tmp_path / "venv", tmp_path / "deps"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    view.mkdir()
    for site_dir in site.getsitepackages():
        for entry in Path(site_dir).iterdir():
            if not entry.name.lower().startswith(("tensorflow", "inf395_harness", "__editable__")):
                (view / entry.name).symlink_to(entry)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "deps.pth").write_text(f"{view}\n")
    return python


def pip(python: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), *args, "--disable-pip-version-check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def installed(python: Path) -> dict[str, str]:
    import json

    return {d["name"].lower(): d["version"] for d in json.loads(pip(python, "list", "--format", "json"))}


def imported_tensorflow(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import tensorflow; print(tensorflow.MARK)"], check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""}).stdout.strip()


@pytest.mark.slow
def test_installing_beside_an_existing_tensorflow_adds_only_this_project(wheel, index, tmp_path):
    python = venv_without_backend(tmp_path)
    pip(python, "install", "--no-index", str(stub_wheel(tmp_path, "tensorflow", "tensorflow", PREINSTALLED)))
    before = installed(python)
    pip(python, "install", "--no-index", "--find-links", str(index), str(wheel))  # README: `pip install -e .`
    after = installed(python)
    assert "tensorflow-cpu" not in after
    assert set(after) - set(before) == {"inf395-harness"}
    assert {name: after[name] for name in before} == before  # nothing replaced: TensorFlow, JAX, Keras as they were
    assert imported_tensorflow(python) == PREINSTALLED


@pytest.mark.slow
def test_a_bare_machine_gets_a_cpu_backend_from_the_cpu_extra(wheel, index, tmp_path):
    import platform

    python = venv_without_backend(tmp_path)
    pip(python, "install", "--no-index", "--find-links", str(index), f"{wheel}[cpu]")  # README: `pip install -e '.[cpu]'`
    expected = "tensorflow-cpu" if platform.machine() == "x86_64" else "tensorflow"
    assert expected in installed(python)
    assert imported_tensorflow(python) == f"{expected} from our install"
