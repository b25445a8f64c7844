r"""pdecore.nets: the numerical schemes as torch modules (float64 or float32, any device).

==========================================  ==============================  =======
network                                     module                          chapter
==========================================  ==============================  =======
flux as activation (:class:`FluxActivation`) :mod:`pdecore.nets.activations`  2
symmetric / standard residual block          :mod:`pdecore.nets.resnet`       2
FED ResNet, FSI ResNet (momentum skip)       :mod:`pdecore.nets.accelerated`  3
fixed-point / Jacobi RNN, implicit layer     :mod:`pdecore.nets.recurrent`    4
multigrid V-cycle and learned U-nets        :mod:`pdecore.nets.unet`         5
==========================================  ==============================  =======
"""

from . import accelerated, activations, recurrent, resnet, unet
from .accelerated import FEDNet, FSINet
from .activations import TORCH_DIFFUSIVITIES, FluxActivation, TrainableFlux, as_activation
from .recurrent import FixedPointRNN, JacobiRNN, SemiImplicitLayer, semi_implicit_solve
from .resnet import StandardBlock, SymmetricBlock, check_signal_tensor, operator_norm
from .unet import MultigridUNet, StandardUNet, VCycleUNet, unet_with_budget

__all__ = [
    "FEDNet",
    "FSINet",
    "FixedPointRNN",
    "FluxActivation",
    "JacobiRNN",
    "MultigridUNet",
    "SemiImplicitLayer",
    "StandardBlock",
    "StandardUNet",
    "SymmetricBlock",
    "TORCH_DIFFUSIVITIES",
    "TrainableFlux",
    "VCycleUNet",
    "accelerated",
    "activations",
    "as_activation",
    "check_signal_tensor",
    "operator_norm",
    "recurrent",
    "resnet",
    "semi_implicit_solve",
    "unet",
    "unet_with_budget",
]
