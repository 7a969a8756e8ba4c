"""The GPU is used without flags: the backend that sees it trains, the user's KERAS_BACKEND wins, and the
manifest and the report say where each item computed. The detection is mocked: no GPU is needed."""
import json

import pytest

import harness
from harness import backends, cli
from harness.config import load_config
from harness.report.render import write_report
from harness.run.runner import Runner
from harness.run.store import RunStore
from tests.conftest import toy_dataset
from tests.fixtures.report_items.items import REG


def seen(by: dict[str, list[str]]):
    """A gpu_names stand-in: what each backend would see; asking one not listed fails the test."""
    def gpu_names(backend: str) -> list[str]:
        assert backend in by, f"{backend} was probed but should not have been"
        return by[backend]
    return gpu_names


def test_a_machine_without_an_nvidia_driver_never_probes(monkeypatch):
    monkeypatch.setattr(backends, "gpu_names", seen({}))
    monkeypatch.setattr(backends, "installed", lambda: ["tensorflow", "jax"])
    assert backends.choose(0) == ("tensorflow", [])
    monkeypatch.setattr(backends, "installed", lambda: ["jax"])  # the lent GPU machine's stack, without its GPU
    assert backends.choose(0) == ("jax", [])


@pytest.mark.parametrize("present, sees, chosen", [
    (["tensorflow", "jax"], {"jax": ["NVIDIA H200"]}, ("jax", ["NVIDIA H200"])),
    (["tensorflow", "jax"], {"jax": [], "tensorflow": ["Tesla T4"]}, ("tensorflow", ["Tesla T4"])),
    (["tensorflow"], {"tensorflow": ["Tesla T4"]}, ("tensorflow", ["Tesla T4"])),
    (["jax"], {"jax": ["NVIDIA H100 80GB HBM3"]}, ("jax", ["NVIDIA H100 80GB HBM3"])),
    (["tensorflow", "jax"], {"jax": [], "tensorflow": []}, ("tensorflow", [])),  # CPU builds beside a GPU
    (["jax"], {"jax": []}, ("jax", [])),
])
def test_the_backend_that_sees_the_gpu_trains(monkeypatch, present, sees, chosen):
    monkeypatch.setattr(backends, "installed", lambda: present)
    monkeypatch.setattr(backends, "gpu_names", seen(sees))
    assert backends.choose(1) == chosen


def test_the_probe_reads_one_gpu_per_line_and_a_failing_or_hanging_one_sees_none(monkeypatch):
    monkeypatch.setattr(backends, "PROBES", {"jax": "print('NVIDIA H200')\nprint('')\nprint('NVIDIA H200')",
                                             "tensorflow": "print('Tesla T4'); raise SystemExit(1)"})
    assert backends.gpu_names("jax") == ["NVIDIA H200", "NVIDIA H200"]
    assert backends.gpu_names("tensorflow") == []  # it printed, then failed: a broken stack is no GPU
    monkeypatch.setattr(backends, "PROBES", {"jax": "import time; time.sleep(30); print('late')"})
    monkeypatch.setattr(backends, "PROBE_TIMEOUT_S", 1)
    assert backends.gpu_names("jax") == []


@pytest.fixture
def unset_backend(monkeypatch):
    """As if the user had not set KERAS_BACKEND; the test's environment is restored afterwards."""
    monkeypatch.setattr(harness, "USER_BACKEND", None)
    for key in ("KERAS_BACKEND", "JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setattr("harness.train.hardware.nvidia_gpus", lambda: 1)
    monkeypatch.setattr(backends, "installed", lambda: ["tensorflow", "jax"])


def test_run_picks_the_gpu_backend_and_says_so(unset_backend, monkeypatch, capsys):
    import os

    monkeypatch.setattr(backends, "gpu_names", seen({"jax": ["NVIDIA H200"]}))
    cli.choose_backend("cmd_run")
    assert os.environ["KERAS_BACKEND"] == "jax" and os.environ["JAX_COMPILATION_CACHE_DIR"].endswith("jax")
    assert "NVIDIA H200" in capsys.readouterr().err


def test_keras_backend_set_by_the_user_wins(unset_backend, monkeypatch):
    import os

    monkeypatch.setattr(harness, "USER_BACKEND", "tensorflow")
    monkeypatch.setattr(backends, "gpu_names", seen({}))  # not even asked
    cli.choose_backend("cmd_run")
    assert os.environ["KERAS_BACKEND"] == "tensorflow"


def test_the_report_never_probes_and_uses_numpy(unset_backend, monkeypatch):
    import os

    monkeypatch.setattr(backends, "gpu_names", seen({}))
    cli.choose_backend("cmd_report")
    assert os.environ["KERAS_BACKEND"] == "numpy"


def test_no_backend_installed_is_one_line_saying_what_to_install(unset_backend, monkeypatch, capsys):
    monkeypatch.setattr(backends, "installed", lambda: [])
    assert cli.main(["data"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no Keras backend is installed" in err and ".[cpu]" in err
    monkeypatch.setattr(harness, "USER_BACKEND", "jax")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert cli.main(["data"]) == cli.EXIT_USAGE
    assert "KERAS_BACKEND=jax, but jax is not installed" in capsys.readouterr().err


@pytest.mark.parametrize("device", ["cuda:0 NVIDIA H200", "CPU"])
def test_manifest_and_report_say_where_each_item_computed(tmp_path, monkeypatch, device):
    monkeypatch.setattr("harness.run.execute.compute_device", lambda: device)
    store = RunStore(tmp_path, "r")
    Runner(REG, load_config("smoke"), store, toy_dataset).run(["1.1a"])
    assert json.loads((store.dir / "manifest.json").read_text())["items"]["1.1a"]["device"] == device
    assert store.load_result("1.1a", verify=False).device == device
    monkeypatch.setattr("harness.run.execute.compute_device", lambda: "a device that did not run it")
    Runner(REG, load_config("smoke"), store, toy_dataset).run(["1.1a"])  # cached: the device that computed it
    assert json.loads((store.dir / "manifest.json").read_text())["items"]["1.1a"]["device"] == device
    for lang, header in (("es", "Dispositivo"), ("en", "Device")):
        html = write_report(store, REG, lang, ["html"])["html"].read_text(encoding="utf-8")
        seeds_table = html[html.index(f"<th>{header}</th>"):]
        row = seeds_table[seeds_table.index("<td>1.1a</td>"):]
        assert f"<td>{device}</td>" in row[:row.index("</tr>")]


@pytest.mark.parametrize("found, native", [
    ((("cuda:0 NVIDIA H200", (9, 0)),), True),
    ((("GPU:0 NVIDIA A100-SXM4-40GB", (8, 0)),), True),
    ((("cuda:0 Tesla T4", (7, 5)),), False),  # a free hosted notebook's GPU: no bfloat16 tensor cores
    ((("cuda:0 a GPU that did not say", None),), False),
])
def test_auto_precision_picks_bfloat16_only_on_gpus_that_compute_it(monkeypatch, found, native):
    from harness.train import hardware

    monkeypatch.setattr(hardware, "gpus", lambda: found)
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))  # the host's CPU does not count
    assert hardware.native_bf16() is native
    assert hardware.resolve_precision("auto", "vae.precision") == ("mixed_bfloat16" if native else "float32")
    assert hardware.compute_device() == found[0][0]


def test_capabilities_read_from_either_backend():
    from harness.train.hardware import _capability

    assert _capability("9.0") == (9, 0) and _capability((7, 5)) == (7, 5)
    assert _capability(None) is None and _capability("unknown") is None
