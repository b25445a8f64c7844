"""Experiments of the book, one module per experiment (E1 ... E6).

Chapters call these functions in short cells; all loops live here, seeded.

==========================================  ===========================================  =======
experiment                                  module                                       chapter
==========================================  ===========================================  =======
E1 stability of deep residual networks      :mod:`pdecore.experiments.stability`         2
==========================================  ===========================================  =======
"""

from . import stability

__all__ = ["stability"]
