"""Which ready task a free worker takes first (harness/run/schedule.py): the longest remaining path
of estimated seconds, from recorded timings or from the declared work."""
import pytest

from harness.config import Config
from harness.registry import Registry
from harness.run import runner as runner_module
from harness.run.execute import ItemOutcome
from harness.run.runner import Runner
from harness.run.schedule import critical_first, recorded_seconds, remaining_path, static_seconds
from harness.run.store import RunStore
from tests.fixtures.parallel_items import load_toy

# A chain of three slow tasks, a hub whose three quick dependents are all that waits on it, a long loner.
WAITS = {"c1": (), "c2": ("c1",), "c3": ("c2",), "h": (), "l1": ("h",), "l2": ("h",), "l3": ("h",), "x": ()}
SECONDS = {"c1": 60, "c2": 60, "c3": 60, "h": 1, "l1": 1, "l2": 1, "l3": 1, "x": 100}
PLACE = {task: i for i, task in enumerate(["h", "l1", "l2", "l3", "x", "c1", "c2", "c3"])}


def test_the_longest_remaining_path_goes_first():
    assert remaining_path(WAITS, SECONDS) == {"c1": 180, "c2": 120, "c3": 60, "h": 2, "l1": 1, "l2": 1, "l3": 1,
                                              "x": 100}
    ready = sorted(["h", "x", "c1"], key=critical_first(WAITS, SECONDS, PLACE))
    # Counting dependents would start the hub (3 wait on it) before the chain (2): the chain ends last.
    assert ready == ["c1", "x", "h"]
    # Ties keep the handout's order.
    assert sorted(["l3", "l1", "l2"], key=critical_first(WAITS, SECONDS, PLACE)) == ["l1", "l2", "l3"]


def manifest(profile, items):
    return {"profile": profile, "items": items}


def test_recorded_seconds_come_from_the_newest_manifest_of_the_profile():
    newest = manifest("smoke", {
        "a": {"status": "ok", "timing": {"wall_s": 3.0}},
        "b": {"status": "failed", "timing": {"wall_s": 0.5}},  # stopped early: not a duration
        "s": {"status": "ok", "timing": {"wall_s": 2.0},
              "units": {"k1": {"status": "cached", "timing": {"wall_s": 7.0}}}},
    })
    older = manifest("smoke", {"a": {"status": "ok", "timing": {"wall_s": 9.0}},
                               "b": {"status": "ok", "timing": {"wall_s": 4.0}}})
    other_profile = manifest("full", {"c": {"status": "ok", "timing": {"wall_s": 99.0}}})
    assert recorded_seconds([newest, other_profile, older], "smoke") == {"a": 3.0, "b": 4.0, "s": 2.0, "s.k1": 7.0}


def smoke_config():
    return Config("smoke", {"seed": 1, "data": {"n_train": 2000}, "vae": {"epochs": 1},
                            "gan": {"steps": 20, "batch_size": 64}, "eval": {"evaluator_epochs": 5}})


def test_static_estimates_follow_the_declared_training():
    cfg = smoke_config()
    gan, vae = static_seconds(("gan", "eval"), True, cfg), static_seconds(("vae", "eval"), True, cfg)
    evaluator, model_only = static_seconds(("eval",), True, cfg), static_seconds(("vae",), False, cfg)
    assert gan > vae > evaluator > model_only
    longer = Config("smoke", {**cfg.values, "gan": {"steps": 200, "batch_size": 64}})
    assert static_seconds(("gan",), True, longer) > 5 * (gan - model_only)


# -- the runner's parallel loop, with a pool that records what it was given and runs nothing ---------

def noop(ctx):
    pass


def registry_of(waits, uses_data=False, config=()):
    registry = Registry()
    for task, needs in waits.items():
        registry.item(task, task, needs=needs, config=config, uses_data=uses_data, section="2")(noop)
    return registry


class RecordingPool:
    """WorkerPool's face: takes tasks in the order the runner submits them; each 'finishes' in turn."""

    submitted: list[str] = []

    def __init__(self, jobs, config, root, run_id, loader, background=False):
        self.jobs, self.running = jobs, {}
        RecordingPool.submitted = []

    def cancel(self):
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    @property
    def free(self):
        return self.jobs - len(self.running)

    def submit(self, item, fingerprint, units=None):
        RecordingPool.submitted.append(item.id)
        self.running[item.id] = fingerprint

    def events(self):
        return []

    def finished(self, timeout):
        task_id = next(iter(self.running))
        return [(task_id, ItemOutcome(task_id, "ok", self.running.pop(task_id)), None)]


@pytest.fixture
def recording_pool(monkeypatch):
    monkeypatch.setattr(runner_module, "WorkerPool", RecordingPool)
    return RecordingPool


def test_the_runner_starts_the_chain_a_previous_run_timed_longest(tmp_path, recording_pool):
    RunStore(tmp_path, "before").write_manifest(manifest("smoke", {
        task: {"status": "ok", "timing": {"wall_s": float(s)}} for task, s in SECONDS.items()}))
    # Another run's damaged manifest only leaves its estimates out: it is read, never repaired from here.
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    registry = registry_of(WAITS)
    Runner(registry, Config("smoke", {"seed": 1}), RunStore(tmp_path, "now"), load_toy, jobs=2).run()
    assert recording_pool.submitted[:2] == ["c1", "x"]
    assert recording_pool.submitted.index("h") > recording_pool.submitted.index("c2")
    assert (tmp_path / "broken" / "manifest.json").read_text() == "{not json"
    assert not (tmp_path / "broken" / "manifest.damaged.json").exists()


def test_without_a_previous_run_the_declared_work_decides(tmp_path, recording_pool):
    registry = Registry()
    registry.item("1.1a", "a", config=("vae",), uses_data=False)(noop)  # builds a model on no data
    registry.item("1.1b", "b", config=("vae",), uses_data=False)(noop)
    registry.item("1.2d", "gan", config=("gan",))(noop)                  # trains a GAN
    registry.item("1.1e", "vae", config=("vae",))(noop)                  # trains a VAE
    Runner(registry, smoke_config(), RunStore(tmp_path, "now"), load_toy, jobs=2).run()
    assert recording_pool.submitted == ["1.2d", "1.1e", "1.1a", "1.1b"]


def test_the_benchmark_replays_the_runner_rule():
    """benchmarks/schedule.py's replay: the chain first ends at the lower bound, the old rule later."""
    from benchmarks.schedule import dependents_first, makespan

    waits, seconds = {**WAITS, "y": ()}, {**SECONDS, "y": 100}
    place = {**PLACE, "y": len(PLACE)}
    span, started = makespan(waits, seconds, critical_first(waits, seconds, place), jobs=2)
    assert (span, started[:4]) == (200.0, ["c1", "x", "c2", "y"])
    old_span, old_started = makespan(waits, seconds, dependents_first(waits, place), jobs=2)
    assert (old_span, old_started[:2]) == (204.0, ["h", "c1"])
    assert makespan(waits, seconds, critical_first(waits, seconds, place), jobs=1)[0] == sum(seconds.values())


def test_the_simulated_wall_follows_the_workers_and_the_waits():
    from harness.run.schedule import simulated_wall

    waits = {"a": (), "b": (), "c": ("a",), "d": ("b", "c")}
    seconds = {"a": 10.0, "b": 4.0, "c": 5.0, "d": 1.0}
    order = {"a": 0, "b": 1, "c": 2, "d": 3}
    assert simulated_wall(waits, seconds, 1, order.get) == 20.0  # one after another
    assert simulated_wall(waits, seconds, 2, order.get) == 16.0  # a → c → d is the chain; b runs beside it
    assert simulated_wall(waits, {**seconds, "a": 0.0, "c": 0.0}, 2, order.get) == 5.0  # cached tasks cost nothing


def test_a_run_says_its_estimate_before_the_first_task_and_a_cached_rerun_estimates_nothing(tmp_path, toy_data):
    from tests.run.test_core import config, make_registry

    events = []
    reg = make_registry([])
    r = Runner(reg, config(), RunStore(tmp_path, "r"), lambda: toy_data, lambda kind, **kw: events.append((kind, kw)))
    r.run()
    kinds = [k for k, _ in events]
    assert kinds.index("estimate") < kinds.index("start")
    first = dict(events)["estimate"]
    assert first["tasks"] == 4 and first["recorded"] == 0 and first["seconds"] > 0 and first["jobs"] == 1
    events.clear()
    r.run()
    again = dict(events)["estimate"]
    assert again["tasks"] == 0 and again["seconds"] == 0
    events.clear()
    r.run(["1.1a"], force=True)
    forced = dict(events)["estimate"]
    assert forced["tasks"] == 1 and forced["recorded"] == 1  # this root's first run timed it


def test_the_estimate_line_says_where_its_figure_comes_from_and_how_to_cut_a_long_run():
    from harness.progress import estimate_line

    short = estimate_line({"seconds": 300.0, "tasks": 3, "recorded": 3, "jobs": 2})
    assert short.startswith("estimate: about 5 min 00 s for 3 task(s) on 2 worker(s), from this machine's earlier runs")
    assert "sooner" not in short
    long = estimate_line({"seconds": 3 * 3600.0, "tasks": 20, "recorded": 0, "jobs": 2})
    assert "about 3 h 00 min" in long and "rough" in long and "--profile quick" in long
