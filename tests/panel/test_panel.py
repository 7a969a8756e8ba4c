"""The Gradio panel (harness serve): its API through gradio_client, its security, and a real browser.

One smoke run (1.1e, the VAE the explorer decodes with) is trained once for the
module; the app is launched in this process on a free localhost port.
"""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from harness.errors import HarnessError
from harness.panel.jobs import JobQueue
from harness.panel.state import safe_file, wait_for
from tests.panel.conftest import RUN, free_port
from harness.run.store import RunStore

# Every test here shares a model trained at the smoke profile (tests/panel/conftest.py).
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_slide_figures_resolve_with_a_relative_reports_root(reports, monkeypatch):
    """`harness serve` is run as `--root reports` (relative): every slide's figure must still be served."""
    from harness.panel.deck import deck_html, slide_parts
    from harness.panel.state import Panel

    monkeypatch.chdir(reports.parent)
    panel = Panel(Path(reports.name), RUN)
    parts = slide_parts(panel, "es", panel.view("es").item("1.1e"))
    assert parts["figure"] is not None and parts["caption"]
    html = deck_html(panel, "es")
    assert "data:image/png;base64," in html
    assert str(reports.resolve()) not in html  # figures are inlined: no machine path reaches the page


# ---------------------------------------------------------------- through the API
def test_run_an_item_at_smoke_through_the_api(served, client):
    import json

    import re

    ack = client.predict("1.1a", True, "en", api_name="/run_item")
    started = re.search(r"Job #(\d+) started", ack)  # other tests of the package may have queued jobs before
    assert started, ack
    deadline = time.time() + 240
    while time.time() < deadline:
        job = json.loads(client.predict(int(started.group(1)), api_name="/job"))
        if job["state"] not in ("queued", "running"):
            break
        time.sleep(0.5)
    assert job["state"] == "done", job
    assert job["outcomes"] == {"1.1a": "ok"}
    result = json.loads(client.predict("1.1a", "en", api_name="/item_result"))
    assert result["status"] in ("ok", "cached") and result["metrics"], result
    manifest = served[0].panel.manifest()
    assert manifest["config"]["team"]["members"] == ["Ana", "Beto"]  # a panel re-run keeps the team
    assert manifest["config"]["course"]["professor"] == "Prof. Prueba"
    assert manifest["profile"] == "smoke"


def test_run_with_no_item_chosen_says_so_and_queues_nothing(served, client):
    jobs = served[0].panel.jobs
    before = jobs.last()
    ack = client.predict(None, False, "en", api_name="/run_item")
    assert ack == "⚠ Choose an item to run.", ack
    assert jobs.last() is before


def test_decoding_a_latent_point_changes_the_image(client):
    from PIL import Image

    a = np.asarray(Image.open(client.predict(0.0, 0.0, api_name="/decode")))
    b = np.asarray(Image.open(client.predict(2.5, -2.5, api_name="/decode")))
    assert a.shape == b.shape == (280, 280, 3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0


def test_draw_a_presenter_from_a_two_person_team(client):
    drawn = {client.predict(api_name="/draw_presenter") for _ in range(25)}
    assert drawn == {"Ana", "Beto"}


def test_slides_come_in_handout_order_with_labelled_numbers(client):
    import json

    slides = json.loads(client.predict("en", api_name="/slides"))
    ids = [sl["id"] for sl in slides]
    assert ids[:3] == ["1.1a", "1.1b", "1.1c"] and ids.index("1.1e") < ids.index("1.2a")
    e = slides[ids.index("1.1e")]
    assert e["figure"] and 2 <= len(e["points"]) <= 4 and 1 <= len(e["numbers"]) <= 3
    assert all(n["label"] and n["label"] != "test_neg_elbo" for n in e["numbers"])
    assert any(n["unit"] == "nats" for n in e["numbers"])


# ---------------------------------------------------------------- security
def test_files_outside_the_run_folder_are_refused(served, reports):
    _, url = served
    secret = reports / "secret.txt"
    secret.write_text("not for the browser")
    run_dir = (reports / RUN).resolve()
    inside = run_dir / "items" / "1.1e" / "result.json"
    assert requests.get(f"{url}gradio_api/file={inside}", timeout=10).status_code == 200
    for path in ("/etc/passwd", f"{run_dir}/../secret.txt", f"{run_dir}/%2e%2e/secret.txt", str(secret)):
        assert requests.get(f"{url}gradio_api/file={path}", timeout=10).status_code in (403, 404), path
    with pytest.raises(HarnessError, match="run folder"):
        safe_file(run_dir, "../secret.txt")
    with pytest.raises(HarnessError, match="run folder"):
        safe_file(run_dir, "/etc/passwd")
    link = run_dir / "escape.txt"
    link.symlink_to(secret)
    try:
        with pytest.raises(HarnessError, match="run folder"):
            safe_file(run_dir, "escape.txt")
    finally:
        link.unlink()
    assert safe_file(run_dir, "items/1.1e/result.json") == inside


def test_auth_guards_every_route(reports):
    from gradio_client import Client

    from harness.panel import app as panel

    app = panel.build_app(reports, RUN)
    port = free_port()
    panel.launch(app, port=port, auth=("prof", "s3cret"), prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert requests.get(f"{url}config", timeout=10).status_code == 401
        inside = (reports / RUN / "items" / "1.1e" / "result.json").resolve()
        assert requests.get(f"{url}gradio_api/file={inside}", timeout=10).status_code == 401
        with pytest.raises(Exception):
            Client(url, verbose=False)
        with pytest.raises(Exception):
            Client(url, auth=("prof", "wrong"), verbose=False)
        assert Client(url, auth=("prof", "s3cret"), verbose=False).predict(api_name="/draw_presenter") in ("Ana", "Beto")
    finally:
        app.close()


def test_a_port_in_use_is_one_line(reports):
    from harness.panel import app as panel

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(HarnessError, match=f"^port {port} is in use; pass --port N$"):
            panel.serve(reports, RUN, port=port)


# ---------------------------------------------------------------- queue and lock
def test_a_second_request_waits_in_the_queue():
    release = threading.Event()
    ran: list[list[str]] = []

    def run_job(job):
        ran.append(job.items)
        release.wait(10)
        job.on_event("done", item=job.items[0], status="ok", timing={"wall_s": 0.1})

    queue = JobQueue(run_job)
    first, second = queue.submit(["a"], "smoke"), queue.submit(["b"], "smoke")
    deadline = time.time() + 5
    while queue.position(first) != 0 and time.time() < deadline:
        time.sleep(0.01)
    assert (queue.position(first), queue.position(second)) == (0, 1)
    assert ran == [["a"]]  # never two at once
    release.set()
    assert queue.wait_idle(10)
    assert (first.state, second.state, ran) == ("done", "done", [["a"], ["b"]])


def test_a_cli_run_holding_the_lock_refuses_the_job_with_one_line(served, reports):
    app, _ = served
    with RunStore(reports, RUN).lock(holder="harness run"):
        job = wait_for(app.panel.submit(["1.1a"]), 60)
    assert job.state == "refused"
    assert "is in use by harness run" in job.message and "\n" not in job.message


def test_cancel_stops_the_running_item(served):
    app, _ = served
    job = app.panel.submit(["1.1e"], force=True)
    deadline = time.time() + 120
    while job.total == 0 and not job.final and time.time() < deadline:
        time.sleep(0.05)
    app.panel.jobs.cancel()
    wait_for(job, 120)
    assert job.state == "cancelled", (job.state, job.message)
    assert app.panel.store.load_result("1.1e").ok  # the earlier result is kept


def test_an_explorer_value_typed_out_of_range_is_taken_at_the_nearest_end(served, client):
    """Gradio's slider answered 99 on a [-3, 3] slider with an English error toast and a server traceback;
    the slider's event now hands the raw value to the explorer, which takes it at the slider's end."""
    from harness.panel.explore import GanExplorer

    vae = served[0].panel.vae
    vae.ensure()
    lim = vae.latents.limit
    assert np.array_equal(vae.decode(99.0, -99.0), vae.decode(lim, -lim))
    assert not np.array_equal(vae.decode(99.0, -99.0), vae.decode(0.0, 0.0))
    assert client.predict(99.0, 0.0, api_name="/decode")  # through the panel's endpoint: answered, not refused

    gan = GanExplorer.__new__(GanExplorer)  # the GAN's clamp, on a generator that returns its noise
    gan.noise, gan.noise_dim, gan.ensure = "uniform", 2, lambda: None
    gan.generator = lambda z, training=False: np.broadcast_to(np.asarray(z)[:, :1, None, None] * 0 + z[0, 0], (1, 28, 28, 1))
    assert gan.from_noise(-50.0, 0.3)[0, 0, 0] == 0  # -1 after the clamp, shown as black
    assert gan.from_noise(50.0, 0.3)[0, 0, 0] == 255  # +1, white


def test_every_tab_is_built_in_the_language_the_panel_opens_in(reports):
    """With --lang en the Items, Compare and Report tabs opened with Spanish buttons until the radio moved."""
    import gradio as gr

    from harness.panel import app as panel_app

    for lang, run_word in (("en", "Run"), ("es", "Ejecutar")):
        blocks = panel_app.build_app(reports, RUN, lang=lang)
        buttons = [b.value for b in blocks.blocks.values() if isinstance(b, gr.Button) and b.visible]
        assert run_word in buttons, (lang, buttons)
        other = "Ejecutar" if lang == "en" else "Run"
        assert other not in buttons, (lang, buttons)
