"""The hosted-notebook quick start (notebooks/colab*.ipynb): valid, built from notebooks/build.py, reaching
nothing but this repository and PyPI, and refusing to start without the repository's URL."""
import os
import re

import nbformat
import pytest

from notebooks import build
from tests.conftest import ROOT

LANGS = ("es", "en")
URL = re.compile(r"[a-z]+://[^\s)\"'…]+")


def cells(lang: str, kind: str | None = None) -> list:
    nb = nbformat.read(build.FILES[lang], as_version=4)
    return [c for c in nb.cells if kind is None or c.cell_type == kind]


@pytest.mark.parametrize("lang", LANGS)
def test_the_committed_notebook_is_valid_and_is_what_the_builder_writes(lang):
    nb = nbformat.read(build.FILES[lang], as_version=4)
    nbformat.validate(nb)
    assert nbformat.writes(nb) == nbformat.writes(build.notebook(lang)), "run: python -m notebooks.build"


@pytest.mark.parametrize("lang", LANGS)
def test_it_reaches_only_this_repository_and_the_package_registry(lang):
    assert not [URL.findall(c.source) for c in cells(lang) if URL.findall(c.source)]  # the URL is the user's
    shell = [line.strip() for c in cells(lang, "code") for line in c.source.splitlines() if line.strip().startswith("!")]
    assert shell == ["!pip install -q -e .", '!python -m harness run --profile {PROFILE} --report {" ".join(config)}']
    clone = next(c.source for c in cells(lang, "code") if "git" in c.source)
    assert '"git", "clone", "--depth", "1", *branch, REPO_URL.strip(), REPO_DIR' in clone
    assert "/content" not in "".join(c.source for c in cells(lang))  # no machine's path


def run_cells(lang: str, **settings) -> dict:
    """The settings cell, edited as the user would, then the clone cell, in one namespace."""
    code = {c.id: c.source for c in cells(lang, "code")}
    namespace: dict = {}
    exec(code["settings"], namespace)
    namespace.update(settings)
    exec(code["clone"], namespace)
    return namespace


@pytest.mark.parametrize("lang, words", [("es", "REPO_URL está vacío"), ("en", "REPO_URL is empty")])
def test_without_the_repository_url_it_says_what_to_write(lang, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=words):
        run_cells(lang)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_it_clones_the_repository_once_and_works_inside_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = run_cells("en", REPO_URL=str(ROOT))
    assert os.getcwd() == str(tmp_path / "inf395-harness") and (tmp_path / "inf395-harness" / "pyproject.toml").is_file()
    run_cells("en", REPO_URL=str(ROOT), START_DIR=namespace["START_DIR"])  # run again: same folder, no second clone
    assert os.getcwd() == str(tmp_path / "inf395-harness") and not (tmp_path / "inf395-harness" / "inf395-harness").exists()
