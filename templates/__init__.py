"""The report's and the panel's files: Jinja templates, stylesheets, interface strings, the
panel's script.

Installed as the package `harness.templates` (pyproject.toml maps this folder to that name), so
`importlib.resources` finds the files in an editable checkout and in an installed wheel alike.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def folder() -> Path:
    """The folder holding the files (a real folder: setuptools installs packages unzipped)."""
    return Path(str(files(__name__)))


def read_text(name: str) -> str:
    """One file's text; a missing file is a broken install, said in one line."""
    try:
        return (files(__name__) / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        from harness.errors import HarnessError

        raise HarnessError(f"missing template file {name}; reinstall the harness or restore it from git") from None
