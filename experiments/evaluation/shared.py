"""One MNIST evaluator per process, shared by every item and unit that process computes.

Each item or unit that scores images needs eval.classifier's model. Loading it, wiring its
feature extractor and embedding the test set cost the same every time, and a worker process
runs many items and units in turn (1.1i's, 1.2f's and 1.2h's trainings each score their
samples). The process keeps the one it built and hands it out again while the evaluator is
the same: same result fingerprint, same model file (a --force retraining keeps the
fingerprint but not the bytes) and same test images. Anything else builds a fresh one.

Loading a Keras model draws from the global random generators (Keras seeds each layer's
initializer from Python's `random` before the saved weights replace them). An item that
loads the evaluator before it builds its own model would then train a different model
depending on whether this process had loaded it already. So the load leaves the random
state as it found it: results are the same whether the evaluator was built or reused, and
whatever the order in which workers took the items.
"""
from __future__ import annotations

import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from harness.locale import localise
from harness.train.evaluation import Evaluator, reference_key
from harness.words import words

W = words(__file__)

BUILT = W("built")


@dataclass
class _Shared:
    key: tuple[str | None, str, str] | None = None
    evaluator: Evaluator | None = None
    builds: int = 0  # how many times this process built one: once per evaluator, unless it changed


_SHARED = _Shared()


def builds() -> int:
    """Evaluators this process has built so far."""
    return _SHARED.builds


def evaluator_key(output: Any, reference_images: np.ndarray) -> tuple[str | None, str, str]:
    """What makes two evaluators the same: eval.classifier's fingerprint, its model file's bytes, the test images."""
    path = Path(output.folder) / output.result.models["classifier"]
    return (output.result.fingerprint, *reference_key(path, reference_images))


def shared_evaluator(output: Any, splits: Any, log: Callable[[dict[str, str]], None] | None = None) -> Evaluator:
    """The evaluator of eval.classifier's `output` against splits.x_test: the one this process built,
    if it is the same evaluator, else a new one (which replaces it; `log` hears about each build)."""
    key = evaluator_key(output, splits.x_test)
    if _SHARED.evaluator is None or _SHARED.key != key:
        start = time.perf_counter()
        with random_state_kept():
            model = output.model("classifier")
            evaluator = Evaluator(model, splits.x_test, cache_key=key[1:])
        _SHARED.key, _SHARED.evaluator, _SHARED.builds = key, evaluator, _SHARED.builds + 1
        if log is not None:
            took = time.perf_counter() - start
            log({lang: text.format(s=localise(f"{took:.1f}", lang), n=_SHARED.builds)
                 for lang, text in BUILT.items()})
    return _SHARED.evaluator


def forget() -> None:
    """Drop the shared evaluator (tests; a process that wants the memory back)."""
    _SHARED.key = _SHARED.evaluator = None


@contextmanager
def random_state_kept() -> Iterator[None]:
    """Python's, NumPy's and Keras's global random state, the same after the block as before it."""
    from keras.src.backend.common import global_state  # Keras keeps its global seed generator only here
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

    python_state, numpy_state = random.getstate(), np.random.get_state()
    generator = global_state.get_global_attribute(GLOBAL_SEED_GENERATOR)
    generator_state = None if generator is None else np.array(generator.state.value)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, generator)
        if generator is not None:
            generator.state.assign(generator_state)
