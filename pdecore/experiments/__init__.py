"""Experiments of the book, one module per experiment (E1 ... E6).

Chapters call these functions in short cells; all loops live here, seeded.

==========================================  ===========================================  =======
experiment                                  module                                       chapter
==========================================  ===========================================  =======
E1 stability of deep residual networks      :mod:`pdecore.experiments.stability`         2
E2 explicit vs FED vs FSI                   :mod:`pdecore.experiments.acceleration`      3
E3 explicit vs semi-implicit vs implicit    :mod:`pdecore.experiments.implicit`          4
==========================================  ===========================================  =======
"""

from . import acceleration, implicit, stability

__all__ = ["acceleration", "implicit", "stability"]
