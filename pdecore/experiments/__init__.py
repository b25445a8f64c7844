"""Experiments of the book, one module per experiment.

Chapters call these functions in short cells; all loops live here, seeded.

- E1, stability of deep residual networks: :mod:`pdecore.experiments.stability` (ch. 2)
- E2, explicit vs FED vs FSI: :mod:`pdecore.experiments.acceleration` (ch. 3)
- E3, explicit vs semi-implicit vs implicit: :mod:`pdecore.experiments.implicit` (ch. 4)
- E7, the schemes' skip connections in trained networks:
  :mod:`pdecore.experiments.skip_connections` (ch. 4)
- multigrid factors against N: :mod:`pdecore.experiments.multigrid_convergence` (ch. 5)
- E4, learned multigrid U-net vs standard U-net: :mod:`pdecore.experiments.multigrid_learning`
  (ch. 5)
- E6, trainable nonmonotone activations (denoising): :mod:`pdecore.experiments.denoising`
  (ch. 6)
- E5, symmetric vs standard image classifiers: :mod:`pdecore.experiments.classification`
  (ch. 7)
"""

from .._optional import require_torch

require_torch("pdecore.experiments")  # most experiments train networks

from . import (
    acceleration,
    classification,
    denoising,
    implicit,
    multigrid_convergence,
    multigrid_learning,
    skip_connections,
    stability,
)

__all__ = [
    "acceleration",
    "classification",
    "denoising",
    "implicit",
    "multigrid_convergence",
    "multigrid_learning",
    "skip_connections",
    "stability",
]
