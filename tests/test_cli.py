"""The command line as a user types it: errors are one line and exit 2; data prints canonical checksums."""
import pytest

from harness.data import CANONICAL_MNIST_SHA256
from tests.conftest import run_cli


@pytest.mark.parametrize("args, message", [
    (["run", "9.9"], "unknown item '9.9'"),
    (["run", "--profile", "fast"], "unknown profile 'fast'"),
    (["run", "--set", "vae.epochs=0"], "'vae.epochs' = 0 is out of range"),
    (["run", "--set", "vae.nope=1"], "unknown setting 'vae.nope'"),
    (["run", "--dataset", "cifar"], "not one of mnist, fashion_mnist"),
    (["run", "--data", "/no/such/file.npz"], "--data /no/such/file.npz: no such file"),
    (["list", "--run", "../etc"], "bad run id"),
    (["list", "--run", "nope"], "run 'nope' does not exist"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = run_cli("--root", str(tmp_path), *args)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("harness:")]
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())  # nothing written


def test_bad_data_file_is_one_line(tmp_path):
    bogus = tmp_path / "mnist.npz"
    bogus.write_text("not a zip")
    proc = run_cli("--root", str(tmp_path / "reports"), "data", "--data", str(bogus))
    assert proc.returncode == 2 and str(bogus) in proc.stderr and "Traceback" not in proc.stderr


def test_data_prints_the_four_canonical_checksums():
    proc = run_cli("data")
    assert proc.returncode == 0, proc.stderr
    for digest in CANONICAL_MNIST_SHA256.values():
        assert digest in proc.stdout
    assert "canonical yes" in proc.stdout


@pytest.mark.parametrize("output", ["full", "closed"])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, output):
    """`harness list > /dev/full` ended in a traceback; with its output closed it printed nothing, exit 0."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    stdout = open("/dev/full", "w") if output == "full" else subprocess.DEVNULL
    close = {"pass_fds": ()} if output == "full" else {}
    args = [sys.executable, "-c", "import os, sys; os.close(1) if sys.argv[1] == 'closed' else None; "
            "sys.argv = ['harness', '--root', sys.argv[2], 'list']; from harness.cli import main; "
            "raise SystemExit(main())", output, str(tmp_path)]
    proc = subprocess.run(args, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                          env={**os.environ}, timeout=120, **close)
    if output == "full":
        stdout.close()
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("harness: error:")]
    assert len(lines) == 1 and ("No space left" in lines[0] or "closed" in lines[0] or "Bad file" in lines[0]), proc.stderr
