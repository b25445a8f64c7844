r"""Multigrid for the semi-implicit system: the V-cycle is a U-net.

.. math:: A u = f, \qquad A = I + \tau D^\top G D, \qquad
          A_{\ell+1} = R_\ell A_\ell P_\ell, \qquad R_\ell = P_\ell^\top

One cycle on level :math:`\ell`: pre-smooth :math:`u \leftarrow S^{\nu_1}(u)` (damped
Jacobi :math:`u + \omega D_A^{-1}(f - A u)`, a residual block, or red-black Gauss-Seidel,
two masked blocks), restrict the residual :math:`r_H = R(f - A u)` (a strided
convolution), solve :math:`A_H e_H = r_H` by :math:`\gamma` cycles on the next level
(:math:`\gamma = 1`: V, :math:`\gamma = 2`: W; the coarsest level directly), correct
:math:`u \leftarrow u + P e_H` (a transposed convolution and the U-net's additive long
skip connection) and post-smooth :math:`u \leftarrow S^{\nu_2}(u)`. Coarse points are the
even fine indices, for any :math:`N`. Chapter 5 (multigrid solvers are U-nets).

One module per concept, in the manner of pyamg; every name below is re-exported here:

====================================  ==========================================
module                                contents
====================================  ==========================================
:mod:`pdecore.multigrid.tridiagonal`  the matrix type :class:`Tridiagonal`
:mod:`pdecore.multigrid.hierarchy`    :class:`Level`, interpolation, Galerkin
                                      coarse operators, :func:`multigrid_hierarchy`
:mod:`pdecore.multigrid.relaxation`   damped Jacobi, red-black Gauss-Seidel,
                                      :func:`smooth`
:mod:`pdecore.multigrid.cycles`       :func:`cycle`, :func:`v_cycle`,
                                      :func:`w_cycle`
:mod:`pdecore.multigrid.solve`        :func:`multigrid_solve`,
                                      :func:`convergence_factor`,
                                      :func:`semi_implicit_multigrid_step`
====================================  ==========================================
"""

from .cycles import CYCLES, cycle, v_cycle, w_cycle
from .hierarchy import INTERPOLATIONS, Level, multigrid_hierarchy
from .relaxation import SMOOTHERS, smooth
from .solve import convergence_factor, multigrid_solve, semi_implicit_multigrid_step
from .tridiagonal import Tridiagonal

__all__ = [
    "CYCLES",
    "INTERPOLATIONS",
    "SMOOTHERS",
    "Level",
    "Tridiagonal",
    "convergence_factor",
    "cycle",
    "multigrid_hierarchy",
    "multigrid_solve",
    "semi_implicit_multigrid_step",
    "smooth",
    "v_cycle",
    "w_cycle",
]
