r"""Finite-difference operators :math:`D_m` and their adjoints :math:`D_m^\top`.

:math:`D_m \in \mathbb{R}^{(N-m)\times N}` is the m-th forward difference scaled by
:math:`h^{-m}`, using only differences between grid points inside the signal; this is
the natural (for m = 1: reflecting, Neumann) boundary condition. The semi-discrete model
of chapter 1 (:ref:`ch-diffusion`) is

.. math:: \dot u = -D_m^\top \Phi(D_m u).

In the network view, :math:`D_m` is a convolution (stencil ``[-1, 1]`` or
``[1, -2, 1]``) and :math:`D_m^\top` the transposed convolution with the same kernel.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg
import scipy.sparse

from ._validation import as_int, as_order, as_positive, as_scale, as_signal
from .diffusivities import DiffusivityLike, potential

__all__ = [
    "apply_adjoint",
    "apply_derivative",
    "derivative_matrix",
    "energy",
    "operator_norm_squared",
    "stability_limit",
    "STENCILS",
]

#: Convolution kernels of :math:`h^m D_m` (cross-correlation order, as torch uses).
STENCILS = {1: np.array([-1.0, 1.0]), 2: np.array([1.0, -2.0, 1.0])}


def derivative_matrix(n: int, order: int = 1, h: float = 1.0) -> scipy.sparse.csr_matrix:
    r"""Return the forward-difference matrix :math:`D_m` as a sparse matrix.

    .. math::
        (D_1 u)_i = \frac{u_{i+1} - u_i}{h}, \qquad
        (D_2 u)_i = \frac{u_{i+2} - 2u_{i+1} + u_i}{h^2}, \qquad i = 0, \dots, N-m-1.

    Parameters
    ----------
    n : int
        Number of grid points :math:`N > m`.
    order : {1, 2}
        Derivative order :math:`m`.
    h : float
        Grid size :math:`h > 0`.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(n - order, n)``.

    Raises
    ------
    ValueError
        ``n <= order``, ``order`` not in {1, 2}, ``h <= 0``.
    TypeError
        Non-integer ``n`` or ``order``, non-numeric ``h``.

    See Also
    --------
    apply_derivative : the matrix-free product.
    stability_limit : :math:`2/(g_{\max}\|D_m\|_2^2)`.

    Notes
    -----
    :math:`D_1^\top D_1` is the Neumann Laplacian with eigenvalues
    :math:`\frac{4}{h^2}\sin^2\frac{k\pi}{2N}`, :math:`k = 0, \dots, N-1`.
    Used in chapter 1 (:ref:`ch-diffusion`).

    Examples
    --------
    >>> import pdecore
    >>> print(pdecore.derivative_matrix(4).toarray())
    [[-1.  1.  0.  0.]
     [ 0. -1.  1.  0.]
     [ 0.  0. -1.  1.]]
    """
    order = as_order(order)
    n = as_int(n, "n", minimum=order + 1)
    h = as_scale(h, "h")
    stencil = STENCILS[order] / h**order
    diagonals = [np.full(n - order, c) for c in stencil]
    return scipy.sparse.diags(
        diagonals, offsets=list(range(order + 1)), shape=(n - order, n), format="csr"
    )


def _difference(u: np.ndarray, order: int, out: np.ndarray) -> np.ndarray:
    """Write the unscaled m-th forward difference of ``u`` (last axis) into ``out``."""
    if order == 1:
        return np.subtract(u[..., 1:], u[..., :-1], out=out)
    np.subtract(u[..., 2:], u[..., 1:-1], out=out)
    out -= u[..., 1:-1]
    out += u[..., :-2]
    return out


def _add_adjoint(
    target: np.ndarray, v: np.ndarray, order: int, source: np.ndarray | None = None
) -> np.ndarray:
    r"""``target = source + D_m^T v`` (unscaled stencil, last axis, h = 1).

    Without ``source`` (or with ``source is target``) this is the in-place
    ``target += D_m^T v``. Otherwise the first add reads ``source`` instead of a copy of
    it in ``target``: the same operations in the same order, one pass over memory fewer.
    ``source`` must be ``target`` or not overlap it.
    """
    if source is None:
        source = target
    elif source is not target:  # the first m points, which the first add does not write
        if target.ndim == 1:  # scalar copies: cheaper than slicing for short signals
            target[0] = source[0]
            if order == 2:
                target[1] = source[1]
        else:
            target[..., :order] = source[..., :order]
    if order == 1:  # (D^T v)_i = v_{i-1} - v_i with v_{-1} = v_{N-1} = 0
        np.add(source[..., 1:], v, out=target[..., 1:])
        target[..., :-1] -= v
    else:  # (D^T w)_j = w_{j-2} - 2 w_{j-1} + w_j
        np.add(source[..., 2:], v, out=target[..., 2:])
        target[..., 1:-1] -= v
        target[..., 1:-1] -= v
        target[..., :-2] += v
    return target


def apply_derivative(u: object, order: int = 1, h: float = 1.0) -> np.ndarray:
    r"""Return :math:`D_m u` along the last axis without forming the matrix.

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        Signal(s).
    order : {1, 2}
        Derivative order :math:`m`.
    h : float
        Grid size.

    Returns
    -------
    ndarray, shape (N - m,) or (B, N - m)

    See Also
    --------
    derivative_matrix, apply_adjoint
    """
    order = as_order(order)
    h = as_scale(h, "h")
    u = as_signal(u, min_length=order + 1)
    out = np.empty(u.shape[:-1] + (u.shape[-1] - order,))
    _difference(u, order, out)
    if h != 1.0:
        out *= h**-order
    return out


def apply_adjoint(v: object, order: int = 1, h: float = 1.0) -> np.ndarray:
    r"""Return :math:`D_m^\top v` along the last axis without forming the matrix.

    Parameters
    ----------
    v : (N - m,) or (B, N - m) array_like
        Values on the :math:`N - m` difference positions.
    order : {1, 2}
        Derivative order :math:`m`.
    h : float
        Grid size.

    Returns
    -------
    ndarray, shape (N,) or (B, N)

    See Also
    --------
    derivative_matrix, apply_derivative
    """
    order = as_order(order)
    h = as_scale(h, "h")
    v = as_signal(v, "v", min_length=1)
    out = np.zeros(v.shape[:-1] + (v.shape[-1] + order,))
    _add_adjoint(out, v * h**-order, order)
    return out


@functools.lru_cache(maxsize=64)
def _norm_squared_unit(n: int, order: int) -> float:
    if order == 1:
        return 4.0 * np.sin((n - 1) * np.pi / (2 * n)) ** 2
    # ||D_2||^2 is the top eigenvalue of the (n-2) x (n-2) Toeplitz matrix D_2 D_2^T with
    # stencil [1, -4, 6, -4, 1], which lies just below 16. LAPACK's banded eigensolver is
    # O(n^2) here, so use inverse iteration with the shift 16 (16 I - D_2 D_2^T is SPD and
    # pentadiagonal: one banded Cholesky, O(n) per iteration), started from the top
    # eigenvector of the tridiagonal [-1, 2, -1], whose square is close to D_2 D_2^T.
    m = n - 2
    if m <= 4:
        a = np.zeros((m, m))
        for k, c in zip(range(-2, 3), [1.0, -4.0, 6.0, -4.0, 1.0], strict=False):
            a += c * np.eye(m, k=k)
        return float(np.linalg.eigvalsh(a)[-1])
    band = np.zeros((3, m))
    band[0, 2:], band[1, 1:], band[2, :] = -1.0, 4.0, 10.0
    chol = scipy.linalg.cholesky_banded(band)
    i = np.arange(m)
    v = np.where(i % 2, -1.0, 1.0) * np.sin(np.pi * (i + 1) / (m + 1))
    rayleigh = 0.0
    for _ in range(200):
        v /= np.linalg.norm(v)
        w = _add_adjoint(np.zeros(n), v, 2)  # D_2^T v, so v^T A v = ||D_2^T v||^2
        new = float(w @ w)
        if abs(new - rayleigh) <= 1e-15 * new:
            break
        rayleigh = new
        v = scipy.linalg.cho_solve_banded((chol, False), v)
    return new


def operator_norm_squared(n: int, order: int = 1, h: float = 1.0) -> float:
    r"""Return :math:`\|D_m\|_2^2`, the largest eigenvalue of :math:`D_m^\top D_m`.

    For :math:`m = 1` the closed form :math:`\frac{4}{h^2}\sin^2\frac{(N-1)\pi}{2N} < 4/h^2`;
    for :math:`m = 2` the largest eigenvalue of the pentadiagonal Toeplitz matrix
    :math:`D_2 D_2^\top` (inverse iteration, O(N)), which is below :math:`16/h^4`.

    Parameters
    ----------
    n : int
        Number of grid points.
    order : {1, 2}
        Derivative order.
    h : float
        Grid size.

    Returns
    -------
    float

    Examples
    --------
    >>> import pdecore
    >>> print(f"{pdecore.operator_norm_squared(1000):.6f}")
    3.999990
    """
    order = as_order(order)
    n = as_int(n, "n", minimum=order + 1)
    h = as_scale(h, "h")
    return _norm_squared_unit(n, order) / h ** (2 * order)


def stability_limit(n: int, order: int = 1, h: float = 1.0, g_max: float = 1.0) -> float:
    r"""Largest step size for which the explicit scheme is Euclidean-stable.

    .. math:: \tau_{\max} = \frac{2}{g_{\max}\,\|D_m\|_2^2}

    For :math:`0 < \tau \le \tau_{\max}` every step
    :math:`u \mapsto u - \tau D_m^\top \Phi(D_m u)` with :math:`0 \le \Phi(s)/s \le g_{\max}`
    satisfies :math:`\|u^{k+1}\|_2 \le \|u^k\|_2` (chapter 2).

    Parameters
    ----------
    n : int
        Number of grid points.
    order : {1, 2}
        Derivative order.
    h : float
        Grid size.
    g_max : float
        Upper bound :math:`L` of the diffusivity (1 for all registered ones).

    Returns
    -------
    float
        Slightly above :math:`h^2/2` for :math:`m = 1` and :math:`h^4/8` for :math:`m = 2`.

    Notes
    -----
    The step matrix :math:`I - \tau D^\top G D` with :math:`G = \mathrm{diag}(\Phi(s_i)/s_i)`
    is symmetric with eigenvalues in :math:`[1 - \tau g_{\max}\|D\|^2, 1] \subset [-1, 1]`.
    Used in chapters 1 and 2.

    Examples
    --------
    >>> import pdecore
    >>> print(f"{pdecore.stability_limit(1000):.6f}")
    0.500001
    """
    g_max = as_positive(g_max, "g_max")
    return 2.0 / (g_max * operator_norm_squared(n, order, h))


def energy(
    u: object,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
) -> np.ndarray | float:
    r"""Return the discrete energy :math:`E(u) = \sum_i \Psi((D_m u)_i)`.

    Its Euclidean gradient is :math:`\nabla E(u) = D_m^\top \Phi(D_m u)`, so the
    semi-discrete model :math:`\dot u = -D_m^\top\Phi(D_m u)` is the gradient flow of
    :math:`E` and :math:`E` decreases along it (a Lyapunov function).

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        Signal(s).
    diffusivity : str or callable
        Diffusivity name or callable ``g(s2, lam)``.
    lam, h : float
        Contrast parameter and grid size, both positive.
    order : {1, 2}
        Derivative order :math:`m`.

    Returns
    -------
    float or ndarray, shape (B,)

    See Also
    --------
    pdecore.potential : :math:`\Psi`.

    Examples
    --------
    >>> import pdecore
    >>> print(f"{pdecore.energy([0.0, 1.0, 3.0], 'linear'):.2f}")
    2.50
    """
    psi = potential(diffusivity, apply_derivative(u, order, h), lam)
    total = psi.sum(axis=-1)
    return float(total) if total.ndim == 0 else total
