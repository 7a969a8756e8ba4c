"""The dataset files a user may hand the harness: a Keras-layout .npz or a folder of IDX files.

Each reader checks what it reads and raises DataError naming the file, with one line
saying how to fix it: no bad file ever reaches the training as a traceback.
"""
from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path

import numpy as np

from harness.errors import HarnessError

KEYS = ("x_train", "y_train", "x_test", "y_test")

# The same file names are used by Yann LeCun's site, Keras (fashion) and Debian.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}

HOW_TO_FIX = (
    "pass --data PATH with an .npz holding x_train,y_train,x_test,y_test (Keras layout) "
    "or a folder with the four IDX files " + ", ".join(IDX_FILES.values())
)


class DataError(HarnessError):  # HarnessError (an Exception): the CLI prints it as one line
    """One-line message: what failed and how to fix it."""


# Ten times the size of MNIST's four arrays uncompressed (benchmarks/RESULTS.md, 2026-12-07 evening):
# a larger file is not MNIST, whatever its name.
MAX_DATA_BYTES = 600 << 20


def _one_line(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())[:300]


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read a Keras-layout .npz; raises DataError naming the path on any problem."""
    if not zipfile.is_zipfile(path):  # np.load's own error for this case is cryptic
        raise DataError(f"{path}: not an .npz (zip) archive; save one with np.savez or pass an IDX folder")
    try:
        with np.load(path, allow_pickle=False) as npz:  # no pickles: never run code from data
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: missing keys {missing} (found {sorted(npz.files)}); "
                    f"save it with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)"
                )
            return {k: npz[k] for k in KEYS}
    except DataError:
        raise
    except Exception as e:  # corrupt member, object arrays, ...
        raise DataError(f"{path}: unreadable .npz ({_one_line(e)}); re-save it with np.savez") from e


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse one IDX file (gzipped or raw) of unsigned bytes with `ndim` dimensions."""
    try:
        data = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # zlib.error: a damaged compressed stream
        raise DataError(f"{path}: cannot read ({_one_line(e)}); re-download the IDX file") from e
    # Header: 2 zero bytes, type code 0x08 (= unsigned byte), number of dimensions,
    # then one big-endian uint32 per dimension.
    header = 4 + 4 * ndim
    if len(data) < header or data[:4] != bytes([0, 0, 0x08, ndim]):
        raise DataError(
            f"{path}: bad IDX magic {data[:4].hex()} (expected 000008{ndim:02x}); "
            f"is this the right file, and fully downloaded?"
        )
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if len(data) != header + int(np.prod(dims)):
        raise DataError(f"{path}: {len(data) - header} data bytes for dims {dims}; file is truncated or corrupt")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def _read_idx_dir(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, fname in IDX_FILES.items():
        path = folder / fname
        if not path.exists() and (folder / fname[:-3]).exists():
            path = folder / fname[:-3]  # accept already-gunzipped files too
        if not path.exists():
            raise DataError(f"{folder}: missing {fname}; the folder needs all of {', '.join(IDX_FILES.values())}")
        arrays[key] = _read_idx(path, 3 if key.startswith("x") else 1)
    return arrays


def _idx_dir_if_present(folder: Path) -> dict[str, np.ndarray] | None:
    # None when no IDX file is there (a failed keras download leaves an empty folder).
    if not any((folder / f).exists() for f in IDX_FILES.values()):
        return None
    return _read_idx_dir(folder)


def _validate_user_arrays(arrays: dict[str, np.ndarray], where: str | Path) -> dict[str, np.ndarray]:
    """Check user-supplied arrays have Keras's shapes/dtypes; convert integer types to uint8."""
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) == 0:
            raise DataError(f"{where}: x_{split} has shape {x.shape}, expected (N, 28, 28) with N > 0")
        if y.shape != (len(x),):
            raise DataError(f"{where}: y_{split} has shape {y.shape}, expected ({len(x)},) to match x_{split}")
        for key, a, hi in ((f"x_{split}", x, 255), (f"y_{split}", y, 9)):
            if a.dtype.kind not in "iu":
                raise DataError(
                    f"{where}: {key} has dtype {a.dtype}, expected uint8 "
                    f"(raw 0..255 pixels / 0..9 labels; e.g. convert with np.rint(x * 255).astype(np.uint8))"
                )
            if a.min() < 0 or a.max() > hi:
                raise DataError(f"{where}: {key} values span {a.min()}..{a.max()}, expected 0..{hi}")
            out[key] = a.astype(np.uint8, copy=False)
    return out


def _load_user_path(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder; {HOW_TO_FIX}")
    if not (path.is_file() or path.is_dir()):  # /dev/zero would be read into memory until something gives
        raise DataError(f"{path}: a device or a pipe, not a file or folder; {HOW_TO_FIX}")
    if path.is_file() and path.stat().st_size > MAX_DATA_BYTES:
        raise DataError(f"{path}: {path.stat().st_size >> 20} MiB, far more than MNIST (about 55 MiB "
                        f"uncompressed); {HOW_TO_FIX}")
    arrays = _read_idx_dir(path) if path.is_dir() else _read_npz(path)
    return _validate_user_arrays(arrays, path)
