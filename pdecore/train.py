r"""One small training loop shared by every chapter that trains a network.

:func:`fit` minimises the mean loss over mini-batches with Adam,

.. math:: \theta \leftarrow \mathrm{Adam}\Bigl(\theta,\ \nabla_\theta
   \tfrac{1}{|B|}\textstyle\sum_{i \in B} \ell(\mathrm{net}_\theta(X_i), y_i)\Bigr),

with seeded shuffling (a :class:`torch.Generator`), so that two runs with the same seed
and the same initial weights give identical histories on the CPU. :func:`evaluate` and
:func:`accuracy` score a model without gradients; :func:`count_parameters` counts the
trainable weights (the x-axis of "error against parameters"). Used in chapter 5 (E4)
and later chapters.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._optional import require_torch

require_torch("pdecore.train")

import torch
from torch import nn
from torch.nn import functional as F

from ._validation import as_choice, as_int, as_positive

__all__ = ["LOSSES", "History", "accuracy", "count_parameters", "evaluate", "fit"]

#: Loss functions by name: ``loss(prediction, target) -> scalar`` (batch mean).
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": F.mse_loss,
    "cross_entropy": F.cross_entropy,
}

LossLike = str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run.

    Attributes
    ----------
    train_loss : list of float
        Mean training loss of each epoch (averaged over the mini-batches, weighted by
        their sizes, with the weights changing during the epoch).
    val_loss : list of float
        Loss on the validation set after each epoch (empty without ``val``).
    train_accuracy, val_accuracy : list of float
        Fraction of correct class predictions, only for ``loss="cross_entropy"`` (empty
        otherwise, and ``val_accuracy`` also without ``val``).
    batch_loss : list of float
        Loss of every mini-batch in training order (the fine-grained training curve).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)


def count_parameters(model: nn.Module) -> int:
    """Return the number of trainable scalars of ``model`` (``requires_grad`` only).

    Parameters
    ----------
    model : torch.nn.Module
        Any module; buffers and frozen parameters are not counted.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`torch.nn.Module`.

    Examples
    --------
    >>> from torch import nn
    >>> from pdecore.train import count_parameters
    >>> print(count_parameters(nn.Linear(3, 2)))
    8
    """
    _check_model(model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _get_loss(loss: LossLike) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if isinstance(loss, str):  # a name; anything else must be a callable
        return LOSSES[as_choice(loss, "loss", sorted(LOSSES))]
    if callable(loss):
        return loss
    raise TypeError(f"loss must be a name from {sorted(LOSSES)} or a callable, got {loss!r}")


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def _model_dtype(model: nn.Module) -> torch.dtype:
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()


def _as_data(x: object, name: str, dtype: torch.dtype | None) -> torch.Tensor:
    """Coerce ``x`` to a tensor (float ``dtype``, or int64 labels when ``dtype`` is None)."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{name} needs a non-empty leading (sample) axis, got shape "
                         f"{tuple(x.shape)}")
    if dtype is None:
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer class labels for "
                            f"loss='cross_entropy', got dtype {x.dtype}")
        return x.long()
    if x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
    return x.to(dtype)


def _prepare(model, inputs, targets, loss, device):
    _check_model(model)
    loss_fn = _get_loss(loss)
    dtype = _model_dtype(model)
    X = _as_data(inputs, "inputs", dtype)
    y = _as_data(targets, "targets", None if loss == "cross_entropy" else dtype)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"inputs and targets must have the same number of samples, got "
                         f"{X.shape[0]} and {y.shape[0]}")
    device = _model_device(model) if device is None else _as_device(device)
    return loss_fn, X, y, device


def _as_device(device: object) -> torch.device:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got "
                         f"{device!r} ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but this torch has no CUDA device; use "
                         "device='cpu' (or install a CUDA build of torch on a GPU machine)")
    return device


def _check_batch(out: torch.Tensor, yb: torch.Tensor, loss: object) -> None:
    """Refuse targets that would be broadcast or labels outside the model's classes."""
    if isinstance(loss, str) and loss == "mse" and out.shape != yb.shape:
        raise ValueError(f"targets must have the shape of the model's output per sample: "
                         f"output {tuple(out.shape[1:])}, targets {tuple(yb.shape[1:])} "
                         f"(MSE would broadcast them); reshape the targets, e.g. "
                         f"y.reshape(-1, 1)")
    if isinstance(loss, str) and loss == "cross_entropy" and out.ndim >= 2:
        low, high = int(yb.min()), int(yb.max())
        if low < 0 or high >= out.shape[1]:
            raise ValueError(f"targets must be class labels 0..{out.shape[1] - 1} for a "
                             f"model with {out.shape[1]} outputs, got labels {low}..{high}")


def _scores(model, X, y, loss_fn, batch_size, device, with_accuracy):
    """Mean loss (and accuracy) over ``X, y`` without gradients, in eval mode."""
    was_training = model.training
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            xb = X[start : start + batch_size].to(device)
            yb = y[start : start + batch_size].to(device)
            out = model(xb)
            total += float(loss_fn(out, yb)) * xb.shape[0]
            if with_accuracy:
                correct += int((out.argmax(dim=1) == yb).sum())
    model.train(was_training)
    n = X.shape[0]
    return total / n, (correct / n if with_accuracy else None)


def evaluate(
    model: nn.Module,
    inputs: object,
    targets: object,
    loss: LossLike = "mse",
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> float:
    """Return the mean loss of ``model`` on ``(inputs, targets)``, without gradients.

    Parameters
    ----------
    model : torch.nn.Module
        The network; evaluated in ``eval()`` mode, its mode is restored afterwards.
    inputs : (S, ...) tensor or ndarray
        Samples along the first axis; cast to the model's floating dtype.
    targets : (S, ...) tensor or ndarray
        Targets; integer class labels for ``loss="cross_entropy"``.
    loss : {"mse", "cross_entropy"} or callable
        Batch-mean loss ``loss(prediction, target)``.
    batch_size : int
        Samples per forward pass.
    device : torch.device or str, optional
        Where to compute (default: the model's device). The model is not moved.

    Returns
    -------
    float
        The sample-weighted mean of the batch losses.

    Raises
    ------
    TypeError, ValueError
        Bad model, data, loss name or batch size (see :func:`fit`).

    See Also
    --------
    fit, accuracy
    """
    loss_fn, X, y, device = _prepare(model, inputs, targets, loss, device)
    batch_size = as_int(batch_size, "batch_size")
    return _scores(model, X, y, loss_fn, batch_size, device, False)[0]


def accuracy(
    model: nn.Module,
    inputs: object,
    labels: object,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> float:
    """Return the fraction of samples whose arg-max class (axis 1) equals the label.

    Parameters and errors are those of :func:`evaluate` with ``loss="cross_entropy"``.

    Returns
    -------
    float
        In [0, 1].
    """
    loss_fn, X, y, device = _prepare(model, inputs, labels, "cross_entropy", device)
    batch_size = as_int(batch_size, "batch_size")
    return _scores(model, X, y, loss_fn, batch_size, device, True)[1]


@contextlib.contextmanager
def _threads(threads: int | None):
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def fit(
    model: nn.Module,
    inputs: object,
    targets: object,
    *,
    loss: LossLike = "mse",
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: torch.device | str | None = None,
    val: tuple[object, object] | None = None,
    progress: bool = False,
    threads: int | None = None,
) -> History:
    r"""Train ``model`` in place with Adam on mini-batches; return the per-epoch history.

    Each epoch visits the samples in a fresh random order drawn from a
    :class:`torch.Generator` seeded with ``seed``; the global torch RNG is forked and
    seeded too (dropout and similar layers), and restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        The network, trained in place (moved to ``device``).
    inputs : (S, ...) tensor or ndarray
        Training samples along the first axis; cast to the model's floating dtype.
    targets : (S, ...) tensor or ndarray
        Training targets; integer class labels for ``loss="cross_entropy"``.
    loss : {"mse", "cross_entropy"} or callable
        Batch-mean loss ``loss(prediction, target)`` (see :data:`LOSSES`).
    epochs : int
        Number of passes over the data, ``>= 1``.
    batch_size : int
        Samples per step, ``>= 1`` (the last batch of an epoch may be smaller).
    lr : float
        Adam learning rate, ``> 0``.
    seed : int
        Seed of the shuffling (and of the forked global RNG), ``>= 0``.
    device : torch.device or str, optional
        Where to train (default: the model's current device). Batches are moved there
        one at a time, so the data may stay on the CPU.
    val : (inputs, targets), optional
        Validation set, scored after every epoch.
    progress : bool
        Show tqdm progress bars over the epochs and over the batches of each epoch.
    threads : int, optional
        Torch intra-op threads during the fit (restored afterwards).

    Returns
    -------
    History
        ``train_loss`` and ``val_loss`` per epoch, and accuracies for
        ``loss="cross_entropy"``.

    Raises
    ------
    TypeError
        ``model`` not a module, data not tensors/arrays, float labels for cross entropy,
        non-integer counts, unknown loss type.
    ValueError
        Empty data, mismatched sample counts, NaN/inf inputs, ``epochs``,
        ``batch_size`` or ``threads`` below 1, ``lr <= 0``, unknown loss name, a
        malformed ``val``, MSE targets whose shape differs from the output's, class
        labels outside ``0..classes-1``, a model without trainable parameters,
        ``device="cuda"`` without CUDA.
    FloatingPointError
        The loss or a weight became non-finite (diverged training); the message names
        the epoch and batch, and the model keeps the weights of the last finite step.

    See Also
    --------
    evaluate, count_parameters

    Notes
    -----
    On the CPU two fits with the same seed and the same initial weights give identical
    histories; on a GPU, non-deterministic kernels may change the last digits.
    Used in chapter 5 (E4) and later chapters.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from pdecore.train import fit
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(64, 3, generator=g, dtype=torch.float64)
    >>> y = X @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64)
    >>> net = nn.Linear(3, 1).double()
    >>> h = fit(net, X, y, epochs=50, batch_size=16, lr=0.05, seed=0)
    >>> print(h.train_loss[-1] < 1e-2 * h.train_loss[0])
    True
    """
    loss_fn, X, y, device = _prepare(model, inputs, targets, loss, device)
    epochs = as_int(epochs, "epochs")
    batch_size = as_int(batch_size, "batch_size")
    lr = as_positive(lr, "lr")
    seed = as_int(seed, "seed", minimum=0)
    if threads is not None:
        threads = as_int(threads, "threads")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be a bool, got {progress!r}")
    if val is not None:
        if not isinstance(val, (tuple, list)) or len(val) != 2:
            raise ValueError("val must be a pair (inputs, targets)")
        _, X_val, y_val, _ = _prepare(model, val[0], val[1], loss, device)
    classify = isinstance(loss, str) and loss == "cross_entropy"

    params = [q for q in model.parameters() if q.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters (every parameter has "
                         "requires_grad=False): there is nothing to fit")
    model.to(device)
    history = History()
    generator = torch.Generator().manual_seed(seed)
    rng_devices = [device] if device.type == "cuda" else []
    with _threads(threads), torch.random.fork_rng(devices=rng_devices):
        torch.manual_seed(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        if progress:
            from tqdm.std import tqdm  # text bars: no ipywidgets needed in notebooks

            epoch_iter = tqdm(total=epochs, desc="epochs", unit="epoch")
        n = X.shape[0]
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(n, generator=generator)
            total, correct = 0.0, 0
            starts = range(0, n, batch_size)
            if progress:
                starts = tqdm(starts, desc="batches", unit="batch", leave=False)
            for batch, start in enumerate(starts, 1):
                idx = order[start : start + batch_size]
                xb, yb = X[idx].to(device), y[idx].to(device)
                optimizer.zero_grad(set_to_none=True)
                out = model(xb)
                if epoch == 1 and batch == 1:
                    _check_batch(out, yb, loss)
                batch_loss = loss_fn(out, yb)
                value = float(batch_loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"training diverged: the loss is {value} at epoch {epoch}, batch "
                        f"{batch} (lr={lr:g}); the model keeps the weights of the last "
                        f"finite step. Lower lr or check the data.")
                batch_loss.backward()
                before = [q.detach().clone() for q in params]
                optimizer.step()
                if not all(bool(torch.isfinite(q).all()) for q in params):
                    with torch.no_grad():
                        for q, b in zip(params, before, strict=True):
                            q.copy_(b)
                    raise FloatingPointError(
                        f"training diverged: a weight became non-finite at epoch {epoch}, "
                        f"batch {batch} (lr={lr:g}); the model keeps the weights before "
                        f"that step. Lower lr.")
                history.batch_loss.append(value)
                total += value * idx.numel()
                if classify:
                    correct += int((out.detach().argmax(dim=1) == yb).sum())
            history.train_loss.append(total / n)
            if classify:
                history.train_accuracy.append(correct / n)
            if val is not None:
                v_loss, v_acc = _scores(model, X_val, y_val, loss_fn, batch_size, device,
                                        classify)
                history.val_loss.append(v_loss)
                if classify:
                    history.val_accuracy.append(v_acc)
            if progress:
                postfix = {"loss": f"{history.train_loss[-1]:.3e}"}
                if history.val_loss:
                    postfix["val"] = f"{history.val_loss[-1]:.3e}"
                epoch_iter.set_postfix(postfix)
                epoch_iter.update()
        if progress:
            epoch_iter.close()
    return history
