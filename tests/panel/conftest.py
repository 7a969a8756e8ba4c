"""One smoke run (1.1e, the VAE the explorer decodes with, 1.2c, and a two-person team) trained once
for the whole tests/panel package, and the panel launched over it on a free localhost port."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.config import load_config
from harness.registry import discover
from harness.run.runner import Runner
from harness.run.store import RunStore

RUN = "smoke"
CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="package")
def reports(tmp_path_factory) -> Path:
    """A smoke run with 1.1e trained, 1.2c's freezing proof (a figure drawn apart for the slide) and a two-person team, given as `--config team.toml` gives it
    (a settings file, not a --set override: the run must keep it by itself)."""
    from harness.data import load_dataset

    root = tmp_path_factory.mktemp("reports")
    team = root.parent / "team.toml"
    team.write_text('[team]\nmembers = ["Ana", "Beto"]\n\n[course]\nprofessor = "Prof. Prueba"\n', encoding="utf-8")
    config = load_config("smoke", user_file=team)
    summary = Runner(discover(), config, RunStore(root, RUN), lambda: load_dataset("mnist")).run(["1.1e", "1.2c"])
    assert all(o.status == "ok" for o in summary.outcomes if o.id in ("1.1e", "1.2c")), summary.outcomes
    return root


@pytest.fixture(scope="package")
def served(reports):
    from harness.panel import app as panel

    app = panel.build_app(reports, RUN)
    port = free_port()
    panel.launch(app, port=port, prevent_thread_lock=True, quiet=True)
    yield app, f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="package")
def client(served):
    from gradio_client import Client

    return Client(served[1], verbose=False)


@pytest.fixture(scope="package")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()
