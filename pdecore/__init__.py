r"""pdecore: numerical schemes for 1D nonlinear diffusion and the neural networks they are.

Companion package of the book reproducing Alt, Schrader, Augustin, Peter, Weickert,
*Connections between Numerical Algorithms for PDEs and Neural Networks*, JMIV 2022
(arXiv:2107.14742). Numerics are numpy (float64); the networks live in
:mod:`pdecore.nets` (torch).

=====================================  =================================  =======
paper concept                          module                             chapter
=====================================  =================================  =======
diffusivity g, flux Phi = activation   :mod:`pdecore.diffusivities`       1, 2
derivative D_m, adjoint, stability     :mod:`pdecore.operators`           1, 2
explicit scheme = residual block       :mod:`pdecore.explicit`            1, 2
FED: varying step sizes                :mod:`pdecore.fed`                 3
FSI: extrapolating skip connection     :mod:`pdecore.fsi`                 3
semi-implicit scheme (banded solve)    :mod:`pdecore.implicit`            4
multigrid V/W-cycles = U-net           :mod:`pdecore.multigrid`           5
test signals (real scan line, noise)   :mod:`pdecore.signals`             1, 6
results files, seeds, win rule         :mod:`pdecore.results`             2-8
network families' labels and colours   :mod:`pdecore.families`            6, 7
figure helpers                         :mod:`pdecore.plotting`            all
=====================================  =================================  =======
"""

from importlib.metadata import PackageNotFoundError, version

from . import (
    data,
    diffusivities,
    explicit,
    fed,
    fsi,
    implicit,
    multigrid,
    operators,
    report,
    results,
    signals,
)
from .diffusivities import (
    DIFFUSIVITIES,
    diffusivity,
    flux,
    flux_derivative,
    get_diffusivity,
    potential,
)
from .explicit import Evolution, evolve, explicit_evolution, explicit_step, maxmin_limit
from .fed import fed_cycle_length, fed_evolution, fed_schedule, fed_step_sizes
from .fsi import fsi_evolution, fsi_schedule, fsi_weights
from .implicit import (
    IterationResult,
    fixed_point_contraction,
    flux_lipschitz,
    implicit_fixed_point_step,
    semi_implicit_jacobi,
    semi_implicit_matrix_bands,
    semi_implicit_step,
)
from .multigrid import (
    Tridiagonal,
    convergence_factor,
    multigrid_hierarchy,
    multigrid_solve,
    semi_implicit_multigrid_step,
)
from .operators import (
    apply_adjoint,
    apply_derivative,
    derivative_matrix,
    energy,
    operator_norm_squared,
    stability_limit,
)
from .signals import add_noise, piecewise_constant, piecewise_linear, scanline

try:
    __version__ = version("pdecore")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "DIFFUSIVITIES",
    "Evolution",
    "IterationResult",
    "Tridiagonal",
    "add_noise",
    "apply_adjoint",
    "apply_derivative",
    "convergence_factor",
    "data",
    "derivative_matrix",
    "diffusivities",
    "diffusivity",
    "energy",
    "evolve",
    "explicit",
    "explicit_evolution",
    "explicit_step",
    "fed",
    "fed_cycle_length",
    "fed_evolution",
    "fed_schedule",
    "fed_step_sizes",
    "fixed_point_contraction",
    "flux",
    "flux_derivative",
    "flux_lipschitz",
    "fsi",
    "fsi_evolution",
    "fsi_schedule",
    "fsi_weights",
    "get_diffusivity",
    "implicit",
    "implicit_fixed_point_step",
    "maxmin_limit",
    "multigrid",
    "multigrid_hierarchy",
    "multigrid_solve",
    "operator_norm_squared",
    "operators",
    "piecewise_constant",
    "piecewise_linear",
    "potential",
    "report",
    "results",
    "scanline",
    "semi_implicit_jacobi",
    "semi_implicit_matrix_bands",
    "semi_implicit_multigrid_step",
    "semi_implicit_step",
    "signals",
    "stability_limit",
]
