"""Registry, runner, cache and store: the behaviour a student relies on the night before the deadline."""
import json
import os

import numpy as np
import pytest

from harness.config import Config
from harness.errors import RegistryError
from harness.registry import Registry
from harness.run.runner import Runner
from harness.run.store import RunStore, atomic_write_json, latest_run


def make_registry(calls):
    reg = Registry()

    @reg.item("1.1a", "encoder", config=("vae",))
    def encoder(ctx):
        calls.append("1.1a")
        ctx.metric("pixels_mean", float(ctx.data.x_train.mean()))
        ctx.save_array("codes", np.arange(4) * ctx.settings("vae")["scale"])

    @reg.item("1.1b", "decoder", needs=("1.1a",), config=("vae",))
    def decoder(ctx):
        calls.append("1.1b")
        ctx.metric("codes_sum", int(ctx.input("1.1a").array("codes").sum()))

    @reg.item("1.2a", "discriminator", config=("gan",))
    def discriminator(ctx):
        calls.append("1.2a")
        ctx.metric("lr", ctx.settings("gan")["lr"])
        ctx.check("lr_positive", ctx.settings("gan")["lr"] > 0)

    @reg.item("1.2b", "generator", needs=("1.2a", "1.1b"), config=())
    def generator(ctx):
        calls.append("1.2b")
        ctx.metric("from_both", ctx.input("1.2a").metrics["lr"] + ctx.input("1.1b").metrics["codes_sum"])

    return reg


def config(scale=1, lr=0.5, seed=3):
    return Config("smoke", {"seed": seed, "data": {"n_train": 20, "n_test": 10}, "vae": {"scale": scale}, "gan": {"lr": lr}})


def runner(reg, cfg, root, data, run_id="r"):
    events = []
    r = Runner(reg, cfg, RunStore(root, run_id), lambda: data, lambda kind, **kw: events.append((kind, kw)))
    return r, events


def test_closure_orders_dependencies_first_in_handout_order():
    reg = make_registry([])
    assert reg.closure(["1.2b"]) == ["1.1a", "1.1b", "1.2a", "1.2b"]
    assert reg.closure(["1.1b"]) == ["1.1a", "1.1b"]
    assert reg.closure(None) == ["1.1a", "1.1b", "1.2a", "1.2b"]
    assert reg.dependents("1.1a") == ["1.1b", "1.2b"]


def test_unknown_item_and_cycle_are_one_line_errors():
    reg = make_registry([])
    with pytest.raises(RegistryError, match="unknown item '9.9'"):
        reg.closure(["9.9"])
    cyc = Registry()
    cyc.item("a", "a", needs=("b",))(lambda ctx: None)
    cyc.item("b", "b", needs=("a",))(lambda ctx: None)
    with pytest.raises(RegistryError, match="cycle: a -> b -> a"):
        cyc.closure(["a"])


def test_second_run_is_cached_and_trains_nothing(tmp_path, toy_data):
    calls = []
    reg = make_registry(calls)
    r, _ = runner(reg, config(), tmp_path, toy_data)
    first = r.run()
    assert [o.status for o in first.outcomes] == ["ok"] * 4
    calls.clear()
    r2, events = runner(reg, config(), tmp_path, toy_data)
    second = r2.run(["1.2b"])
    assert calls == []
    assert [o.status for o in second.outcomes] == ["cached"] * 4
    assert all(kw["status"] == "cached" for kind, kw in events if kind == "done")
    assert latest_run(tmp_path) == "r"


def test_changing_one_setting_recomputes_that_item_and_its_dependents_only(tmp_path, toy_data):
    calls = []
    reg = make_registry(calls)
    runner(reg, config(), tmp_path, toy_data)[0].run()
    calls.clear()
    summary = runner(reg, config(lr=0.25), tmp_path, toy_data)[0].run()
    assert calls == ["1.2a", "1.2b"]
    status = {o.id: o.status for o in summary.outcomes}
    assert status == {"1.1a": "cached", "1.1b": "cached", "1.2a": "ok", "1.2b": "ok"}
    calls.clear()
    runner(reg, config(scale=2, lr=0.25), tmp_path, toy_data)[0].run()
    assert calls == ["1.1a", "1.1b", "1.2b"]


def test_data_checksum_and_force_recompute(tmp_path, toy_data):
    from tests.conftest import toy_dataset

    calls = []
    reg = make_registry(calls)
    runner(reg, config(), tmp_path, toy_data)[0].run(["1.1a"])
    calls.clear()
    runner(reg, config(), tmp_path, toy_dataset(checksum="toy-v2"))[0].run(["1.1a"])
    assert calls == ["1.1a"]
    calls.clear()
    runner(reg, config(), tmp_path, toy_dataset(checksum="toy-v2"))[0].run(["1.1b"], force=True)
    assert calls == ["1.1b"]  # --force recomputes what was named, not its cached inputs


def test_timings_seed_and_manifest_are_recorded(tmp_path, toy_data):
    reg = make_registry([])
    runner(reg, config(), tmp_path, toy_data)[0].run()
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["profile"] == "smoke" and manifest["dataset"]["checksum"] == "toy-v1"
    assert manifest["environment"]["backend"] and manifest["environment"]["packages"]["numpy"]
    for entry in manifest["items"].values():
        assert set(entry["timing"]) == {"wall_s", "cpu_s", "peak_rss_mb"} and entry["timing"]["peak_rss_mb"] > 0
    result = json.loads((tmp_path / "r" / "items" / "1.1a" / "result.json").read_text())
    other = json.loads((tmp_path / "r" / "items" / "1.2a" / "result.json").read_text())
    assert result["seed"] != other["seed"]  # a seed per item, fixed by the run's seed and the item id


def test_same_seed_gives_same_metrics(tmp_path, toy_data):
    reg = Registry()

    @reg.item("x", "random draws", config=())
    def draws(ctx):
        import keras

        ctx.metric("numpy", float(np.random.rand()))
        ctx.metric("keras", float(keras.random.normal((1,))[0]))

    a = runner(reg, config(), tmp_path, toy_data, "a")[0].run()
    b = runner(reg, config(), tmp_path / "other", toy_data, "b")[0].run()
    c = runner(reg, config(seed=4), tmp_path / "third", toy_data, "c")[0].run()
    read = lambda root, run: json.loads((root / run / "items" / "x" / "result.json").read_text())["metrics"]
    assert read(tmp_path, "a") == read(tmp_path / "other", "b")
    assert read(tmp_path, "a") != read(tmp_path / "third", "c")
    assert a.outcomes[0].status == b.outcomes[0].status == c.outcomes[0].status == "ok"


def test_failed_item_skips_dependents_but_not_independent_items(tmp_path, toy_data):
    reg = Registry()
    reg.item("1.1a", "breaks", config=())(lambda ctx: 1 / 0)
    reg.item("1.1b", "needs broken", needs=("1.1a",), config=())(lambda ctx: None)
    reg.item("1.2a", "independent", config=())(lambda ctx: ctx.metric("ok", 1))
    summary = runner(reg, config(), tmp_path, toy_data)[0].run()
    status = {o.id: (o.status, o.error) for o in summary.outcomes}
    assert status["1.1a"] == ("failed", "ZeroDivisionError: division by zero")
    assert status["1.1b"][0] == "skipped" and "1.1a" in status["1.1b"][1]
    assert status["1.2a"][0] == "ok"


def test_corrupted_artifact_is_not_trusted_and_is_recomputed(tmp_path, toy_data):
    calls = []
    reg = make_registry(calls)
    runner(reg, config(), tmp_path, toy_data)[0].run(["1.1a"])
    (tmp_path / "r" / "items" / "1.1a" / "arrays" / "codes.npy").write_bytes(b"garbage")
    calls.clear()
    run, events = runner(reg, config(), tmp_path, toy_data)
    summary = run.run(["1.1b"])
    assert calls == ["1.1a", "1.1b"]
    assert summary.outcomes[0].status == "ok"
    said = [kw["message"]["en"] for kind, kw in events if kind == "log" and kw.get("item") == "1.1a"]
    assert any("items/1.1a/arrays/codes.npy" in m and "recomputing" in m for m in said), said


def test_leftover_temp_folder_from_a_killed_run_is_ignored_and_removed(tmp_path, toy_data):
    reg = make_registry([])
    store = RunStore(tmp_path, "r")
    half = store.items_dir / ".tmp-1.1a-999999"
    half.mkdir(parents=True)
    (half / "result.json").write_text('{"id": "1.1a", "status": "ok"}')
    assert store.load_result("1.1a") is None
    runner(reg, config(), tmp_path, toy_data)[0].run(["1.1a"])
    assert not half.exists()
    assert store.load_result("1.1a").ok


def test_atomic_write_never_leaves_a_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "m.json"
    atomic_write_json(target, {"v": 1})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}


def test_result_is_reused_from_another_run_folder(tmp_path, toy_data):
    calls = []
    reg = make_registry(calls)
    runner(reg, config(), tmp_path, toy_data, "first")[0].run(["1.1a"])
    calls.clear()
    summary = runner(reg, config(), tmp_path, toy_data, "second")[0].run(["1.1a"])
    assert calls == [] and summary.outcomes[0].status == "cached"
    assert (tmp_path / "second" / "items" / "1.1a" / "result.json").exists()


def test_team_and_course_survive_a_later_run_without_the_settings_file(tmp_path):
    """A --config file's [team] and [course] stay in the run; a later plain `harness run` keeps them,
    a new --config replaces them."""
    from harness.config import load_config
    from harness.run.manifest import open_manifest

    given = tmp_path / "team.toml"
    given.write_text('[team]\nmembers = ["Ana", "Beto"]\n[course]\nprofessor = "Prof. X"\n', encoding="utf-8")
    store = RunStore(tmp_path / "reports", "r")
    store.dir.mkdir(parents=True)
    open_manifest(store, load_config("smoke", user_file=given), None, None)
    manifest = open_manifest(store, load_config("smoke"), None, None)  # no --config this time
    assert manifest["config"]["team"]["members"] == ["Ana", "Beto"]
    assert manifest["config"]["course"]["professor"] == "Prof. X"
    other = tmp_path / "other.toml"
    other.write_text('[team]\nmembers = ["Carla"]\n', encoding="utf-8")
    manifest = open_manifest(store, load_config("smoke", user_file=other), None, None)
    assert manifest["config"]["team"]["members"] == ["Carla"]
    assert store.read_manifest()["config"]["course"]["professor"] == "Prof. X"


def test_results_of_older_digests_are_named_and_recomputed_once(tmp_path, toy_data):
    """A result written before the digests covered the import closure (no code_scheme) is said to be
    from an older harness; one run makes it current again, and the next finds everything cached."""
    calls = []
    reg = make_registry(calls)
    r, _ = runner(reg, config(), tmp_path, toy_data)
    r.run()
    assert r.older_digests() == []
    path = r.store.item_dir("1.1a") / "result.json"
    result = json.loads(path.read_text())
    del result["code_scheme"]
    atomic_write_json(path, result)
    assert r.older_digests() == ["1.1a"]
    calls.clear()
    r.run()
    assert calls == []  # the digest itself did not change here: cached, and the scheme stays old
    result["fingerprint"] = "0" * 16  # what an older digest gives: a different fingerprint
    atomic_write_json(path, result)
    assert r.status()["1.1a"] == "stale"
    r.run()
    assert "1.1a" in calls and r.older_digests() == []
