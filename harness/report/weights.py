"""The weights of a harness model's .keras file, read without deserialising the model.

The harness's models are instances of classes that live in experiments/, which harness/ never
imports; the weights file inside a .keras archive is keyed by layer class and order, and the
archive's config.json gives that order. The submission copies these arrays into the notebook's
plain Keras models (harness.report.submission).
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


class SubmissionError(HarnessError):
    pass


def _snake(name: str) -> str:
    # Keras names a container's entries in its weights file by class, in snake case, then _1, _2...
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def keras_file_weights(path: Path, part: str | None = None) -> list[tuple[str, list[Any]]]:
    """(layer name, arrays) of every layer with weights of a .keras file's model, or of its
    sub-model `part` (the VAE's encoder or decoder), in the model's layer order."""
    import h5py
    import numpy as np

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5")
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path.name}: not a readable .keras model ({exc}); re-run the item that saved it") from None
    model = config["config"][part] if part else config
    prefix = f"{part}/layers" if part else "layers"
    out, seen = [], {}
    with h5py.File(io.BytesIO(weights), "r") as h5:
        for layer in model["config"]["layers"]:
            key = _snake(layer["class_name"])
            seen[key] = seen.get(key, -1) + 1
            key = key if seen[key] == 0 else f"{key}_{seen[key]}"
            group = h5.get(f"{prefix}/{key}/vars")
            if group is not None and len(group):
                out.append((layer["config"]["name"], [np.array(group[str(i)]) for i in range(len(group))]))
    return out


def copy_weights(source: list[tuple[str, list[Any]]], model: Any, what: str) -> None:
    """The harness's arrays into the plain model, layer by layer; any mismatch is an error."""
    targets = [layer for layer in model.layers if layer.weights]
    shapes = lambda arrays: [tuple(a.shape) for a in arrays]
    if len(targets) != len(source) or any(shapes(a) != [tuple(w.shape) for w in t.weights]
                                          for (_, a), t in zip(source, targets)):
        raise SubmissionError(f"{what}: the saved model's layers ({', '.join(n for n, _ in source)}) do not match the "
                              f"notebook's {model.name}; the notebook's code and the item's model differ")
    for (_, arrays), layer in zip(source, targets):
        layer.set_weights(arrays)
