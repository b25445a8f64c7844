"""One input-validation gate for every public function of :mod:`pdecore`.

Every check raises ``TypeError`` for a wrong type or dtype and ``ValueError`` for a
wrong shape or value; each message names the argument, prints the bad value and says
what would be accepted (the SciPy and pyamg convention).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "as_bool",
    "as_choice",
    "as_damping",
    "as_int",
    "as_odd_kernel",
    "as_order",
    "as_positive",
    "as_scale",
    "as_signal",
    "as_vector",
]

_FLOAT64 = np.dtype(np.float64)


def as_signal(
    u: object,
    name: str = "u",
    *,
    min_length: int = 2,
    check_finite: bool = True,
) -> np.ndarray:
    """Return ``u`` as a float64 array of shape ``(N,)`` or ``(B, N)``.

    The input is never modified: a float64 input is returned as is (a view), so a
    caller that writes into the result must copy it first.

    Parameters
    ----------
    u : array_like
        Real numbers, one signal ``(N,)`` or a batch ``(B, N)``.
    name : str
        Argument name used in error messages.
    min_length : int
        Smallest admissible number of grid points ``N``.
    check_finite : bool
        Reject NaN and infinite values (default).

    Raises
    ------
    TypeError
        If ``u`` is not a real numeric array (complex, bool, strings, objects).
    ValueError
        If ``u`` has the wrong number of dimensions, too few points, or NaN/inf.
    """
    if (  # fast path for the common case: a finite float64 array of a valid shape
        type(u) is np.ndarray
        and u.dtype is _FLOAT64  # identity: any other float64 dtype takes the full path
        and u.ndim in (1, 2)
        and u.size
        and u.shape[-1] >= min_length
        and (not check_finite or math.isfinite(np.add.reduce(u, axis=None)))
    ):
        return u  # a finite sum implies finite entries; NaN, inf or overflow: full check
    if hasattr(u, "detach") and hasattr(u, "numpy"):
        raise TypeError(
            f"{name} must be a numpy array or sequence of floats, got a torch tensor; "
            f"use the modules in pdecore.nets for tensors or pass {name}.numpy()"
        )
    try:
        arr = np.asarray(u)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise TypeError(f"{name} must be array_like of real numbers: {exc}") from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(
            f"{name} must hold real numbers (float or int), got dtype {arr.dtype}"
        )
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape (N,) or (batch, N), got shape {arr.shape}"
        )
    if arr.shape[-1] < min_length:
        raise ValueError(
            f"{name} needs at least {min_length} grid points along its last axis, "
            f"got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = np.asarray(arr, dtype=np.float64)
    if check_finite and not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
    return arr


def as_positive(value: object, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite positive float or raise.

    Raises
    ------
    TypeError
        If ``value`` is not a real scalar.
    ValueError
        If ``value`` is NaN/inf, negative, or zero (unless ``allow_zero``).
    """
    if type(value) is float and 0.0 < value < math.inf:  # fast path
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fi":
            value = value.item()
        else:
            raise TypeError(
                f"{name} must be a real number, got {type(value).__name__} {value!r}"
            )
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {name}={value}")
    return value


#: Range accepted for the scale parameters ``lam`` (contrast) and ``h`` (grid size): their
#: squares and fourth powers, and differences divided by them, must stay finite.
SCALE_RANGE = (1e-30, 1e30)
_SCALE_LOW, _SCALE_HIGH = SCALE_RANGE


def as_scale(value: object, name: str) -> float:
    """Return a positive ``value`` within :data:`SCALE_RANGE` as a float or raise.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_positive`; ``ValueError`` also outside :data:`SCALE_RANGE`.
    """
    if type(value) is float and _SCALE_LOW <= value <= _SCALE_HIGH:  # fast path
        return value
    value = as_positive(value, name)
    low, high = SCALE_RANGE
    if not low <= value <= high:
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}] (squares and powers of "
                         f"it must stay finite in float64), got {name}={value:g}")
    return value


def as_damping(value: object, name: str = "omega") -> float:
    r"""Return a damping weight :math:`0 < \omega \le 1` as a float or raise.

    The weight of damped Jacobi, :math:`x \leftarrow x + \omega D_A^{-1}(b - A x)`, used
    by the multigrid smoothers and :func:`pdecore.semi_implicit_jacobi`.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_positive`; ``ValueError`` also above 1.
    """
    value = as_positive(value, name)
    if value > 1.0:
        raise ValueError(
            f"{name} must be in (0, 1] (damped Jacobi converges for diagonally dominant A), "
            f"got {name}={value}"
        )
    return value


def as_vector(x: object, name: str, n: int) -> np.ndarray:
    """Return ``x`` as a float64 array of shape ``(n,)`` (a vector of an n x n system) or raise.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_signal`; ``ValueError`` also for any shape other than ``(n,)``.
    """
    arr = as_signal(x, name, min_length=1)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the matrix, got {arr.shape}")
    return arr


def as_bool(value: object, name: str) -> bool:
    """Return ``value`` as a Python bool or raise ``TypeError`` (no truthy strings)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} "
                        f"{value!r}")
    return bool(value)


def as_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as a Python int ``>= minimum`` or raise.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (floats such as ``3.0`` are refused too).
    ValueError
        If ``value < minimum``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {type(value).__name__} {value!r}"
        )
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={value}")
    return value


def as_choice(value: object, name: str, choices: Iterable[object]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` listing them.

    Any other value (a misspelt name, another type, an array) is a
    ``ValueError``: the argument names a choice, and the message lists the valid ones.
    A bool matches only a bool choice (``1 == True`` in Python, yet 1 is no switch).
    """
    choices = tuple(choices)
    is_bool = isinstance(value, (bool, np.bool_))
    for choice in choices:
        try:
            if is_bool == isinstance(choice, (bool, np.bool_)) and value == choice:
                return value
        except (TypeError, ValueError):  # e.g. an array: its == has no single truth value
            break
    valid = ", ".join(repr(c) for c in choices)
    raise ValueError(f"{name} must be one of {valid}; got {value!r}")


def as_odd_kernel(kernel_size: object, name: str = "kernel_size") -> int:
    """Return an odd kernel size ``>= 1`` (padding ``k // 2`` keeps the size) or raise."""
    k = as_int(kernel_size, name)
    if k % 2 == 0:
        raise ValueError(f"{name} must be odd (the padding k // 2 keeps the size), got {k}")
    return k


def as_order(order: object) -> int:
    """Return the derivative order ``m`` as int, accepting only 1 and 2.

    Raises
    ------
    TypeError
        If ``order`` is not an integer.
    ValueError
        If ``order`` is not 1 or 2.
    """
    if type(order) is int and 1 <= order <= 2:  # fast path
        return order
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral):
        raise TypeError(f"order must be the integer 1 or 2, got {order!r}")
    if int(order) not in (1, 2):
        raise ValueError(
            f"order must be 1 (second-order diffusion) or 2 (fourth-order), got {order}"
        )
    return int(order)
