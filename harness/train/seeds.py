"""One seed for every random source an item touches: Python's, NumPy's global one and the backend's."""
from __future__ import annotations

import hashlib


def item_seed(base_seed: int, item_id: str) -> int:
    """Each item gets its own fixed seed: re-running one item alone repeats its random draws
    (weights, noise, batches). It repeats the draws, not every bit: a CPU's threaded kernels are not
    bit-reproducible at every size, and the GAN amplifies last-bit differences (benchmarks/RESULTS.md).
    An item's units (harness.registry.Units) start from their item's seed."""
    return int(hashlib.sha256(f"{base_seed}:{item_id}".encode()).hexdigest()[:8], 16) % (2**31 - 1)


def set_seed(seed: int) -> None:
    """The runner calls it before each item; an item that trains several models (1.2f's seeds)
    calls it before each, so every training follows its own seed as a separate run would."""
    import random

    import keras
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)  # also seeds the backend (TF / JAX / torch)
