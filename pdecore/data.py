r"""Offline image data for chapter 7: Fashion-MNIST (IDX files) and CIFAR-10 (pickles).

- Fashion-MNIST comes from Debian's package ``dataset-fashion-mnist``
  (``apt-get install dataset-fashion-mnist``), files
  ``/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``,
  or from the folder named by the environment variable ``PDECORE_FASHION_MNIST_DIR``
  (``make ... FMNIST_DIR=...`` sets it), which needs no root.
  The IDX format: a big-endian header (magic ``0x00000803`` for uint8 images with three
  dimensions, ``0x00000801`` for labels), the sizes, then raw bytes.
- CIFAR-10 in the standard python-pickle batches (``data_batch_1`` ... ``test_batch``)
  from a folder the user points to.

Every reader checks headers and sizes and fails with a clear error on a truncated or
wrong file; nothing is cached, so a failed read leaves nothing behind.
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np

from ._validation import as_choice

__all__ = [
    "CLASS_NAMES",
    "FASHION_MNIST_DIR",
    "FASHION_MNIST_INSTALL",
    "load_cifar10",
    "load_fashion_mnist",
    "read_idx",
]

#: Where the Fashion-MNIST files are read from by default: ``$PDECORE_FASHION_MNIST_DIR``
#: if set, else where Debian's ``dataset-fashion-mnist`` installs them.
FASHION_MNIST_DIR = Path(os.environ.get("PDECORE_FASHION_MNIST_DIR")
                         or "/usr/share/datasets/fashion-mnist")
#: The command that installs them.
FASHION_MNIST_INSTALL = "apt-get update && apt-get install -y dataset-fashion-mnist"

#: Class names by data set, indexed by label.
CLASS_NAMES = {
    "fashion_mnist": ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal",
                      "shirt", "sneaker", "bag", "ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                "ship", "truck"),
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike, *, expected_ndim: int | None = None,
             max_bytes: int = 2**30) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a numpy array.

    Parameters
    ----------
    path : str or path-like
        The file; a name ending in ``.gz`` is decompressed.
    expected_ndim : int, optional
        Raise unless the header declares this many dimensions.
    max_bytes : int
        Refuse a header that declares a larger payload (default 1 GiB; Fashion-MNIST's
        training images are 47 MB). The file is read header first and then only the
        declared payload, so memory stays at the declared size even for a
        decompression bomb.

    Returns
    -------
    ndarray
        Shape as declared in the header.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Bad magic number, unknown element type, wrong number of dimensions, or a payload
        shorter or longer than the header declares (a truncated or corrupted file).

    Examples
    --------
    >>> import gzip, struct, tempfile, os
    >>> from pdecore.data import read_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte.gz")
    >>> with gzip.open(path, "wb") as fh:
    ...     _ = fh.write(struct.pack(">I", 0x0801) + struct.pack(">I", 3) + bytes([7, 8, 9]))
    >>> print(read_idx(path))
    [7 8 9]
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            # header first, then exactly the declared payload (and one byte more to
            # detect an overlong file): a decompression bomb is never inflated in full
            raw = fh.read(4)
            if len(raw) < 4:  # e.g. an empty file: no magic number to complain about
                raise ValueError(f"{path}: {len(raw)} bytes, shorter than an IDX header; "
                                 "the file is truncated or corrupted")
            if raw[0] != 0 or raw[1] != 0:
                raise ValueError(f"{path}: not an IDX file (bad magic number {raw.hex()})")
            code, ndim = raw[2], raw[3]
            if code not in _IDX_DTYPES:
                raise ValueError(f"{path}: unknown IDX element type 0x{code:02x}")
            if expected_ndim is not None and ndim != expected_ndim:
                raise ValueError(f"{path}: expected {expected_ndim} dimensions, header "
                                 f"says {ndim}")
            dims = fh.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise ValueError(f"{path}: truncated header ({4 + len(dims)} bytes)")
            shape = struct.unpack(f">{ndim}I", dims)
            dtype = np.dtype(_IDX_DTYPES[code])
            expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if expected > max_bytes:
                raise ValueError(f"{path}: the header {shape} declares {expected} bytes, "
                                 f"more than max_bytes={max_bytes}; raise it if the file "
                                 f"is genuine")
            payload = fh.read(expected + 1)
    except (OSError, EOFError) as exc:  # gzip: truncated stream or not gzip at all
        raise ValueError(f"{path}: cannot decompress ({exc}); the file is corrupted") from None
    if len(payload) != expected:
        longer = "more than" if len(payload) > expected else f"{len(payload)} bytes, not"
        raise ValueError(
            f"{path}: payload has {longer} the {expected} bytes the header {shape} needs; "
            f"the file is truncated or corrupted"
        )
    return np.frombuffer(payload, dtype=dtype).reshape(shape)


def load_fashion_mnist(
    split: str = "train", root: str | os.PathLike = FASHION_MNIST_DIR
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST as float32 images in [0, 1] and int64 labels.

    Parameters
    ----------
    split : {"train", "test"}
        60000 training or 10000 test images.
    root : str or path-like
        Folder with the four ``*-ubyte.gz`` files.

    Returns
    -------
    images : ndarray, shape (n, 1, 28, 28), float32
    labels : ndarray, shape (n,), int64

    Raises
    ------
    FileNotFoundError
        The files are missing; the message says how to install them.
    ValueError
        Unknown ``split``, corrupted files, or images and labels that do not match.
    """
    prefixes = {"train": "train", "test": "t10k"}
    split = as_choice(split, "split", sorted(prefixes))
    root = Path(root)
    img_path = root / f"{prefixes[split]}-images-idx3-ubyte.gz"
    lab_path = root / f"{prefixes[split]}-labels-idx1-ubyte.gz"
    for p in (img_path, lab_path):
        if not p.is_file():
            raise FileNotFoundError(
                f"Fashion-MNIST file {p} not found; install the data with "
                f"`{FASHION_MNIST_INSTALL}` (as root), or pass root=<folder with the files> "
                f"or set PDECORE_FASHION_MNIST_DIR=<folder>"
            )
    images = read_idx(img_path, expected_ndim=3)
    labels = read_idx(lab_path, expected_ndim=1)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{root}: {images.shape[0]} images of size {images.shape[1:]} but "
            f"{labels.shape[0]} labels; expected matching counts of 28x28 images"
        )
    if labels.max(initial=0) > 9:
        raise ValueError(f"{lab_path}: labels must be 0..9, found {labels.max()}")
    return (images.astype(np.float32) / 255.0)[:, None], labels.astype(np.int64)


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only what the official CIFAR-10 batches contain.

    Dicts, lists, bytes, strings and numbers need no globals; the image array and numpy
    integer labels need numpy's array and scalar reconstruction. Any other global (a
    function a crafted file would call while loading) is refused before it is looked
    up, so nothing runs.
    """

    _ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    })

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing the global {module}.{name}: a CIFAR-10 batch holds only a "
                f"dict of bytes, lists and a uint8 numpy array")
        return super().find_class(module, name)


def load_cifar10(
    root: str | os.PathLike, split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """Load CIFAR-10 from the standard python-pickle batches in ``root``.

    The batches are read with a restricted unpickler that builds only dicts, lists,
    bytes, numbers and a numpy array, so a crafted file cannot run code while it is
    loaded. A batch must hold ``b"data"``, a ``uint8`` array of shape ``(n, 3072)``,
    and ``b"labels"``, ``n`` integers in ``0..9``.

    Parameters
    ----------
    root : str or path-like
        Folder with ``data_batch_1`` ... ``data_batch_5`` and ``test_batch``
        (the extracted ``cifar-10-batches-py``).
    split : {"train", "test"}
        The five training batches or the test batch.

    Returns
    -------
    images : ndarray, shape (n, 3, 32, 32), float32 in [0, 1]
    labels : ndarray, shape (n,), int64

    Raises
    ------
    FileNotFoundError
        A batch file is missing.
    ValueError
        Unknown ``split`` or a batch without the expected ``data``/``labels`` entries
        and sizes.
    """
    names = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    split = as_choice(split, "split", sorted(names))
    images, labels = [], []
    for name in names[split]:
        path = Path(root) / name
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 batch {path} not found (root={root!s})")
        try:
            with open(path, "rb") as fh:
                batch = _CifarUnpickler(fh, encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError,
                IndexError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable CIFAR-10 batch ({exc})") from None
        data = batch.get(b"data") if isinstance(batch, dict) else None
        labs = batch.get(b"labels") if isinstance(batch, dict) else None
        if data is None or labs is None:
            raise ValueError(f"{path}: a CIFAR-10 batch needs b'data' and b'labels' entries")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise ValueError(f"{path}: b'data' must be a uint8 numpy array (pixels 0..255), "
                             f"got {getattr(data, 'dtype', type(data).__name__)}")
        if not isinstance(labs, list) or not all(
                isinstance(v, (int, np.integer)) and 0 <= v <= 9 for v in labs):
            raise ValueError(f"{path}: b'labels' must be a list of integers 0..9")
        if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != len(labs):
            raise ValueError(
                f"{path}: data has shape {data.shape} for {len(labs)} labels; "
                "expected (n, 3072) with one label per row"
            )
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(labs, dtype=np.int64))
    return np.concatenate(images).astype(np.float32) / 255.0, np.concatenate(labels)
