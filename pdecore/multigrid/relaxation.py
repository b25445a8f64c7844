r"""Smoothers: damped Jacobi and red-black Gauss-Seidel, the blocks of the U-net.

.. math::

    \text{jacobi:}\quad x \leftarrow x + \omega\, D_A^{-1} (b - A x), \qquad
    \text{rbgs:}\quad x_{\text{red}} \leftarrow D_{\text{red}}^{-1}
    (b - A_{\text{red},\text{black}} x_{\text{black}}),\ \text{then black}

A Jacobi sweep is one residual block; a red-black Gauss-Seidel sweep is two residual
blocks masked to alternate points (even "red", odd "black"). Chapter 5 (multigrid
solvers are U-nets).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_bool, as_choice, as_damping, as_int, as_vector
from .hierarchy import Level
from .tridiagonal import _as_tridiagonal, _residual

__all__ = ["SMOOTHERS", "smooth"]

#: Smoothers: damped Jacobi (one residual block per sweep) and red-black Gauss-Seidel.
SMOOTHERS = ("jacobi", "rbgs")


def _jacobi(level: Level, x: np.ndarray, b: np.ndarray, sweeps: int, omega: float) -> None:
    inv_diag = level._arrays()["inv_diag"]
    d, e = level.A.diag, level.A.off
    for _ in range(sweeps):
        r = _residual(d, e, x, b)
        r *= inv_diag
        r *= omega
        x += r


def _rbgs(level: Level, x: np.ndarray, b: np.ndarray, sweeps: int, reverse: bool) -> None:
    c = level._arrays()
    inv_even, inv_odd, e_l, e_r = c["inv_even"], c["inv_odd"], c["e_even"], c["e_odd"]
    nf, nr = e_l.size, e_r.size
    x_even, x_odd = x[0::2], x[1::2]
    b_even, b_odd = b[0::2], b[1::2]

    def red() -> None:  # even points from their odd neighbours
        t = b_even.copy()
        t[:nf] -= e_l * x_odd
        t[1 : nr + 1] -= e_r * x_odd[:nr]
        np.multiply(t, inv_even, out=x_even)

    def black() -> None:  # odd points from their even neighbours
        t = b_odd - e_l * x_even[:nf]
        t[:nr] -= e_r * x_even[1 : nr + 1]
        np.multiply(t, inv_odd, out=x_odd)

    order = (black, red) if reverse else (red, black)
    for _ in range(sweeps):
        for half in order:
            half()


def _smooth(
    level: Level,
    x: np.ndarray,
    b: np.ndarray,
    sweeps: int,
    smoother: str,
    omega: float,
    reverse: bool,
) -> None:
    if sweeps == 0:
        return
    if smoother == "jacobi":
        _jacobi(level, x, b, sweeps, omega)
    else:
        _rbgs(level, x, b, sweeps, reverse)


def smooth(
    A: object,
    x: object,
    b: object,
    sweeps: int = 1,
    smoother: str = "rbgs",
    omega: float = 2.0 / 3.0,
    reverse: bool = False,
) -> np.ndarray:
    r"""Apply ``sweeps`` sweeps of a smoother to :math:`A x = b`.

    .. math::

        \text{jacobi:}\quad x \leftarrow x + \omega\, D_A^{-1} (b - A x), \qquad
        \text{rbgs:}\quad x_{\text{red}} \leftarrow D_{\text{red}}^{-1}
        (b - A_{\text{red},\text{black}} x_{\text{black}}),\ \text{then black}

    Damped Jacobi is one residual block per sweep (with weight :math:`\omega`);
    red-black Gauss-Seidel updates the even ("red") points from their odd neighbours,
    then the odd ("black") ones: two residual blocks masked to alternate points.

    Parameters
    ----------
    A : Tridiagonal or scipy.sparse matrix
        Symmetric tridiagonal matrix with positive diagonal.
    x : (N,) array_like
        Initial guess; not modified.
    b : (N,) array_like
        Right-hand side.
    sweeps : int
        Number of sweeps, ``>= 0``.
    smoother : {"rbgs", "jacobi"}
        Red-black Gauss-Seidel or damped Jacobi.
    omega : float
        Jacobi weight, :math:`0 < \omega \le 1` (default 2/3; unused by ``"rbgs"``).
    reverse : bool
        For ``"rbgs"``: black points first (the post-smoothing order that keeps a
        V-cycle symmetric).

    Returns
    -------
    ndarray, shape (N,)
        The smoothed iterate.

    Raises
    ------
    ValueError
        Wrong shapes, NaN/inf, unknown ``smoother``, ``omega`` outside (0, 1],
        non-positive diagonal.
    TypeError
        Wrong types.

    See Also
    --------
    pdecore.multigrid.cycle : smoothing inside a multigrid cycle.

    Notes
    -----
    Damped Jacobi with :math:`\omega = 2/3` reduces the high-frequency half of the
    Fourier modes of the 1D Laplacian by at least the factor 1/3 per sweep; red-black
    Gauss-Seidel ending with the black (odd) points leaves a residual that vanishes on
    them, which with operator-dependent interpolation makes a cycle exact in 1D. Used in
    chapter 5.

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, smooth
    >>> A = Tridiagonal(np.full(64, 2.0), np.full(63, -1.0))
    >>> x0 = np.cos(np.pi * np.arange(64))  # the highest frequency
    >>> x = smooth(A, x0, np.zeros(64), sweeps=1, smoother="jacobi")
    >>> print(f"{np.linalg.norm(x) / np.linalg.norm(x0):.3f}")
    0.328
    """
    A = _as_tridiagonal(A)
    x = as_vector(x, "x", A.n).copy()
    b = as_vector(b, "b", A.n)
    sweeps = as_int(sweeps, "sweeps", minimum=0)
    smoother = as_choice(smoother, "smoother", SMOOTHERS)
    omega = as_damping(omega)
    reverse = as_bool(reverse, "reverse")
    if not np.all(A.diag > 0):
        raise ValueError(f"A must have a positive diagonal; min diag = {A.diag.min()}")
    _smooth(Level(A), x, b, sweeps, smoother, omega, reverse)
    return x
