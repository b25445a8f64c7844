r"""pdecore.nets: the numerical schemes as torch modules (float64 or float32, any device).

============================================  =================================  =======
network                                       module                             chapter
============================================  =================================  =======
flux as activation (:class:`FluxActivation`)  :mod:`pdecore.nets.activations`    2
symmetric / standard residual block           :mod:`pdecore.nets.resnet`         2
FED ResNet, FSI ResNet (momentum skip)        :mod:`pdecore.nets.accelerated`    3
fixed-point / Jacobi RNN, implicit layer      :mod:`pdecore.nets.recurrent`      4
multigrid U-net (V-cycle), standard U-net     :mod:`pdecore.nets.unet`           5
diffusion network, stable by construction     :mod:`pdecore.nets.diffusion_net`  6
2D symmetric / standard image classifiers     :mod:`pdecore.nets.classifier`     7
============================================  =================================  =======
"""

from .._optional import require_torch

require_torch("pdecore.nets")  # before any submodule imports torch: one clear message

from . import (
    accelerated,
    activations,
    classifier,
    diffusion_net,
    norms,
    recurrent,
    resnet,
    unet,
)
from .accelerated import FEDNet, FSINet
from .activations import (
    TORCH_DIFFUSIVITIES,
    FluxActivation,
    SectorReLU,
    TrainableFlux,
    as_activation,
)
from .classifier import (
    ResNetClassifier,
    StandardBlock2d,
    SymmetricBlock2d,
    classifier_macs,
    classifier_parameters,
    classifier_with_budget,
)
from .diffusion_net import (
    DiffusionBlock,
    DiffusionNet,
    StandardNet,
    diffusion_net_with_budget,
)
from .norms import (
    NORM_BOUNDS,
    conv2d_norm_bound,
    conv2d_operator_norm,
    norm_bound,
    operator_norm,
)
from .recurrent import FixedPointRNN, JacobiRNN, SemiImplicitLayer, semi_implicit_solve
from .resnet import StandardBlock, SymmetricBlock, check_signal_tensor
from .unet import MultigridUNet, StandardUNet, unet_with_budget

__all__ = [
    "NORM_BOUNDS",
    "DiffusionBlock",
    "DiffusionNet",
    "FEDNet",
    "FSINet",
    "FixedPointRNN",
    "FluxActivation",
    "JacobiRNN",
    "MultigridUNet",
    "ResNetClassifier",
    "SectorReLU",
    "SemiImplicitLayer",
    "StandardBlock",
    "StandardBlock2d",
    "StandardNet",
    "StandardUNet",
    "SymmetricBlock",
    "SymmetricBlock2d",
    "TORCH_DIFFUSIVITIES",
    "TrainableFlux",
    "accelerated",
    "activations",
    "as_activation",
    "check_signal_tensor",
    "classifier",
    "classifier_macs",
    "classifier_parameters",
    "classifier_with_budget",
    "conv2d_norm_bound",
    "conv2d_operator_norm",
    "diffusion_net",
    "diffusion_net_with_budget",
    "norm_bound",
    "operator_norm",
    "recurrent",
    "norms",
    "resnet",
    "semi_implicit_solve",
    "unet",
    "unet_with_budget",
]
