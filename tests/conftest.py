import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]


def toy_dataset(n_train: int = 20, n_test: int = 10, checksum: str = "toy-v1"):
    rng = np.random.default_rng(0)
    return types.SimpleNamespace(
        name="toy", source="toy arrays from tests", checksums={"all": checksum}, checksum=checksum,
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), y_train=np.arange(n_train, dtype=np.uint8) % 10,
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), y_test=np.arange(n_test, dtype=np.uint8) % 10,
    )


@pytest.fixture
def toy_data():
    return toy_dataset()


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    """The real console entry point in a subprocess: what a user types."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def assert_worded_figures_in_both_languages(results: dict, item_dir, worded: dict[str, set[str]], min_bytes: int) -> None:
    """Each figure with words of each item exists as <name>.es.png and <name>.en.png, and is a real image."""
    for item_id, names in worded.items():
        figures = {f["name"]: f for f in results[item_id].figures}
        assert names <= set(figures), (item_id, sorted(figures))
        for name in names:
            files = figures[name].get("files", {})
            assert set(files) == {"es", "en"}, (item_id, name)
            for lang, rel in files.items():
                assert rel == f"figures/{name}.{lang}.png"
                assert (item_dir(item_id) / rel).stat().st_size > min_bytes


# -- one smoke run of every item on real MNIST, shared by the suite ---------------------------------
# Each module that trained its own items at smoke retrained the evaluator, 1.1e and the GANs
# (the evaluator about six times). This run trains each once, in two workers; a module gets a copy
# of its folder (smoke_copy) so that what it writes never reaches another module's view.
SMOKE_RUN = "smoke"


def load_mnist():
    """The real MNIST, by a module-level function: the run's workers are sent it (they unpickle it)."""
    from harness.data import load_dataset

    return load_dataset("mnist")


@pytest.fixture(scope="session")
def smoke_all(tmp_path_factory):
    """The run, trained once for the whole suite: under pytest-xdist the first worker to ask trains it
    in the session's shared temp folder and the other waits on the lock, then reads it (read-only)."""
    import pickle

    from filelock import FileLock

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _train_smoke_all(tmp_path_factory.mktemp("smoke-all"))
    shared = tmp_path_factory.getbasetemp().parent / "smoke-all"
    with FileLock(str(shared) + ".lock"):
        done = shared / "summary.pickle"
        if not done.is_file():
            shared.mkdir(exist_ok=True)
            done.write_bytes(pickle.dumps(_train_smoke_all(shared)))
        return pickle.loads(done.read_bytes())


def _train_smoke_all(folder: Path):
    from harness.config import load_config
    from harness.registry import discover
    from harness.run.runner import Runner
    from harness.run.store import RunStore

    store = RunStore(folder / "reports", SMOKE_RUN)
    # No test that reads this run looks at the slides' renderings (tests/panel trains its own run):
    # HARNESS_SLIDES=0 leaves them out, for this run and its workers (they inherit the environment).
    saved = os.environ.get("HARNESS_SLIDES")
    os.environ["HARNESS_SLIDES"] = "0"
    try:
        summary = Runner(discover(), load_config("smoke"), store, load_mnist, jobs=2).run()
    finally:
        if saved is None:
            os.environ.pop("HARNESS_SLIDES", None)
        else:
            os.environ["HARNESS_SLIDES"] = saved
    assert all(o.status == "ok" for o in summary.outcomes), [(o.id, o.status, o.error) for o in summary.outcomes]
    return store, summary


def smoke_copy(tmp_path_factory, smoke_all, items):
    """A folder of its own holding the shared smoke run, and that run's summary cut to `items` and what
    they need (in the order a run of `items` gives): what a module's own run of `items` returned."""
    import shutil

    from harness.registry import discover
    from harness.run.runner import RunSummary
    from harness.run.store import RunStore

    source, summary = smoke_all
    root = tmp_path_factory.mktemp("smoke-copy") / "reports"
    shutil.copytree(source.root, root, symlinks=True)
    store = RunStore(root, SMOKE_RUN)
    wanted = discover().closure(list(items))
    by_id = {o.id: o for o in summary.outcomes}
    return store, RunSummary(store.run_id, store.dir, [by_id[i] for i in wanted])


def pytest_collection_modifyitems(config, items):
    """Under two workers (pyproject's -n 2, each file whole on one worker, handed out in this order):
    one file that needs the shared smoke run first, so one worker trains it at once while the other
    runs files that do not need it; the other files that need it last, when it is there. In the
    collection's order, the second worker sat ~105 s on the run's lock (the CI log's setup times)."""
    needs = list(dict.fromkeys(it.path for it in items if "smoke_all" in it.fixturenames))
    if not needs:
        return
    order = {path: 0 if path == needs[0] else 2 for path in needs}
    items.sort(key=lambda it: order.get(it.path, 1))  # stable: each file keeps its own order
