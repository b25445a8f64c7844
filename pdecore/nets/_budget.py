r"""Private: the one budget sizer of :mod:`pdecore.nets`.

:func:`~pdecore.nets.diffusion_net_with_budget`, :func:`~pdecore.nets.classifier_with_budget`
and :func:`~pdecore.nets.unet_with_budget` each give a parameter-count function of the
width (``hidden`` or ``channels``) to :func:`width_for_budget`, which picks the width
whose count is nearest the budget by an exact integer search.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["built_parameters", "width_for_budget"]


def width_for_budget(count: Callable[[int], int], budget: int, max_width: int) -> int:
    r"""Return the width :math:`w \in [1, w_{\max}]` whose count is nearest ``budget``.

    .. math:: w = \operatorname*{arg\,min}_{1 \le w \le w_{\max}}
              |\,\mathrm{count}(w) - \mathrm{budget}\,|,

    the larger width on a tie (the budget is a target, not a cap; the three sizers this
    one replaced agree with it on every budget of the experiments). ``count`` must be
    strictly increasing (every weight tensor grows with the width), so a bisection finds
    the smallest width whose count reaches the budget, and the answer is it or the width
    below: about :math:`\log_2 w_{\max}` calls of ``count``, each exact.
    """
    lo, hi = 1, max_width
    if count(hi) < budget:
        return hi
    while lo < hi:  # smallest w with count(w) >= budget
        mid = (lo + hi) // 2
        if count(mid) >= budget:
            hi = mid
        else:
            lo = mid + 1
    if lo > 1 and budget - count(lo - 1) < count(lo) - budget:
        return lo - 1
    return lo


def built_parameters(build: Callable[[], nn.Module]) -> int:
    """Trainable parameters of the module ``build()`` returns, built on the meta device.

    Shapes only: no memory, no initialisation, and the global RNG is left alone (trial
    builds must not shift the seeded draws of the network that is kept).
    """
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        net = build()
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
