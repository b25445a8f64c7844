"""pdecore.data: the IDX and CIFAR readers, their errors, and broken files.

A truncated or corrupted Fashion-MNIST file gives a ``ValueError`` that names the file,
and the loaders write nothing anywhere (no cache: not next to the data, not in the
working folder, not in ``$HOME``, ``$XDG_CACHE_HOME`` or the temporary folder) and keep
nothing in memory: once the file is repaired, the next call reads it.
"""

import gzip
import os
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from pdecore import data
from pdecore.experiments import classification


def write_idx(path, array, magic_type=0x08, compress=True, truncate=0):
    header = struct.pack(">BBBB", 0, 0, magic_type, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = (header + array.astype(np.uint8).tobytes())
    payload = payload[: len(payload) - truncate]
    opener = gzip.open if compress else open
    with opener(path, "wb") as fh:
        fh.write(payload)
    return path


@pytest.fixture
def fmnist(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (12, 28, 28))
    labs = rng.integers(0, 10, 12)
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", imgs)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labs)
    return tmp_path, imgs, labs


def test_the_folder_comes_from_the_environment_variable(fmnist):
    # the no-root path: make ... FMNIST_DIR=<folder> exports PDECORE_FASHION_MNIST_DIR
    import subprocess
    import sys
    root, imgs, labs = fmnist
    code = ("from pdecore import data; x, y = data.load_fashion_mnist('test'); "
            "print(data.FASHION_MNIST_DIR, x.shape[0], int(y.sum()))")
    env = dict(os.environ, PDECORE_FASHION_MNIST_DIR=str(root))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [str(root), "12", str(int(labs.sum()))]


def test_read_idx_roundtrip(tmp_path):
    a = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(data.read_idx(write_idx(tmp_path / "a.gz", a)), a)
    np.testing.assert_array_equal(
        data.read_idx(write_idx(tmp_path / "a.idx", a, compress=False)), a)


def test_load_fashion_mnist_fixture(fmnist):
    root, imgs, labs = fmnist
    x, y = data.load_fashion_mnist("test", root)
    assert x.shape == (12, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0] * 255, imgs, atol=1e-4)
    np.testing.assert_array_equal(y, labs)


def test_truncated_file_is_refused(tmp_path):
    a = np.arange(100).reshape(1, 10, 10)
    with pytest.raises(ValueError, match="truncated or corrupted"):
        data.read_idx(write_idx(tmp_path / "t.gz", a, truncate=7))


def test_corrupted_gzip_is_refused(tmp_path):
    path = write_idx(tmp_path / "c.gz", np.arange(50))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="corrupted"):
        data.read_idx(path)


def test_bad_magic_and_dims(tmp_path):
    path = tmp_path / "m.idx"
    path.write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(path)
    with pytest.raises(ValueError, match="dimensions"):
        data.read_idx(write_idx(tmp_path / "d.gz", np.arange(4)), expected_ndim=3)


def test_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install -y dataset-fashion-mnist"):
        data.load_fashion_mnist("train", tmp_path)
    with pytest.raises(ValueError, match="split"):
        data.load_fashion_mnist("valid", tmp_path)


def test_mismatched_counts(fmnist):
    root, imgs, _ = fmnist
    write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(5))
    with pytest.raises(ValueError, match="labels"):
        data.load_fashion_mnist("train", root)


def write_cifar(root, n=4, name="test_batch", override=None):
    rng = np.random.default_rng(1)
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": list(rng.integers(0, 10, n))}
    batch.update(override or {})
    with open(root / name, "wb") as fh:
        pickle.dump(batch, fh)
    return batch


def test_cifar_fabricated_batch(tmp_path):
    batch = write_cifar(tmp_path)
    x, y = data.load_cifar10(tmp_path, "test")
    assert x.shape == (4, 3, 32, 32)
    np.testing.assert_allclose(x.reshape(4, -1) * 255, batch[b"data"], atol=1e-4)
    np.testing.assert_array_equal(y, batch[b"labels"])


def test_cifar_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        data.load_cifar10(tmp_path, "train")
    write_cifar(tmp_path, override={b"data": np.zeros((4, 100), dtype=np.uint8)})
    with pytest.raises(ValueError, match="3072"):
        data.load_cifar10(tmp_path, "test")
    (tmp_path / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="readable"):
        data.load_cifar10(tmp_path, "test")


class _Payload:
    """Unpickling this calls a function of the standard library: it must never run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_crafted_cifar_batch_runs_no_code(tmp_path):
    marker = tmp_path / "the-payload-ran"
    write_cifar(tmp_path, override={b"batch_label": _Payload(marker)})
    with pytest.raises(ValueError, match="refusing the global"):
        data.load_cifar10(tmp_path, "test")
    assert not marker.exists()


@pytest.mark.parametrize("override, match", [
    ({b"labels": [0, 1, 2, 10]}, "0..9"),
    ({b"labels": [0, 1, 2, -1]}, "0..9"),
    ({b"data": np.zeros((4, 3072), dtype=np.float32)}, "uint8"),
    ({b"data": [[0] * 3072] * 4}, "uint8"),
])
def test_cifar_labels_and_pixels_are_validated(tmp_path, override, match):
    write_cifar(tmp_path, override=override)
    with pytest.raises(ValueError, match=match):
        data.load_cifar10(tmp_path, "test")


@pytest.mark.skipif(not (data.FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_test_split():
    x, y = data.load_fashion_mnist("test")
    assert x.shape == (10000, 1, 28, 28) and np.bincount(y).tolist() == [1000] * 10


def test_a_decompression_bomb_is_not_inflated(tmp_path):
    import tracemalloc

    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb") as fh:  # declares 10 bytes, holds 64 MB of zeros
        fh.write(struct.pack(">I", 0x0801) + struct.pack(">I", 10))
        for _ in range(64):
            fh.write(bytes(2**20))
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="more than the 10 bytes"):
            data.read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # the payload was never read beyond the declared size


def test_a_header_declaring_too_much_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(struct.pack(">I", 0x0803) + struct.pack(">3I", 60000, 2000, 2000))
    with pytest.raises(ValueError, match="max_bytes"):
        data.read_idx(path)


# --- broken files leave nothing behind -------------------------------------------


def _fashion_mnist(root: Path, count: int = 6) -> None:
    gen = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz",
                   gen.integers(0, 256, (count, 28, 28)))
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", np.arange(count) % 10)


def _truncate(path: Path) -> None:
    """Keep a valid gzip stream whose payload is shorter than the header says."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    with gzip.open(path, "wb") as fh:
        fh.write(raw[: len(raw) - 100])


def _corrupt(path: Path) -> None:
    """Cut the gzip stream itself in half."""
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _snapshot(*folders: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns)
            for folder in folders for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Data folder plus private HOME, cache, temporary and working folders."""
    folders = {name: tmp_path / name for name in ("data", "home", "cache", "tmp", "cwd")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setenv("HOME", str(folders["home"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folders["cache"]))
    monkeypatch.setenv("TMPDIR", str(folders["tmp"]))
    monkeypatch.setattr("tempfile.tempdir", str(folders["tmp"]))
    monkeypatch.chdir(folders["cwd"])
    _fashion_mnist(folders["data"])
    return folders


LOADERS = {
    "read_idx": lambda root, f: data.read_idx(root / f),
    "load_fashion_mnist": lambda root, f: data.load_fashion_mnist(
        "test" if f.startswith("t10k") else "train", root),
    "load_images": lambda root, f: classification.load_images("fashion_mnist", root),
}


@pytest.mark.parametrize("damage", [_truncate, _corrupt], ids=["truncated", "corrupted"])
@pytest.mark.parametrize("file", ["t10k-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_a_broken_file_gives_a_clear_error_and_leaves_nothing(sandbox, loader, file, damage):
    root = sandbox["data"]
    good = _arrays(LOADERS[loader](root, file))
    original = (root / file).read_bytes()
    damage(root / file)
    before = _snapshot(*sandbox.values())
    with pytest.raises(ValueError, match=re.escape(file)) as info:
        LOADERS[loader](root, file)
    assert "truncated" in str(info.value) or "corrupted" in str(info.value)
    assert _snapshot(*sandbox.values()) == before  # nothing written, nothing touched
    (root / file).write_bytes(original)  # repaired: read afresh, nothing stale kept
    for a, b in zip(good, _arrays(LOADERS[loader](root, file)), strict=True):
        np.testing.assert_array_equal(a, b)


def _arrays(result) -> list[np.ndarray]:
    if isinstance(result, classification.ImageData):
        return [result.X_train, result.y_train, result.X_test, result.y_test]
    return list(result) if isinstance(result, tuple) else [result]


def test_an_empty_file_is_reported_as_truncated(tmp_path):
    # was: "not an IDX file (bad magic number )", with nothing after "number"
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(path, "wb"):
        pass
    with pytest.raises(ValueError, match=r"0 bytes, shorter than an IDX header; the file is "
                                         r"truncated"):
        data.read_idx(path)
