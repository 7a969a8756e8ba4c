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
        figures = {f["name"]: f for f in results[item_id]["figures"]}
        assert names <= set(figures), (item_id, sorted(figures))
        for name in names:
            files = figures[name].get("files", {})
            assert set(files) == {"es", "en"}, (item_id, name)
            for lang, rel in files.items():
                assert rel == f"figures/{name}.{lang}.png"
                assert (item_dir(item_id) / rel).stat().st_size > min_bytes
