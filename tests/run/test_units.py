"""An item's units (harness.registry.Units): scheduled apart, cached apart, gathered by the item."""
import json
import os

import pytest

from harness.config import Config
from harness.errors import RegistryError
from harness.registry import Registry, Units
from harness.run.runner import Runner
from harness.run.store import RunStore
from tests.fixtures.parallel_items import load_toy
from tests.fixtures.unit_items import REGISTRY, compute_point, points


def config(sync_dir, points=(1, 2), meet=False, scale=1, broken=(), wait_s=60.0):
    return Config("smoke", {"seed": 5, "sweep": {"points": list(points)},
                            "point": {"scale": scale, "broken": list(broken)},
                            "sync": {"dir": str(sync_dir), "meet": meet, "wait_s": wait_s}})


def run(root, cfg, jobs, ids=("2.1d",), force=False):
    events = []
    runner = Runner(REGISTRY, cfg, RunStore(root, "r"), load_toy, lambda kind, **kw: events.append((kind, kw)), jobs=jobs)
    return runner.run(list(ids), force=force), events


def started(events):
    return sorted(kw["item"] for kind, kw in events if kind == "start")


def result(root, folder, task_id):
    return json.loads((root / "r" / folder / task_id / "result.json").read_text())


def test_units_compute_side_by_side_and_the_item_gathers_them(tmp_path):
    (tmp_path / "sync").mkdir()
    summary, events = run(tmp_path, config(tmp_path / "sync", meet=True), jobs=2)
    assert {o.id: o.status for o in summary.outcomes} == {"2.1a": "ok", "2.1b": "ok", "2.1c": "ok", "2.1d": "ok"}
    gathered = result(tmp_path, "items", "2.1c")
    assert gathered["values"]["values"] == {"p1": 10, "p2": 20} and gathered["metrics"]["total"]["value"] == 1030
    assert len(gathered["values"]["unit_pids"]) == 2 and os.getpid() not in gathered["values"]["unit_pids"]
    # Units are internal: the manifest lists the four items, each unit inside its item's entry.
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert sorted(manifest["items"]) == ["2.1a", "2.1b", "2.1c", "2.1d"]
    units = manifest["items"]["2.1c"]["units"]
    assert sorted(units) == ["p1", "p2"] and all(u["status"] == "ok" and u["started"] for u in units.values())
    assert sorted(p.name for p in (tmp_path / "r" / "units").iterdir()) == ["2.1c.p1", "2.1c.p2"]
    assert started(events) == ["2.1a", "2.1b", "2.1c", "2.1c.p1", "2.1c.p2", "2.1d"]
    # The same units one after another never meet: the check above can fail.
    (tmp_path / "sync2").mkdir()
    summary, _ = run(tmp_path / "in-turn", config(tmp_path / "sync2", meet=True, wait_s=0.5), jobs=1)
    outcome = {o.id: o for o in summary.outcomes}
    assert outcome["2.1c"].status == "failed" and "its unit p1 failed" in outcome["2.1c"].error
    assert outcome["2.1d"].status == "skipped"


def test_workers_and_the_run_in_turn_give_the_same_results(tmp_path):
    in_turn, _ = run(tmp_path / "one", config(tmp_path), jobs=1)
    parallel, _ = run(tmp_path / "two", config(tmp_path), jobs=2)
    assert [o.status for o in in_turn.outcomes] == [o.status for o in parallel.outcomes] == ["ok"] * 4
    for folder, task_id in (("items", "2.1c"), ("units", "2.1c.p1"), ("units", "2.1c.p2")):
        a, b = result(tmp_path / "one", folder, task_id), result(tmp_path / "two", folder, task_id)
        assert a["fingerprint"] == b["fingerprint"] and a["seed"] == b["seed"]
        assert {k: v for k, v in a["values"].items() if k not in ("pid", "started", "unit_pids")} == \
               {k: v for k, v in b["values"].items() if k not in ("pid", "started", "unit_pids")}
        assert a["files"].get("arrays/draw.npy") == b["files"].get("arrays/draw.npy")  # the same random draws
    assert result(tmp_path / "one", "items", "2.1c")["metrics"] == result(tmp_path / "two", "items", "2.1c")["metrics"]
    # Each unit starts from its item's seed: the two points drew the same numbers.
    p1, p2 = (result(tmp_path / "one", "units", f"2.1c.p{p}") for p in (1, 2))
    assert p1["files"]["arrays/draw.npy"] == p2["files"]["arrays/draw.npy"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_one_more_point_computes_only_that_unit(tmp_path, jobs):
    run(tmp_path, config(tmp_path, points=(1, 2)), jobs=jobs)
    summary, events = run(tmp_path, config(tmp_path, points=(1, 2, 3)), jobs=jobs)
    assert started(events) == ["2.1c", "2.1c.p3", "2.1d"]  # the item gathers again, p1 and p2 are cached
    assert {kw["item"] for kind, kw in events if kind == "done" and kw["status"] == "cached"} >= {"2.1c.p1", "2.1c.p2"}
    assert result(tmp_path, "items", "2.1c")["metrics"]["total"]["value"] == 1060
    # Nothing changed: nothing starts, not even a unit.
    _, events = run(tmp_path, config(tmp_path, points=(1, 2, 3)), jobs=jobs)
    assert started(events) == []
    # A setting every unit reads recomputes every unit.
    _, events = run(tmp_path, config(tmp_path, points=(1, 2, 3), scale=2), jobs=jobs)
    assert started(events) == ["2.1c", "2.1c.p1", "2.1c.p2", "2.1c.p3", "2.1d"]
    assert result(tmp_path, "items", "2.1c")["metrics"]["total"]["value"] == 1120


def test_force_recomputes_the_items_units(tmp_path):
    run(tmp_path, config(tmp_path), jobs=1)
    _, events = run(tmp_path, config(tmp_path), jobs=1, ids=("2.1c",), force=True)
    assert started(events) == ["2.1c", "2.1c.p1", "2.1c.p2"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_unit_fails_its_item_which_keeps_its_last_good_result(tmp_path, jobs):
    run(tmp_path, config(tmp_path), jobs=jobs)
    summary, events = run(tmp_path, config(tmp_path, points=(1, 2, 3), broken=(3,)), jobs=jobs)
    outcome = {o.id: o for o in summary.outcomes}
    assert outcome["2.1c"].status == "failed" and outcome["2.1c"].error.startswith("its unit p3 failed: ")
    assert "point 3 is broken on purpose" in outcome["2.1c"].error
    assert outcome["2.1d"].status == "skipped"
    assert result(tmp_path, "items", "2.1c")["values"]["values"] == {"p1": 10, "p2": 20}  # the last good one
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["items"]["2.1c"]["units"]["p3"]["status"] == "failed"


def test_a_unit_reads_only_what_its_item_reads():
    reg = Registry()
    with pytest.raises(RegistryError, match="its units' needs= has 9.9z, which the item's own needs= lacks"):
        reg.item("1.1a", "x", config=("point",), units=Units(points, compute_point, needs=("9.9z",)))
    with pytest.raises(RegistryError, match="its units' config= has sweep"):
        reg.item("1.1a", "x", config=("point",), units=Units(points, compute_point, config=("sweep",)))


def test_the_assignments_sweeps_are_units_and_the_items_stay_twenty():
    from harness.config import load_config
    from harness.run import catalogue
    from harness.run.units import plan_units

    registry = catalogue.discover()
    assert len(registry.ordered_ids()) == 20
    full = load_config("full")
    keys = {i: [t.key for t in plan_units(registry.get(i), full)] for i in ("1.1i", "1.2f", "1.2h")}
    assert keys["1.1i"] == ["z4", "z8", "z16", "z32"]   # z = 2 is 1.1e's model
    assert keys["1.2h"] == ["z10", "z100"]              # z = 2 is 1.2d's model
    assert len(keys["1.2f"]) == 3 * 3 + 2 and "handout.s0" not in keys["1.2f"]  # the handout's first seed is 1.2d
    one_seed = load_config("full", ["gan_compare.seeds=1"])
    assert [t.key for t in plan_units(registry.get("1.2f"), one_seed)] == \
           ["d_spectral_norm.s0", "g_layernorm.s0", "fakes_training.s0"]
    # A unit's cache covers the sections it reads, not the sweep's list: one more dimension keeps the others.
    more = load_config("full", ["vae_compare.latent_dims=[2,4,8,16,32,64]"])
    same = {t.key: t.sections(full) for t in plan_units(registry.get("1.1i"), full)}
    assert all("vae_compare" not in sections for sections in same.values())
    assert [t.key for t in plan_units(registry.get("1.1i"), more)][-1] == "z64"
    # The report's code of 1.1i still shows the training its units ran.
    listed = [entry["name"] for entry in registry.get("1.1i").code_listing()]
    assert listed[0] == "latent_dim" and {"train_point", "build_vae", "fit_vae", "measure"} <= set(listed)
