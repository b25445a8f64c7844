"""Private tensor helpers of :mod:`pdecore.nets`: input checks and the oneDNN switch.

Every torch module of the package checks its input here, once, at its boundary, so that
a wrong type, dtype, shape or size gives a ``TypeError`` or ``ValueError`` that names the
argument (instead of torch's ``RuntimeError`` from inside a convolution). The numpy side
has the same gate in :mod:`pdecore._validation`.
"""

from __future__ import annotations

import contextlib
import warnings

import torch

__all__ = [
    "check_float_tensor",
    "check_image_tensor",
    "check_signal_tensor",
    "check_weight",
    "onednn_guard",
]


def check_float_tensor(x: object, name: str) -> None:
    """Raise ``TypeError`` unless ``x`` is a floating-point tensor (any shape)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = f"dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {got}")


def check_weight(weight: object, ndim: int, *, floating: bool = True) -> None:
    """Raise unless ``weight`` is a convolution kernel with ``ndim`` axes.

    ``(C_out, C_in, k)`` for ``ndim=3``, ``(C_out, C_in, k1, k2)`` for ``ndim=4``; with
    ``floating=False`` any tensor dtype passes (the callers convert to float64).
    """
    if floating:
        if not isinstance(weight, torch.Tensor) or not weight.is_floating_point():
            raise TypeError(f"weight must be a floating-point torch.Tensor, got "
                            f"{type(weight).__name__}")
    elif not isinstance(weight, torch.Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if weight.ndim != ndim:
        axes = "(C_out, C_in, k)" if ndim == 3 else "(C_out, C_in, k1, k2)"
        raise ValueError(f"weight must have shape {axes}, got {tuple(weight.shape)}")


def _check_batch(x: object, name: str, channels: int, axes: str, ndim: int) -> None:
    """Type, floating dtype, number of axes and channels of a batch of signals or images."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (batch, {channels}, {axes}), "
                        f"got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != ndim or x.shape[1] != channels:
        raise ValueError(f"{name} must have shape (batch, {channels}, {axes}), "
                         f"got {tuple(x.shape)}")


def _check_dtype(x: torch.Tensor, name: str, dtype: torch.dtype | None) -> None:
    # torch would say "expected scalar type ..." from inside the convolution
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but the module's weights are {dtype}; "
                        f"convert one of them: {name}.to({dtype}) or module.to({x.dtype})")


def check_signal_tensor(u: object, channels: int, min_length: int, name: str = "u", *,
                        dtype: torch.dtype | None = None) -> None:
    """Raise a clear error unless ``u`` is a float tensor of shape ``(B, channels, N)``.

    ``N >= min_length``; with ``dtype`` (the module's weights) a tensor of another
    floating dtype is refused with a ``TypeError`` that says how to convert.
    """
    _check_batch(u, name, channels, "N", 3)
    if u.shape[-1] < min_length:
        raise ValueError(f"{name} needs at least {min_length} grid points, got {u.shape[-1]}")
    _check_dtype(u, name, dtype)


def check_image_tensor(x: object, channels: int, name: str = "x", *,
                       min_size: int = 1, dtype: torch.dtype | None = None) -> None:
    """Raise a clear error unless ``x`` is a float tensor of shape ``(B, channels, H, W)``.

    ``H, W >= min_size``; ``dtype`` as in :func:`check_signal_tensor`.
    """
    _check_batch(x, name, channels, "H, W", 4)
    if min(x.shape[2:]) < min_size:
        raise ValueError(f"{name} must be at least {min_size}x{min_size} pixels, got "
                         f"{tuple(x.shape[2:])}")
    _check_dtype(x, name, dtype)


def onednn_guard(u: torch.Tensor) -> contextlib.AbstractContextManager:
    """Switch oneDNN off around 1D float32 convolutions on the CPU.

    oneDNN's float32 ``conv1d`` on long signals was measured 15-100x slower than float64
    on these machines; without it torch uses its native kernel. 2D layers keep oneDNN.
    """
    if not isinstance(u, torch.Tensor):
        raise TypeError(f"u must be a torch.Tensor, got {type(u).__name__}")
    if u.device.type == "cpu" and u.dtype == torch.float32:
        return _onednn_off()
    return contextlib.nullcontext()


@contextlib.contextmanager
def _onednn_off():
    # torch warns about TF32 on Intel GPUs whenever the oneDNN flags change; irrelevant here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False):
            yield
