"""Honest live jobs (issue 20, deliverable 4): phases as they happen, a Cancel that says what it did,
a re-run that says what it will recompute and for how long, jobs owned by the browser tab that
started them, the run's own profile, and the pre-talk check.

Most tests drive the panel's real queue, runner and store with small items of their own (a
"training" whose steps the test holds and releases); the real smoke run of tests/panel/conftest.py
shows the phases of a real training and the evaluator named in a plan.
"""
from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from harness.config import load_config
from harness.panel.jobs import Job
from harness.panel.pretalk import pretalk, pretalk_html, print_pretalk
from harness.panel.state import Panel, wait_for
from harness.panel.tabs import cancel_md
from harness.panel.views import plan_md, progress_html
from harness.registry import Registry
from harness.run.runner import Runner
from harness.run.store import RunStore
from tests.panel.conftest import RUN

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning")]


class Held:
    """The test's hand on a running item: the item waits at `hold` until the test releases it."""

    def __init__(self) -> None:
        self.reached, self.release = threading.Event(), threading.Event()

    def hold(self) -> None:
        self.reached.set()
        assert self.release.wait(30), "the test never released the item"


def small_registry(held: Held) -> Registry:
    reg = Registry()

    @reg.item("9.9a", "a trained item", config=("vae",), uses_data=False, shows=("vae_explorer",))
    def trained(ctx):
        ctx.phase("compile")
        for step in range(1, 4):
            ctx.progress(step, 3, "step")  # the last step leaves the item evaluating
        held.hold()
        ctx.metric("value", 1.0)

    @reg.item("9.9b", "an item that needs it", needs=("9.9a",), config=("vae",), uses_data=False)
    def dependent(ctx):
        ctx.metric("twice", 2 * ctx.input("9.9a").metrics["value"])

    return reg


@pytest.fixture
def small(tmp_path):
    """A run of the two small items (9.9a computed once) and a panel over it; no team configured."""
    held = Held()
    held.release.set()  # the first computation is not held
    reg = small_registry(held)
    Runner(reg, load_config("smoke"), RunStore(tmp_path, "small")).run(["9.9a"])
    held.release.clear()
    held.reached.clear()
    return Panel(tmp_path, "small", registry=reg), held, tmp_path


def result_bytes(panel: Panel, item_id: str) -> bytes:
    return (panel.store.item_dir(item_id) / "result.json").read_bytes()


# ---------------------------------------------------------------- phases
def test_phases_replace_the_bar_once_training_ends(small):
    panel, held, _ = small
    job = panel.submit(["9.9a"], force=True)
    assert held.reached.wait(30)
    assert job.phase == "evaluate" and (job.done, job.total) == (3, 3)
    line = progress_html(panel, "es")
    assert "9.9a · evaluando…" in line and "100%" not in line and "class='bar'" not in line, line
    assert "evaluating…" in progress_html(panel, "en")
    held.release.set()
    assert wait_for(job, 30).state == "done", job.message
    from harness.report.content import strings

    # the log is written in the language it is read in, the item's outcome included
    assert job.log_text(strings("en"), "en").splitlines()[-1].startswith("== done")
    es = job.log_text(strings("es"), "es")
    assert es.splitlines()[-1].startswith("== terminado") and "✓ 9.9a listo en " in es and " in " not in es


def test_a_real_smoke_training_reports_its_phases_in_order(served, monkeypatch):
    app, _ = served
    seen: list[str] = []
    original = Job.on_event

    def record(job, kind, **kw):
        original(job, kind, **kw)
        if kind == "phase" and kw["item"] == "1.1e" and (not seen or seen[-1] != kw["phase"]):
            seen.append(kw["phase"])
        elif kind == "progress" and kw["item"] == "1.1e" and (not seen or seen[-1] != "train"):
            seen.append("train")

    monkeypatch.setattr(Job, "on_event", record)
    job = wait_for(app.panel.submit(["1.1e"], force=True), 300)
    assert job.state == "done", job.message
    order = [p for p in ("data", "compile", "train", "evaluate", "save") if p in seen]
    assert order == ["data", "compile", "train", "evaluate", "save"], seen
    assert [seen.index(p) for p in order] == sorted(seen.index(p) for p in order), seen


# ---------------------------------------------------------------- cancel
def test_cancel_before_the_save_keeps_the_cache_as_it_was(small):
    panel, held, root = small
    before = result_bytes(panel, "9.9a")
    job = panel.submit(["9.9a"], force=True)
    assert held.reached.wait(30)  # trained, now evaluating: nothing saved yet
    assert panel.cancel_job() is job
    held.release.set()
    wait_for(job, 30)
    assert job.state == "cancelled" and job.outcomes == {"9.9a": "cancelled"}, (job.state, job.outcomes)
    assert result_bytes(panel, "9.9a") == before  # the cache is untouched
    assert not list(panel.store.items_dir.glob(".tmp-*"))  # nothing half-written is left
    assert "No se guardó nada" in progress_html(panel, "es")
    assert "cancelado" in progress_html(panel, "es")


def test_a_cancel_that_arrives_while_saving_says_the_item_finished_first(small, monkeypatch):
    panel, held, _ = small
    held.release.set()
    original = Job.on_event

    def cancel_at_save(job, kind, **kw):  # the user clicks Cancel while the result is being written
        original(job, kind, **kw)
        if kind == "phase" and kw["phase"] == "save":
            assert panel.cancel_job() is job

    monkeypatch.setattr(Job, "on_event", cancel_at_save)
    before = result_bytes(panel, "9.9a")
    job = wait_for(panel.submit(["9.9a"], force=True), 30)
    assert job.state == "finished_first" and job.outcomes == {"9.9a": "ok"}, (job.state, job.outcomes)
    assert result_bytes(panel, "9.9a") != before  # saved anew
    es, en = progress_html(panel, "es"), progress_html(panel, "en")
    assert "terminó antes de cancelar; resultado guardado" in es and "cancelado" not in es, es
    assert "finished before the cancel; result saved" in en and "cancelled" not in en, en


def test_a_cancel_between_two_items_names_what_was_saved(small, monkeypatch):
    panel, held, _ = small
    held.release.set()
    original = Job.on_event

    def cancel_after_first(job, kind, **kw):
        original(job, kind, **kw)
        if kind == "done" and kw["item"] == "9.9a":
            panel.cancel_job()

    monkeypatch.setattr(Job, "on_event", cancel_after_first)
    job = wait_for(panel.submit(["9.9a", "9.9b"], force=True), 30)
    assert job.state == "cancelled" and job.outcomes == {"9.9a": "ok", "9.9b": "cancelled"}, job.outcomes
    assert panel.store.load_result("9.9b") is None
    assert "Se guardó antes de cancelar: 9.9a." in progress_html(panel, "es")


# ---------------------------------------------------------------- one talk, every window
def test_any_window_of_the_talk_cancels_its_running_job(small):
    """After F5 the presenter could not cancel their own job ("started in another tab", issue 35
    point 2): a job belongs to the talk, and Cancel from any window stops the one training."""
    panel, held, _ = small
    job = panel.submit(["9.9a"], force=True)
    assert held.reached.wait(30)
    queued = panel.submit(["9.9b"])
    line = progress_html(panel, "en")
    assert f"#{job.id} 9.9a" in line and "another tab" not in line, line
    assert cancel_md(panel, "es") == "Cancelando el trabajo en curso…"
    held.release.set()
    assert wait_for(job, 30).state == "cancelled"
    assert wait_for(queued, 30).state == "done"  # Cancel stopped the running job, not the next one
    assert cancel_md(panel, "en") == "Nothing is training."


def test_two_browser_sessions_through_the_api(served):
    """Two gradio clients are two windows of one talk: B's Cancel stops the job A started."""
    from gradio_client import Client

    app, url = served
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    ack = a.predict("1.1e", True, "es", api_name="/run_item")
    job = app.panel.jobs.job(int(re.search(r"#(\d+)", ack).group(1)))
    assert job is not None and "Se recalcularán 1.1e" in ack, ack
    # A second press while it trains queues nothing and says which job already does it; Run on a cached
    # item without "recompute" starts no job at all.
    assert a.predict("1.1e", True, "es", api_name="/run_item") == f"El trabajo #{job.id} ya recalcula 1.1e: no se encola otra vez."
    cached = next(i for i, st in app.panel.statuses().items() if st == "cached" and i != "1.1e")
    assert b.predict(cached, False, "es", api_name="/run_item").startswith(f"Nada que recalcular: {cached} ya está al día")
    assert [j.id for j in app.panel.jobs.active()] == [job.id]
    # The presenter view asks the talk for its job line, in its language, and cancels through the talk.
    seen = json.loads(b.predict("", "es", api_name="/talk"))
    assert f"#{job.id} 1.1e" in seen["job"] and seen["job_active"] is True, seen
    said = json.loads(b.predict(json.dumps({"cancel": True}), "es", api_name="/talk"))["said"]
    assert said == "Cancelando el trabajo en curso…", said
    assert wait_for(job, 180).state == "cancelled", (job.state, job.outcomes)
    assert app.panel.store.load_result("1.1e").ok
    assert json.loads(b.predict("", "en", api_name="/talk"))["job_active"] is False


# ---------------------------------------------------------------- what a re-run will recompute
def test_the_plan_names_the_items_and_the_time_this_run_recorded(small):
    panel, _, _ = small
    wall = panel.manifest()["items"]["9.9a"]["timing"]["wall_s"]
    assert panel.rerun_plan(["9.9a"], force=True) == (["9.9a"], pytest.approx(wall))
    assert plan_md(panel, "es", ["9.9a"], True) == (
        f"Se recalcularán 9.9a, con el perfil smoke de esta corrida (≈ {max(1, round(wall))} s según esta corrida).")
    assert plan_md(panel, "es", ["9.9a"], False).startswith("Nada que recalcular: 9.9a ya está al día")
    # 9.9b never ran here: its time is unknown, and the plan says so rather than guess.
    assert plan_md(panel, "en", ["9.9b"], False) == (
        "Will recompute 9.9b, at this run's profile smoke (time unknown: this run has no recorded time for 9.9b).")


def test_the_plan_names_the_evaluator_when_its_cache_is_gone(reports, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(reports, root)
    shutil.rmtree(root / RUN / "items" / "eval.classifier")
    panel = Panel(root, RUN)
    todo, seconds = panel.rerun_plan(["1.1e"])
    assert todo == ["eval.classifier"] and seconds is not None
    assert plan_md(panel, "es", ["1.1e"], False).startswith("Se recalcularán E1 (el evaluador), con el perfil smoke")
    assert panel.rerun_plan(["1.1e"], force=True)[0] == ["eval.classifier", "1.1e"]


# ---------------------------------------------------------------- the run's profile
def test_a_rerun_keeps_the_runs_profile_and_settings(reports, tmp_path, capsys, client):
    """serve --config may bring the team, never other training settings; the run's API has no profile."""
    params = [p["parameter_name"] for p in client.view_api(return_format="dict", print_info=False)
              ["named_endpoints"]["/run_item"]["parameters"]]
    assert params == ["item_id", "force", "lg"]
    team = tmp_path / "team.toml"
    team.write_text('[team]\nmembers = ["Ana", "Beto"]\n\n[vae]\nepochs = 7\n', encoding="utf-8")
    before = Panel(reports, RUN).statuses()
    panel = Panel(reports, RUN, settings_file=team)
    assert "ignored vae" in capsys.readouterr().out
    assert panel.config().get("vae.epochs") == load_config("smoke").get("vae.epochs")
    assert panel.statuses() == before  # nothing turned stale
    assert panel.profile == "smoke"  # what Panel.submit queues every job at


# ---------------------------------------------------------------- pre-talk check
def test_pretalk_names_the_missing_model_the_team_and_the_items(small, capsys):
    panel, _, _ = small
    lines = pretalk(panel, "es")
    assert "Explorador VAE: falta el modelo; vuelve a ejecutar 9.9a en la pestaña Ítems." in lines  # it saved none
    assert any(line.startswith("Equipo no configurado") for line in lines)
    assert "Ítems sin ejecutar: 9.9b." in lines
    print_pretalk(panel)
    out = capsys.readouterr().out.splitlines()
    assert "harness: Before the talk: Items not run: 9.9b." in out and len(out) == len(lines)
    print_pretalk(panel, "es")  # `serve --lang es` prints it in Spanish
    assert "harness: Antes de presentar: Ítems sin ejecutar: 9.9b." in capsys.readouterr().out.splitlines()
    assert "<summary>⚠ Antes de presentar (3)</summary>" in pretalk_html(panel, "es")


def test_pretalk_on_the_smoke_run_and_in_the_presentation_tab(served, browser):
    app, url = served
    lines = pretalk(app.panel, "en")
    assert not any(line.startswith("Team not configured") for line in lines)  # conftest's team.toml
    assert not any(line.startswith("VAE explorer") for line in lines)  # 1.1e saved its model
    assert any(line.startswith("GAN explorer: its model is missing; re-run 1.2") for line in lines), lines
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        page.goto(url)
        summary = page.locator("#pretalk summary")
        summary.wait_for(timeout=60_000)
        assert summary.inner_text().startswith("⚠ Antes de presentar")
        box = summary.bounding_box()
        assert box is not None and box["height"] < 40  # one folded line above the slide
        summary.click()
        assert "Explorador GAN: falta el modelo" in page.locator("#pretalk").inner_text()
        page.get_by_role("tab", name="Ítems").click()  # the Items tab says what Run would recompute
        plan = page.locator("#rerun-plan")
        page.wait_for_function("document.querySelector('#rerun-plan').innerText.includes('1.1a')", timeout=60_000)
        assert plan.inner_text().startswith(("Se recalcularán 1.1a", "Nada que recalcular: 1.1a")), plan.inner_text()
    finally:
        page.close()


# ---------------------------------------------------------------- the runner's sentences in the panel's language
def test_a_failed_and_a_skipped_item_speak_the_panels_language(tmp_path):
    """The runner's own sentences (a skip's reason) come in Spanish; an exception's own message,
    which cannot be translated, comes under a Spanish lead: in the job's log, the job's line and the Items tab."""
    from harness.panel.views import item_detail_html
    from harness.report.content import strings

    reg = Registry()

    @reg.item("9.8a", "an item that breaks", config=(), uses_data=False)
    def breaks(ctx):
        raise ValueError("boom at step 3")

    @reg.item("9.8b", "an item that needs it", needs=("9.8a",), config=(), uses_data=False)
    def needs_it(ctx):
        ctx.metric("x", 1.0)

    Runner(reg, load_config("smoke"), RunStore(tmp_path, "bad")).run(["9.8b"])
    panel = Panel(tmp_path, "bad", registry=reg)
    job = wait_for(panel.submit(["9.8b"], force=True), 60)
    assert job.state == "failed" and job.outcomes == {"9.8a": "failed", "9.8b": "skipped"}

    es, en = job.log_text(strings("es"), "es"), job.log_text(strings("en"), "en")
    assert "- 9.8b omitido: necesita 9.8a, que no terminó" in es, es
    assert "✗ 9.8a falló: mensaje del programa (en inglés): ValueError: boom at step 3" in es, es
    assert es.splitlines()[-1] == "== falló: 9.8a falló, 9.8b omitido", es
    for english in ("which did not finish", "failed", "skipped", "the program's message"):
        assert english not in es, (english, es)
    assert "- 9.8b skipped: needs 9.8a, which did not finish" in en and "9.8a failed, 9.8b skipped" in en, en

    line = progress_html(panel, "es")
    assert "9.8a falló" in line and "9.8b omitido" in line and "failed" not in line, line
    skipped, failed = item_detail_html(panel, "es", "9.8b"), item_detail_html(panel, "es", "9.8a")
    assert "necesita 9.8a, que no terminó" in skipped and "which did not finish" not in skipped, skipped
    assert "mensaje del programa (en inglés): ValueError: boom at step 3" in failed, failed
    assert "which did not finish" in item_detail_html(panel, "en", "9.8b")


def test_the_training_line_is_in_the_panel_language(small):
    """The bar's line once said "batch 3/40 · 8% · ETA 0:12" on a Spanish panel."""
    panel, _, _ = small
    job = Job(99, ["9.9a"], "smoke", False, state="running", item="9.9a", phase="train",
              item_started=time.time() - 12, done=3, total=40, unit="batch")
    panel.jobs.history.append(job)
    es, en = progress_html(panel, "es"), progress_html(panel, "en")
    assert "lotes 3/40 · 8 % · transcurrido" in es and "faltan ≈ 2:" in es, es
    assert not {"ETA", "batch"} & set(re.findall(r"\w+", es)), es
    assert "batches 3/40 · 8 % · elapsed" in en and "≈ 2:" in en and "left" in en, en


def test_a_damaged_model_is_named_by_the_pretalk_check_and_the_explorer_in_the_panels_language(reports, tmp_path):
    """4 KiB overwritten in the middle of 1.1e's saved VAE: 'damaged', with the re-run that repairs it
    (the explorer used to say the item had not run, in English)."""
    from harness.panel.views import explorer_message

    root = tmp_path / "copy"
    shutil.copytree(reports, root)
    model = next((root / RUN / "items" / "1.1e" / "models").glob("*.keras"))
    data = bytearray(model.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4096] = b"\0" * 4096
    model.write_bytes(bytes(data))
    panel = Panel(root, RUN)
    assert panel.statuses()["1.1e"] == "damaged"
    assert any("1.1e" in line and "dañado" in line for line in pretalk(panel, "es")), pretalk(panel, "es")
    with pytest.raises(Exception) as refused:
        panel.vae.ensure()
    es, en = (explorer_message(panel, lang, panel.vae, refused.value) for lang in ("es", "en"))
    assert es == "⚠ El modelo que guardó el ítem 1.1e falta o cambió desde que la corrida lo registró: vuelve a ejecutar 1.1e con el botón «Ejecutar 1.1e».", es
    assert "missing or has changed" in en, en
