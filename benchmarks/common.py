"""Shared by every benchmark module: where things are, the environment as the user gave it, the
targets the results are compared with, and the small helpers of timing and reporting."""
from __future__ import annotations

import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
# The environment as the user gave it, before anything here imports the harness (which sets its own
# defaults in os.environ): the baseline's processes get exactly this.
USER_ENV = dict(os.environ)
MARK = "BENCH_RESULT "          # a worker's one line of JSON on stdout starts with this
# Issue 9's targets: the results compare against them and say whether each is met; nothing fails on them.
TARGET_VAE_SPEEDUP = 1.5        # harness img/s / baseline img/s, at least
TARGET_GAN_RATIO = 0.5          # harness ms/step / baseline ms/step, at most
TARGET_QUICK_S = 12 * 60        # wall time of `harness run --profile quick`, at most
TARGET_FULL_S = 100 * 60        # wall time of `harness run --profile full`, at most
TARGET_RSS_GIB = 4.0            # peak RSS of an end-to-end run, at most
ELBO_TOLERANCE = 1.0            # nats: the harness's test -ELBO within this of the baseline's
GAN_BATCH = 64                  # the handout's batch for 1.2d


def quiet_keras() -> None:
    # The baseline keeps the handout's LeakyReLU(alpha=...), input_shape= and input_dim=, which
    # Keras 3 accepts with a deprecation warning per layer: noise in the benchmark's output.
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def load_data(n_train: int, n_test: int):
    """MNIST training and test images, prepared as the handout prepares them, for both sides."""
    from benchmarks.handout_baseline import load_mnist

    x, _, xt, _ = load_mnist(n_train, n_test)
    return x, xt


def median(values: list[float]) -> float:
    """The median of timed repeats (robust to a burst of load on a shared machine); NaN for none."""
    return float(statistics.median(values)) if values else float("nan")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def progress(msg: str) -> None:
    """A timestamped progress line on stderr, apart from the results on stdout."""
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def one_line(text: str, limit: int = 300) -> str:
    """An exception's message without Keras's ANSI colour codes, on one line."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())[:limit]
