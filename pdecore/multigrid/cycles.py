r"""Multigrid cycles: the recursion over the levels, the U of a U-net.

.. math::

    x \leftarrow S^{\nu_1} x, \quad
    e_H \leftarrow \mathrm{MG}_H^{\gamma}(0, R(b - A x)), \quad
    x \leftarrow S^{\nu_2}(x + P e_H)

Pre-smooth, restrict the residual (a strided convolution), solve the coarse problem by
:math:`\gamma` cycles on the next level (:math:`\gamma = 1`: V, :math:`\gamma = 2`: W;
the coarsest level directly), prolong and add the correction (a transposed convolution
and the U-net's additive long skip connection), post-smooth. Chapter 5 (multigrid
solvers are U-nets).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from .._validation import as_choice, as_damping, as_int, as_vector
from .hierarchy import Level, _as_hierarchy, _prolong_into, _restrict
from .relaxation import SMOOTHERS, _smooth
from .tridiagonal import _residual

__all__ = ["CYCLES", "cycle", "v_cycle", "w_cycle"]

#: Cycle names and their number :math:`\gamma` of coarse-grid visits per level.
CYCLES = {"V": 1, "W": 2}


def _cycle(
    levels: list[Level],
    k: int,
    x: np.ndarray,
    b: np.ndarray,
    gamma: int,
    pre: int,
    post: int,
    smoother: str,
    omega: float,
) -> None:
    level = levels[k]
    if level.is_coarsest:
        dd, ee = level._factor()
        x[:] = lapack.dpttrs(dd, ee, b)[0]
        return
    _smooth(level, x, b, pre, smoother, omega, reverse=False)
    r = _residual(level.A.diag, level.A.off, x, b)
    rc = _restrict(level.left, level.right, r)
    ec = np.zeros(level.n_coarse)
    visits = 1 if levels[k + 1].is_coarsest else gamma
    for _ in range(visits):
        _cycle(levels, k + 1, ec, rc, gamma, pre, post, smoother, omega)
    _prolong_into(level.left, level.right, ec, r)  # r is free now: reuse it for P e
    x += r
    _smooth(level, x, b, post, smoother, omega, reverse=True)


def _cycle_options(gamma, pre, post, smoother, omega):
    return (
        as_int(gamma, "gamma", minimum=1),
        as_int(pre, "pre", minimum=0),
        as_int(post, "post", minimum=0),
        as_choice(smoother, "smoother", SMOOTHERS),
        as_damping(omega),
    )


def cycle(
    hierarchy: list[Level],
    x: object,
    b: object,
    gamma: int = 1,
    pre: int = 2,
    post: int = 2,
    smoother: str = "rbgs",
    omega: float = 2.0 / 3.0,
) -> np.ndarray:
    r"""Apply one multigrid cycle to :math:`A x = b` (V for ``gamma=1``, W for 2).

    .. math::

        x \leftarrow S^{\nu_1} x, \quad
        e_H \leftarrow \mathrm{MG}_H^{\gamma}(0, R(b - A x)), \quad
        x \leftarrow S^{\nu_2}(x + P e_H)

    with the coarsest level solved directly (LAPACK ``dpttrf``/``dpttrs``).

    Parameters
    ----------
    hierarchy : list of Level
        From :func:`~pdecore.multigrid.multigrid_hierarchy`.
    x : (N,) array_like
        Current iterate; not modified.
    b : (N,) array_like
        Right-hand side.
    gamma : int
        Coarse-grid visits per level: 1 (V-cycle) or 2 (W-cycle), ``>= 1``.
    pre, post : int
        Numbers :math:`\nu_1, \nu_2` of pre- and post-smoothing sweeps, ``>= 0``.
    smoother : {"rbgs", "jacobi"}
        See :func:`~pdecore.multigrid.smooth`; post-smoothing runs red-black in reverse order.
    omega : float
        Jacobi weight, :math:`0 < \omega \le 1`.

    Returns
    -------
    ndarray, shape (N,)
        The new iterate.

    Raises
    ------
    ValueError
        Wrong shapes, NaN/inf, unknown ``smoother``, bad counts.
    TypeError
        Wrong types.

    See Also
    --------
    v_cycle, w_cycle, pdecore.multigrid.multigrid_solve

    Notes
    -----
    The recursion over levels is the U of a U-net: smoothing blocks on the way down,
    the strided convolution :math:`R`, the coarse solve at the bottom, the transposed
    convolution :math:`P` and the additive long skip connection :math:`x + P e_H` on
    the way up. A V-cycle costs :math:`O(N)`, a W-cycle :math:`O(N \log N)` in 1D
    (halving the size while doubling the visits). Used in chapter 5.

    References
    ----------
    .. [1] T. Alt, K. Schrader, M. Augustin, P. Peter, J. Weickert, "Connections
       between numerical algorithms for PDEs and neural networks", J. Math. Imaging
       Vis., 2022, section on multigrid and U-nets. arXiv:2107.14742

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, cycle, multigrid_hierarchy
    >>> A = Tridiagonal(np.full(100, 3.0), np.full(99, -1.0))
    >>> levels = multigrid_hierarchy(A, interpolation="linear", min_size=4)
    >>> b = np.ones(100)
    >>> x = cycle(levels, np.zeros(100), b, smoother="jacobi")
    >>> print(f"{np.linalg.norm(A.residual(x, b)) / np.linalg.norm(b):.1e}")
    5.7e-03
    """
    levels = _as_hierarchy(hierarchy)
    n = levels[0].n
    x = as_vector(x, "x", n).copy()
    b = as_vector(b, "b", n)
    options = _cycle_options(gamma, pre, post, smoother, omega)
    _cycle(levels, 0, x, b, *options)
    return x


def v_cycle(hierarchy: list[Level], x: object, b: object, **options) -> np.ndarray:
    r"""Apply one V-cycle: :func:`cycle` with ``gamma=1``.

    Parameters
    ----------
    hierarchy, x, b
        As in :func:`cycle`.
    **options
        ``pre``, ``post``, ``smoother``, ``omega`` as in :func:`cycle`.

    Returns
    -------
    ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, multigrid_hierarchy, v_cycle
    >>> A = Tridiagonal(np.full(37, 4.0), np.full(36, -2.0))
    >>> b = np.linspace(0.0, 1.0, 37)
    >>> x = v_cycle(multigrid_hierarchy(A, min_size=2), np.zeros(37), b)
    >>> print(np.linalg.norm(A.residual(x, b)) < 1e-12 * np.linalg.norm(b))  # exact in 1D
    True
    """
    return cycle(hierarchy, x, b, gamma=1, **options)


def w_cycle(hierarchy: list[Level], x: object, b: object, **options) -> np.ndarray:
    r"""Apply one W-cycle: :func:`cycle` with ``gamma=2``.

    Parameters
    ----------
    hierarchy, x, b
        As in :func:`cycle`.
    **options
        ``pre``, ``post``, ``smoother``, ``omega`` as in :func:`cycle`.

    Returns
    -------
    ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, multigrid_hierarchy, w_cycle
    >>> A = Tridiagonal(np.full(100, 3.0), np.full(99, -1.0))
    >>> levels = multigrid_hierarchy(A, interpolation="linear", min_size=4)
    >>> b = np.ones(100)
    >>> x = w_cycle(levels, np.zeros(100), b, smoother="jacobi")
    >>> print(f"{np.linalg.norm(A.residual(x, b)) / np.linalg.norm(b):.1e}")
    5.6e-03
    """
    return cycle(hierarchy, x, b, gamma=2, **options)
