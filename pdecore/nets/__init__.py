r"""pdecore.nets: the numerical schemes as torch modules (float64 or float32, any device).

============================================  =================================  =======
network                                       module                             chapter
============================================  =================================  =======
flux as activation, the activation registry   :mod:`pdecore.nets.activations`    2, 6
symmetric / standard residual blocks, 1D, 2D  :mod:`pdecore.nets.resnet`         2, 6, 7
operator norms and their guaranteed bounds    :mod:`pdecore.nets.norms`          2, 6, 7
FED ResNet, FSI ResNet (momentum skip)        :mod:`pdecore.nets.accelerated`    3
fixed-point / Jacobi RNN, implicit layer      :mod:`pdecore.nets.recurrent`      4
multigrid U-net (V-cycle), standard U-net     :mod:`pdecore.nets.unet`           5
diffusion network, stable by construction     :mod:`pdecore.nets.diffusion_net`  6
image classifiers of 2D residual blocks       :mod:`pdecore.nets.classifier`     7
============================================  =================================  =======

Vocabulary: ``channels`` is the number :math:`C` of channels of the signal or feature
maps a module reads and writes, ``hidden`` the number :math:`H` of channels inside a
block (of :math:`W u`). Input checks, the oneDNN switch and the budget sizer are private
(``_checks``, ``_budget``).
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
    ACTIVATIONS,
    SECTOR_ACTIVATIONS,
    TORCH_DIFFUSIVITIES,
    FluxActivation,
    SectorReLU,
    TrainableFlux,
    as_activation,
)
from .classifier import (
    ResNetClassifier,
    classifier_macs,
    classifier_parameters,
    classifier_with_budget,
)
from .diffusion_net import DiffusionNet, StandardNet, diffusion_net_with_budget
from .norms import (
    NORM_BOUNDS,
    conv2d_norm_bound,
    conv2d_operator_norm,
    norm_bound,
    operator_norm,
)
from .recurrent import FixedPointRNN, JacobiRNN, SemiImplicitLayer, semi_implicit_solve
from .resnet import (
    DiffusionBlock,
    StandardBlock,
    StandardBlock2d,
    SymmetricBlock,
    SymmetricBlock2d,
)
from .unet import MultigridUNet, StandardUNet, unet_with_budget

__all__ = [
    "ACTIVATIONS",
    "NORM_BOUNDS",
    "SECTOR_ACTIVATIONS",
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
    "classifier",
    "classifier_macs",
    "classifier_parameters",
    "classifier_with_budget",
    "conv2d_norm_bound",
    "conv2d_operator_norm",
    "diffusion_net",
    "diffusion_net_with_budget",
    "norm_bound",
    "norms",
    "operator_norm",
    "recurrent",
    "resnet",
    "semi_implicit_solve",
    "unet",
    "unet_with_budget",
]
