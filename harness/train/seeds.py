"""One seed for every random source an item touches: Python's, NumPy's global one and the backend's."""
from __future__ import annotations


def set_seed(seed: int) -> None:
    """The runner calls it before each item; an item that trains several models (1.2f's seeds)
    calls it before each, so every training follows its own seed as a separate run would."""
    import random

    import keras
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)  # also seeds the backend (TF / JAX / torch)
