"""Experiments of the book, one module per experiment.

Chapters call these functions in short cells; all loops live here, seeded.

- E1, stability of deep residual networks: :mod:`pdecore.experiments.stability` (ch. 2)
- E2, explicit vs FED vs FSI: :mod:`pdecore.experiments.acceleration` (ch. 3)
- E3, explicit vs semi-implicit vs implicit: :mod:`pdecore.experiments.implicit` (ch. 4)
- multigrid factors against N: :mod:`pdecore.experiments.multigrid_convergence` (ch. 5)
"""

from . import acceleration, implicit, multigrid_convergence, stability

__all__ = ["acceleration", "implicit", "multigrid_convergence", "stability"]
