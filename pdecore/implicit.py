r"""Semi-implicit (linear-implicit) scheme: one banded linear solve per time step.

.. math:: \bigl(I + \tau D_m^\top G(u^k) D_m\bigr)\, u^{k+1} = u^k, \qquad
          G(u^k) = \operatorname{diag}\bigl(g((D_m u^k)^2)\bigr)

The matrix is symmetric positive definite for every :math:`\tau > 0`, so the scheme is
unconditionally stable: :math:`\|u^{k+1}\|_2 \le \|u^k\|_2`, average preserved, and for
:math:`m = 1` a max-min principle (it is an M-matrix). For :math:`m = 1` it is
tridiagonal and solved by LAPACK ``dptsv`` in :math:`O(N)`; for :math:`m = 2`
pentadiagonal, solved by a banded Cholesky factorisation. Chapter 4 (implicit schemes
are recurrent networks).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from ._validation import as_order, as_positive, as_signal
from .diffusivities import DiffusivityLike, get_diffusivity
from .explicit import _diffusivity_values

__all__ = ["semi_implicit_matrix_bands", "semi_implicit_step"]


def semi_implicit_matrix_bands(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
) -> np.ndarray:
    r"""Return the upper bands of :math:`A = I + \tau D_m^\top G(u) D_m` for one signal.

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        The signal(s) that fix the diffusivity.
    tau, diffusivity, lam, h, order
        As in :func:`semi_implicit_step`.

    Returns
    -------
    ndarray, shape (order + 1, N) or (B, order + 1, N)
        Row ``order`` is the diagonal, row ``order - j`` the ``j``-th superdiagonal
        (LAPACK upper band storage, as :func:`scipy.linalg.solveh_banded` expects; the
        first ``j`` entries of row ``order - j`` are unused zeros).

    Examples
    --------
    >>> import pdecore
    >>> print(pdecore.semi_implicit_matrix_bands([0.0, 0.0, 0.0], 1.0, "linear"))
    [[ 0. -1. -1.]
     [ 2.  3.  2.]]
    """
    d = get_diffusivity(diffusivity)
    order = as_order(order)
    tau, lam, h = as_positive(tau, "tau"), as_positive(lam, "lam"), as_positive(h, "h")
    u = as_signal(u, min_length=order + 1)
    n = u.shape[-1]
    w = _diffusivity_values(u, d, lam, h, order, np.empty(u.shape[:-1] + (n - order,)))
    w *= tau * h ** (-2 * order)
    bands = np.zeros(u.shape[:-1] + (order + 1, n))
    stencil = (-1.0, 1.0) if order == 1 else (1.0, -2.0, 1.0)
    # A = I + sum_i w_i c_i c_i^T with c_i the stencil placed at rows i .. i + m.
    bands[..., order, :] = 1.0
    for a, ca in enumerate(stencil):
        for b in range(a, order + 1):
            bands[..., order - (b - a), b : n - order + b] += w * ca * stencil[b]
    return bands


def semi_implicit_step(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
) -> np.ndarray:
    r"""Take one semi-implicit step of nonlinear diffusion.

    .. math:: \bigl(I + \tau D_m^\top G(u^k) D_m\bigr)\, u^{k+1} = u^k

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        Current signal(s) :math:`u^k`; not modified.
    tau : float
        Step size :math:`\tau > 0`; any size is stable.
    diffusivity : str or callable
        Name from :data:`pdecore.DIFFUSIVITIES` or a callable ``g(s2, lam)``.
    lam : float
        Contrast parameter :math:`\lambda > 0`.
    h : float
        Grid size :math:`h > 0`.
    order : {1, 2}
        Derivative order :math:`m`.

    Returns
    -------
    ndarray
        :math:`u^{k+1}`, float64, same shape as ``u``.

    Raises
    ------
    ValueError
        Bad shape, NaN/inf, non-positive ``tau``, ``lam`` or ``h``, unknown diffusivity,
        ``order`` not in {1, 2}.
    TypeError
        Non-numeric input.

    See Also
    --------
    pdecore.explicit_step : the conditionally stable explicit step.

    Notes
    -----
    For :math:`m = 1` the tridiagonal system is solved by LAPACK ``dptsv``
    (:math:`LDL^\top` for symmetric positive definite tridiagonal matrices), which is
    cheaper than the general banded solver. Used in chapter 4.

    References
    ----------
    .. [1] J. Weickert, *Anisotropic Diffusion in Image Processing*, Teubner, 1998,
       section 4.2 (semi-implicit schemes).

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> u = np.array([0.0, 0.0, 1.0, 1.0])
    >>> v = pdecore.semi_implicit_step(u, 100.0, "linear")
    >>> print(f"{v.mean():.3f} {v.max() - v.min():.3f}")
    0.500 0.020
    """
    d = get_diffusivity(diffusivity)
    order = as_order(order)
    tau, lam, h = as_positive(tau, "tau"), as_positive(lam, "lam"), as_positive(h, "h")
    u = as_signal(u, min_length=order + 1)
    rows = u.reshape(-1, u.shape[-1])
    out = np.empty_like(rows)
    n = rows.shape[-1]
    w = np.empty(n - order)
    for r, row in enumerate(rows):
        if order == 1:
            _diffusivity_values(row, d, lam, h, 1, w)
            w *= -tau / h**2  # off-diagonal e_i = -tau g_{i+1/2} / h^2
            diag = np.ones(n)
            diag[:-1] -= w
            diag[1:] -= w
            _, _, x, info = lapack.dptsv(diag, w, row, overwrite_d=1, overwrite_e=1)
            if info != 0:  # pragma: no cover - A is SPD by construction
                raise np.linalg.LinAlgError(f"dptsv failed with info={info}")
            out[r] = x
        else:
            bands = semi_implicit_matrix_bands(row, tau, d, lam, h, 2)
            out[r] = scipy.linalg.solveh_banded(bands, row, check_finite=False)
    return out.reshape(u.shape)
