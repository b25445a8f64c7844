import gzip
import pickle
import struct

import numpy as np
import pytest

from pdecore import data


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


@pytest.mark.skipif(not (data.FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_test_split():
    x, y = data.load_fashion_mnist("test")
    assert x.shape == (10000, 1, 28, 28) and np.bincount(y).tolist() == [1000] * 10
