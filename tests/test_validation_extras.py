"""Bad input beyond the numerics: pdecore.nets, train, data, experiments and the extras.

``tests/test_validation.py`` sends bad input to every function of ``pdecore.__all__``.
This file does the same for every other public callable: the modules of
:mod:`pdecore.nets` (constructors and ``forward``), :mod:`pdecore.train`,
:mod:`pdecore.data`, every :mod:`pdecore.experiments` module and the public names of the
numerics modules that ``pdecore`` does not re-export (``pdecore.multigrid.cycle``, ...).

Each case must raise ``TypeError`` (wrong type or dtype) or ``ValueError`` (wrong shape,
NaN/inf, empty, zero or negative, unknown name) with the argument's name in the message;
an ``IndexError`` or a torch ``RuntimeError`` from deep inside is a failure. The guard
:func:`test_every_public_callable_is_covered` fails when a public name has no case, so a
new function cannot skip this file. Plain result records (frozen dataclasses that only
hold numbers) are listed in ``RECORDS`` instead.

Torch modules propagate NaN like torch itself (checking every forward pass would cost a
reduction per layer); NaN data is refused once, at the boundary, by ``pdecore.train``.
"""

from __future__ import annotations

import dataclasses
import gzip
import inspect
import re
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import pdecore
import pdecore.archive
import pdecore.benchmarks
import pdecore.data
import pdecore.experiments
import pdecore.multigrid
import pdecore.nets
import pdecore.train
from pdecore.experiments import (
    acceleration,
    classification,
    denoising,
    implicit,
    multigrid_convergence,
    multigrid_learning,
    skip_connections,
    stability,
)

NAN = float("nan")


# --- what is public -------------------------------------------------------------------

MODULES = {
    "nets": pdecore.nets,
    "nets.resnet": pdecore.nets.resnet,
    "nets.classifier": pdecore.nets.classifier,
    "train": pdecore.train,
    "data": pdecore.data,
    "multigrid": pdecore.multigrid,
    "diffusivities": pdecore.diffusivities,
    "archive": pdecore.archive,
    "benchmarks": pdecore.benchmarks,
    **{f"experiments.{m}": getattr(pdecore.experiments, m) for m in pdecore.experiments.__all__},
}


def _public_callables() -> dict[str, object]:
    """``"module.name" -> object`` for every public callable not in ``pdecore.__all__``."""
    found = {}
    seen = {id(getattr(pdecore, n)) for n in pdecore.__all__}
    for prefix, module in MODULES.items():
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            if prefix.startswith("nets.") and name in pdecore.nets.__all__:
                continue  # listed under "nets"
            found[f"{prefix}.{name}"] = obj
    return found


#: frozen dataclasses that only carry results: no validation by design
RECORDS = {
    "archive.Archive",  # built by read_archive, which checks its input
    "diffusivities.Diffusivity",  # registry entry; names are checked by get_diffusivity
    "multigrid.Level",  # built by multigrid_hierarchy, which checks its input
    "train.History",
    "experiments.acceleration.AccelerationResult",
    "experiments.acceleration.ReferenceCheck",
    "experiments.acceleration.Speedup",
    "experiments.acceleration.WorkPoint",
    "experiments.classification.ClassificationResult",
    "experiments.classification.ClassifierRow",
    "experiments.classification.ImageData",
    "experiments.denoising.Baseline",
    "experiments.denoising.ClassicalSummary",
    "experiments.denoising.DenoisingResult",
    "experiments.denoising.DenoisingSplits",
    "experiments.denoising.DenoisingData",
    "experiments.denoising.DenoisingRow",
    "experiments.denoising.FamilySummary",
    "experiments.denoising.Monotonicity",
    "experiments.implicit.ImplicitResult",
    "experiments.implicit.ReferenceCheck",
    "experiments.implicit.SchemeRun",
    "experiments.multigrid_convergence.ConvergenceResult",
    "experiments.multigrid_learning.LearningData",
    "experiments.multigrid_learning.LearningResult",
    "experiments.multigrid_learning.LearningRow",
    "experiments.multigrid_learning.LearningSplits",
    "experiments.skip_connections.SkipResult",
    "experiments.skip_connections.SkipRow",
    "experiments.stability.StabilityResult",
    "experiments.stability.StabilitySweep",
}


# --- small valid objects ----------------------------------------------------------------


def _hierarchy(n=64):
    A = pdecore.Tridiagonal(np.full(n, 3.0), -np.ones(n - 1))
    return pdecore.multigrid_hierarchy(A, min_size=8)


def _block():
    return pdecore.nets.SymmetricBlock.from_scheme(0.25)


def _images(n=6, size=8, classes=3):
    gen = np.random.default_rng(0)
    X = gen.random((n, 1, size, size), dtype=np.float32)
    y = np.arange(n, dtype=np.int64) % classes
    return classification.ImageData("tiny", X, y, X.copy(), y.copy())


def _classifier():
    torch.manual_seed(0)
    return pdecore.nets.ResNetClassifier(channels=2, blocks=(1,), classes=3)


def _diffusion_net():
    torch.manual_seed(0)
    return pdecore.nets.DiffusionNet(depth=1, hidden=2, dtype=torch.float64)


def _idx(path, array):
    """Write ``array`` (uint8) as a gzipped IDX file."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())
    return path


SIGNAL = pdecore.piecewise_constant(32, 3, seed=0)


def _read_labels_as_images():
    with tempfile.TemporaryDirectory() as folder:
        path = _idx(Path(folder) / "x-idx1-ubyte.gz", np.arange(5))
        return pdecore.data.read_idx(path, expected_ndim=3)
X3 = torch.zeros(2, 1, 16, dtype=torch.float64)


def _denoising_row(family="a", rmse=0.1):
    return denoising.DenoisingRow(family, 10, 2, rmse, {"constant": rmse, "linear": rmse},
                                  None, None, 1.0, ())


# --- the cases: name -> [(label, call, exception, argument named in the message)] ---------

Case = tuple[str, object, type, str]


def _cases() -> dict[str, list[Case]]:
    n = pdecore.nets
    c = {}

    # pdecore.nets: constructors and functions (forward passes are tested further down)
    c["nets.DiffusionBlock"] = [
        ("hidden=0", lambda: n.DiffusionBlock(hidden=0), ValueError, "hidden"),
        ("kernel_size=1.5", lambda: n.DiffusionBlock(kernel_size=1.5), TypeError, "kernel_size"),
        ("activation unknown", lambda: n.DiffusionBlock(activation="nope"), ValueError, "nope"),
        ("theta=nan", lambda: n.DiffusionBlock(theta=NAN), ValueError, "theta"),
        ("bound unknown", lambda: n.DiffusionBlock(bound="nope"), ValueError, "bound"),
    ]
    c["nets.DiffusionNet"] = [
        ("depth=0", lambda: n.DiffusionNet(depth=0), ValueError, "depth"),
        ("hidden=-1", lambda: n.DiffusionNet(hidden=-1), ValueError, "hidden"),
        ("lam=0", lambda: n.DiffusionNet(activation="perona_malik", lam=0.0), ValueError, "lam"),
        ("skip unknown", lambda: n.DiffusionNet(skip="momentum"), ValueError, "skip"),
    ]
    c["nets.FEDNet"] = [
        ("block wrong type", lambda: n.FEDNet(torch.nn.Identity(), [0.1]), TypeError, "block"),
        ("taus empty", lambda: n.FEDNet(_block(), []), ValueError, "taus"),
        ("taus negative", lambda: n.FEDNet(_block(), [0.1, -0.2]), ValueError, "taus"),
        ("taus nan", lambda: n.FEDNet(_block(), [NAN]), ValueError, "taus"),
        ("cycles=0", lambda: n.FEDNet(_block(), [0.1], cycles=0), ValueError, "cycles"),
        ("update unknown", lambda: n.FEDNet(_block(), [0.1], update="layer"), ValueError,
         "update"),
    ]
    c["nets.FSINet"] = [
        ("block wrong type", lambda: n.FSINet("block", [1.0]), TypeError, "block"),
        ("alphas empty", lambda: n.FSINet(_block(), []), ValueError, "alphas"),
        ("alphas inf", lambda: n.FSINet(_block(), [np.inf]), ValueError, "alphas"),
        ("cycles=1.5", lambda: n.FSINet(_block(), [1.0], cycles=1.5), TypeError, "cycles"),
        ("update unknown", lambda: n.FSINet(_block(), [1.0], update=None), ValueError,
         "update"),
    ]
    c["nets.FixedPointRNN"] = [
        ("block wrong type", lambda: n.FixedPointRNN(None), TypeError, "block"),
        ("iterations=0", lambda: n.FixedPointRNN(_block(), 0), ValueError, "iterations"),
    ]
    c["nets.JacobiRNN"] = [
        ("block wrong type", lambda: n.JacobiRNN(3), TypeError, "block"),
        ("iterations=-1", lambda: n.JacobiRNN(_block(), -1), ValueError, "iterations"),
        ("omega=0", lambda: n.JacobiRNN(_block(), omega=0.0), ValueError, "omega"),
    ]
    c["nets.FluxActivation"] = [
        ("name unknown", lambda: n.FluxActivation("perona-malik"), ValueError, "perona-malik"),
        ("name wrong type", lambda: n.FluxActivation(1), TypeError, "name"),
        ("lam=-1", lambda: n.FluxActivation(lam=-1.0), ValueError, "lam"),
    ]
    c["nets.SectorReLU"] = [
        ("forward on a list", lambda: n.SectorReLU()([1.0, -1.0]), TypeError, "s"),
        ("forward on complex", lambda: n.SectorReLU()(torch.ones(2, dtype=torch.complex64)),
         TypeError, "s"),
    ]
    c["nets.TrainableFlux"] = [
        ("sector_bound=0", lambda: n.TrainableFlux(sector_bound=0.0), ValueError,
         "sector_bound"),
        ("n_basis=1", lambda: n.TrainableFlux(n_basis=1), ValueError, "n_basis"),
        ("init >= bound", lambda: n.TrainableFlux(init=2.0), ValueError, "init"),
        ("basis unknown", lambda: n.TrainableFlux(basis="box"), ValueError, "basis"),
        ("forward on int", lambda: n.TrainableFlux()(torch.ones(3, dtype=torch.int64)),
         TypeError, "s"),
    ]
    c["nets.SemiImplicitLayer"] = [
        ("tau=0", lambda: n.SemiImplicitLayer(tau=0.0), ValueError, "tau"),
        ("h=-1", lambda: n.SemiImplicitLayer(h=-1.0), ValueError, "h"),
        ("diffusivity unknown", lambda: n.SemiImplicitLayer(diffusivity="nope"), ValueError,
         "nope"),
    ]
    for cls in ("SymmetricBlock", "StandardBlock"):
        C = getattr(n, cls)
        c[f"nets.{cls}"] = [
            ("channels=0", lambda C=C: C(channels=0), ValueError, "channels"),
            ("channels=2.0", lambda C=C: C(channels=2.0), TypeError, "channels"),
            ("kernel_size=0", lambda C=C: C(kernel_size=0), ValueError, "kernel_size"),
            ("hidden=0", lambda C=C: C(hidden=0), ValueError, "hidden"),
            ("activation unknown", lambda C=C: C(activation="nope"), ValueError, "nope"),
            ("lam=nan", lambda C=C: C(lam=NAN), ValueError, "lam"),
        ]
    c["nets.SymmetricBlock"].append(("tau=0", lambda: n.SymmetricBlock(tau=0.0), ValueError,
                                     "tau"))
    for cls in ("SymmetricBlock2d", "StandardBlock2d"):
        C = getattr(n, cls)
        c[f"nets.{cls}"] = [
            ("channels=0", lambda C=C: C(0), ValueError, "channels"),
            ("kernel_size=2", lambda C=C: C(2, kernel_size=2), ValueError, "kernel_size"),
            ("activation unknown", lambda C=C: C(2, activation="nope"), ValueError, "nope"),
        ]
    c["nets.StandardNet"] = [
        ("depth=0", lambda: n.StandardNet(depth=0), ValueError, "depth"),
        ("hidden=0", lambda: n.StandardNet(hidden=0), ValueError, "hidden"),
    ]
    for cls in ("MultigridUNet", "StandardUNet"):
        C = getattr(n, cls)
        c[f"nets.{cls}"] = [
            ("levels=0", lambda C=C: C(0, 2), ValueError, "levels"),
            ("channels=-2", lambda C=C: C(2, -2), ValueError, "channels"),
            ("kernel_size even", lambda C=C: C(2, 2, kernel_size=4), ValueError, "kernel_size"),
            ("activation unknown", lambda C=C: C(2, 2, activation="nope"), ValueError,
             "activation"),
        ]
    fs = n.MultigridUNet.from_scheme
    c["nets.MultigridUNet"] += [
        ("form unknown", lambda: n.MultigridUNet(2, 2, form="x"), ValueError, "form"),
        ("skip concat in residual form", lambda: n.MultigridUNet(2, 2, skip="concat"),
         ValueError, "skip"),
        ("share_transfer not bool", lambda: n.MultigridUNet(2, 2, share_transfer=1),
         ValueError, "share_transfer"),
        ("from_scheme hierarchy empty", lambda: fs([]), TypeError, "hierarchy"),
        ("from_scheme smoother unknown", lambda: fs(_hierarchy(), smoother="sor"),
         ValueError, "smoother"),
        ("from_scheme omega=-1", lambda: fs(_hierarchy(), smoother="jacobi", omega=-1.0),
         ValueError, "omega"),
        ("from_scheme omega=nan", lambda: fs(_hierarchy(), omega=NAN), ValueError, "omega"),
        ("from_scheme pre=-1", lambda: fs(_hierarchy(), pre=-1), ValueError, "pre"),
        ("scheme forward b numpy", lambda: fs(_hierarchy())(np.zeros(64)), TypeError, "b"),
        ("scheme forward b complex",
         lambda: fs(_hierarchy())(torch.zeros(64, dtype=torch.complex128)), TypeError, "b"),
        ("scheme forward b wrong length",
         lambda: fs(_hierarchy())(torch.zeros(63, dtype=torch.float64)), ValueError, "b"),
        ("scheme forward x0 wrong shape",
         lambda: fs(_hierarchy())(torch.zeros(64, dtype=torch.float64),
                                  torch.zeros(3, dtype=torch.float64)), ValueError, "x0"),
        ("learned forward x0 given",
         lambda: n.MultigridUNet(2, 2)(torch.zeros(1, 2, 16), torch.zeros(1, 2, 16)),
         ValueError, "x0"),
    ]
    c["nets.ResNetClassifier"] = [
        ("block unknown", lambda: n.ResNetClassifier(block="dense"), ValueError, "block"),
        ("channels=0", lambda: n.ResNetClassifier(channels=0), ValueError, "channels"),
        ("blocks empty", lambda: n.ResNetClassifier(blocks=()), ValueError, "blocks"),
        ("classes=0", lambda: n.ResNetClassifier(classes=0), ValueError, "classes"),
    ]
    c["nets.as_activation"] = [
        ("unknown", lambda: n.as_activation("nope"), ValueError, "nope"),
        ("wrong type", lambda: n.as_activation(3), TypeError, "activation"),
    ]
    c["nets.classifier_parameters"] = [
        ("block unknown", lambda: n.classifier_parameters("x", 4, (1,)), ValueError, "block"),
        ("channels=0", lambda: n.classifier_parameters("standard", 0, (1,)), ValueError,
         "channels"),
    ]
    c["nets.classifier_with_budget"] = [
        ("budget=0", lambda: n.classifier_with_budget("standard", 0), ValueError, "budget"),
        ("block unknown", lambda: n.classifier_with_budget("x", 1000), ValueError, "block"),
    ]
    c["nets.classifier_macs"] = [
        ("block unknown", lambda: n.classifier_macs("x", 4, (1,)), ValueError, "block"),
        ("image_size int", lambda: n.classifier_macs("standard", 4, (1,), 28), TypeError,
         "image_size"),
        ("kernel even", lambda: n.classifier_macs("standard", 4, (1,), kernel_size=2),
         ValueError, "kernel_size"),
    ]
    c["nets.conv2d_norm_bound"] = [
        ("weight numpy", lambda: n.conv2d_norm_bound(np.ones((1, 1, 3, 3)), (4, 4), 1),
         TypeError, "weight"),
        ("size 0", lambda: n.conv2d_norm_bound(torch.ones(1, 1, 3, 3), (0, 4), 1),
         ValueError, "size"),
        ("padding -1", lambda: n.conv2d_norm_bound(torch.ones(1, 1, 3, 3), (4, 4), -1),
         ValueError, "padding"),
    ]
    c["nets.conv2d_operator_norm"] = [
        ("weight numpy", lambda: n.conv2d_operator_norm(np.ones((1, 1, 3, 3)), (4, 4), 1),
         TypeError, "weight"),
        ("size 0", lambda: n.conv2d_operator_norm(torch.ones(1, 1, 3, 3), (0, 4), 1),
         ValueError, "size"),
    ]
    c["nets.diffusion_net_with_budget"] = [
        ("family unknown", lambda: n.diffusion_net_with_budget("x", 100), ValueError, "family"),
        ("budget=-5", lambda: n.diffusion_net_with_budget("linear", -5), ValueError, "budget"),
    ]
    c["nets.norm_bound"] = [
        ("method unknown", lambda: n.norm_bound(torch.ones(1, 1, 3), "x"), ValueError,
         "method"),
        ("weight numpy", lambda: n.norm_bound(np.ones((1, 1, 3))), TypeError, "weight"),
    ]
    c["nets.operator_norm"] = [
        ("n too small", lambda: n.operator_norm(torch.ones(1, 1, 3), 2), ValueError, "n"),
        ("weight numpy", lambda: n.operator_norm(np.ones((1, 1, 3)), 8), TypeError, "weight"),
        ("weight 2-D", lambda: n.operator_norm(torch.ones(1, 3), 8), ValueError, "weight"),
    ]
    c["nets.semi_implicit_solve"] = [
        ("u numpy", lambda: n.semi_implicit_solve(np.zeros((1, 4)), torch.ones(1, 3), 1.0),
         TypeError, "u"),
        ("g wrong shape", lambda: n.semi_implicit_solve(torch.zeros(1, 4), torch.ones(1, 4),
                                                        1.0), ValueError, "g"),
        ("tau=0", lambda: n.semi_implicit_solve(torch.zeros(1, 4), torch.ones(1, 3), 0.0),
         ValueError, "tau"),
    ]
    c["nets.unet_with_budget"] = [
        ("kind unknown", lambda: n.unet_with_budget("x", 1000, 2), ValueError, "kind"),
        ("budget=0", lambda: n.unet_with_budget("standard", 0, 2), ValueError, "budget"),
    ]

    # pdecore.train
    model = torch.nn.Linear(2, 1).double()
    X, y = torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, 1, dtype=torch.float64)
    fit = pdecore.train.fit
    kw = {"epochs": 1, "batch_size": 2, "lr": 0.1, "seed": 0}
    c["train.fit"] = [
        ("model wrong type", lambda: fit("net", X, y, **kw), TypeError, "model"),
        ("inputs nan", lambda: fit(model, X.clone().fill_(NAN), y, **kw), ValueError, "inputs"),
        ("inputs empty", lambda: fit(model, X[:0], y[:0], **kw), ValueError, "inputs"),
        ("targets list", lambda: fit(model, X, "y", **kw), TypeError, "targets"),
        ("sample counts", lambda: fit(model, X, y[:3], **kw), ValueError, "targets"),
        ("loss unknown", lambda: fit(model, X, y, loss="l1", **kw), ValueError, "loss"),
        ("epochs=0", lambda: fit(model, X, y, **{**kw, "epochs": 0}), ValueError, "epochs"),
        ("lr=-1", lambda: fit(model, X, y, **{**kw, "lr": -1.0}), ValueError, "lr"),
        ("batch_size=1.5", lambda: fit(model, X, y, **{**kw, "batch_size": 1.5}), TypeError,
         "batch_size"),
        ("val not a pair", lambda: fit(model, X, y, val=X, **kw), ValueError, "val"),
    ]
    c["train.evaluate"] = [
        ("model wrong type", lambda: pdecore.train.evaluate(None, X, y), TypeError, "model"),
        ("inputs inf", lambda: pdecore.train.evaluate(model, X.clone().fill_(np.inf), y),
         ValueError, "inputs"),
        ("batch_size=0", lambda: pdecore.train.evaluate(model, X, y, batch_size=0), ValueError,
         "batch_size"),
    ]
    c["train.accuracy"] = [
        ("labels float", lambda: pdecore.train.accuracy(model, X, y), TypeError, "labels"),
        ("inputs string", lambda: pdecore.train.accuracy(model, "X", y), TypeError, "inputs"),
    ]
    c["train.count_parameters"] = [
        ("not a module", lambda: pdecore.train.count_parameters([1, 2]), TypeError, "model"),
    ]

    # pdecore.data (broken files: tests/test_data.py)
    c["data.read_idx"] = [
        ("missing", lambda: pdecore.data.read_idx("/nonexistent/x.gz"), FileNotFoundError,
         "x.gz"),
        ("dimensions", _read_labels_as_images, ValueError, "dimensions"),
    ]
    c["data.load_fashion_mnist"] = [
        ("split unknown", lambda: pdecore.data.load_fashion_mnist("val"), ValueError, "split"),
        ("root missing", lambda: pdecore.data.load_fashion_mnist("test", "/nonexistent"),
         FileNotFoundError, "nonexistent"),
    ]
    c["data.load_cifar10"] = [
        ("split unknown", lambda: pdecore.data.load_cifar10("/tmp", "valid"), ValueError,
         "split"),
        ("root missing", lambda: pdecore.data.load_cifar10("/nonexistent"), FileNotFoundError,
         "nonexistent"),
    ]

    # numerics not re-exported by pdecore
    h, x, b = _hierarchy(), np.zeros(64), np.ones(64)
    mg = pdecore.multigrid
    for name in ("cycle", "v_cycle", "w_cycle"):
        f = getattr(mg, name)
        c[f"multigrid.{name}"] = [
            ("hierarchy wrong type", lambda f=f: f("levels", x, b), TypeError, "hierarchy"),
            ("b nan", lambda f=f: f(h, x, np.full(64, NAN)), ValueError, "b"),
            ("x wrong length", lambda f=f: f(h, np.zeros(63), b), ValueError, "x"),
            ("smoother unknown", lambda f=f: f(h, x, b, smoother="sor"), ValueError, "smoother"),
        ]
    A = h[0].A
    c["multigrid.smooth"] = [
        ("A wrong type", lambda: mg.smooth("A", x, b), TypeError, "A"),
        ("sweeps=-1", lambda: mg.smooth(A, x, b, sweeps=-1), ValueError, "sweeps"),
        ("b empty", lambda: mg.smooth(A, x, np.array([])), ValueError, "b"),
        ("x inf", lambda: mg.smooth(A, np.full(64, np.inf), b), ValueError, "x"),
        ("omega=2", lambda: mg.smooth(A, x, b, smoother="jacobi", omega=2.0), ValueError,
         "omega"),
    ]

    # pdecore.experiments
    acc = acceleration
    ref = SIGNAL.copy()
    c["experiments.acceleration.reference_solution"] = [
        ("f nan", lambda: acc.reference_solution(np.full(8, NAN), [1.0]), ValueError, "f"),
        ("times decreasing", lambda: acc.reference_solution(SIGNAL, [2.0, 1.0]), ValueError,
         "times"),
        ("T=0", lambda: acc.reference_solution(SIGNAL, [0.0]), ValueError, "times"),
        ("tau too large", lambda: acc.reference_solution(SIGNAL, [1.0], tau=1.0), ValueError,
         "tau"),
        ("diffusivity unknown", lambda: acc.reference_solution(SIGNAL, [1.0], "nope"),
         ValueError, "nope"),
    ]
    c["experiments.acceleration.linear_exact"] = [
        ("f 2D", lambda: acc.linear_exact(np.ones((2, 8)), 1.0), ValueError, "f"),
        ("T<0", lambda: acc.linear_exact(SIGNAL, -1.0), ValueError, "T"),
    ]
    c["experiments.acceleration.scheme_steps"] = [
        ("scheme unknown", lambda: acc.scheme_steps("RK4", 2, 1.0, 0.5), ValueError, "scheme"),
        ("param=0", lambda: acc.scheme_steps("FED", 0, 1.0, 0.5), ValueError, "param"),
    ]
    c["experiments.acceleration.run_scheme"] = [
        ("scheme unknown", lambda: acc.run_scheme(SIGNAL, 1.0, "RK4", 2, "linear", 1.0, 0.5),
         ValueError, "scheme"),
        ("f nan", lambda: acc.run_scheme(np.full(8, NAN), 1.0, "FED", 2, "linear", 1.0, 0.5),
         ValueError, "f"),
        ("param=1.5", lambda: acc.run_scheme(SIGNAL, 1.0, "FSI", 1.5, "linear", 1.0, 0.5),
         TypeError, "param"),
    ]
    c["experiments.acceleration.work_study"] = [
        ("f nan", lambda: acc.work_study(np.full(8, NAN), 1.0, ref), ValueError, "f"),
        ("ref wrong length", lambda: acc.work_study(SIGNAL, 1.0, ref[:-1]), ValueError, "ref"),
        ("T=0", lambda: acc.work_study(SIGNAL, 0.0, ref), ValueError, "T"),
        ("no explicit", lambda: acc.work_study(SIGNAL, 1.0, ref, schemes=("FED",)), ValueError,
         "schemes"),
        ("scheme unknown", lambda: acc.work_study(SIGNAL, 1.0, ref, schemes=("explicit", "RK4")),
         ValueError, "scheme"),
        ("levels empty", lambda: acc.work_study(SIGNAL, 1.0, ref, levels=()), ValueError,
         "levels"),
        ("grid_ratio=1", lambda: acc.work_study(SIGNAL, 1.0, ref, grid_ratio=1.0), ValueError,
         "grid_ratio"),
    ]
    c["experiments.acceleration.speedup_verdict"] = [
        ("rows wrong type", lambda: acc.speedup_verdict([1, 2]), TypeError, "speedups"),
    ]
    c["experiments.acceleration.speedup_table"] = [
        ("rows wrong type", lambda: acc.speedup_table([{"T": 1}]), TypeError, "speedups"),
    ]
    c["experiments.acceleration.level_tag"] = [
        ("level=0", lambda: acc.level_tag(0.0), ValueError, "level"),
    ]
    c["experiments.acceleration.network_deviation"] = [
        ("f nan", lambda: acc.network_deviation(np.full(8, NAN), 1.0, 0.5, 2), ValueError, "f"),
        ("T=0", lambda: acc.network_deviation(SIGNAL, 0.0, 0.5, 2), ValueError, "T"),
    ]
    c["experiments.acceleration.run"] = [
        ("config unknown", lambda: acc.run("huge"), ValueError, "config"),
        ("setting unknown", lambda: acc.run("quick", nonsense=1), ValueError, "nonsense"),
    ]
    c["experiments.acceleration.perturbation_growth"] = [
        ("n=0", lambda: acc.perturbation_growth(0), ValueError, "n"),
        ("num=1", lambda: acc.perturbation_growth(4, num=1), ValueError, "num"),
    ]
    c["experiments.acceleration.intermediate_states"] = [
        ("f empty", lambda: acc.intermediate_states([], 4), ValueError, "f"),
        ("n=2.5", lambda: acc.intermediate_states(SIGNAL, 2.5), TypeError, "n"),
    ]
    cl = classification
    bm = pdecore.benchmarks
    c["benchmarks.find_root"] = [
        ("no repository", lambda: bm.find_root("/"), FileNotFoundError, "benchmarks/"),
    ]
    c["benchmarks.load_results"] = [
        ("no repository", lambda: bm.load_results("/"), FileNotFoundError, "benchmarks/"),
    ]
    c["benchmarks.ratio_rows"] = [
        ("kernels list", lambda: bm.ratio_rows([], {"race": []}), TypeError, "kernels"),
    ]
    c["benchmarks.ratio_table"] = [
        ("rows dict", lambda: bm.ratio_table({}), TypeError, "rows"),
    ]
    c["benchmarks.acceleration_table"] = [
        ("kernels None", lambda: bm.acceleration_table(None), TypeError, "kernels"),
    ]
    c["benchmarks.training_table"] = [
        ("kernels None", lambda: bm.training_table(None), TypeError, "kernels"),
    ]
    c["benchmarks.plot_time_per_point"] = [
        ("multigrid None", lambda: bm.plot_time_per_point({"kernels": []}, None), TypeError,
         "multigrid"),
    ]
    c["archive.provenance"] = [
        ("command int", lambda: pdecore.archive.provenance(1, "cpu"), TypeError, "command"),
        ("device None", lambda: pdecore.archive.provenance("x", None), TypeError, "device"),
    ]
    c["archive.read_archive"] = [
        ("config list", lambda: pdecore.archive.read_archive(".", [1]), TypeError, "config"),
    ]
    c["archive.run_jobs"] = [
        ("jobs list", lambda: pdecore.archive.run_jobs(["a"], str, ".", {}, command="c",
                                                       device="cpu"), TypeError, "jobs"),
        ("cost 0", lambda: pdecore.archive.run_jobs({"a": 0}, str, ".", {}, command="c",
                                                    device="cpu"), TypeError, "jobs"),
        ("work None", lambda: pdecore.archive.run_jobs({"a": 1}, None, ".", {}, command="c",
                                                       device="cpu"), TypeError, "work"),
    ]
    cls = pdecore.experiments.classification
    c["experiments.classification.paper_jobs"] = [
        ("config unknown", lambda: cls.paper_jobs("huge"), ValueError, "config"),
    ]
    c["experiments.classification.run_job"] = [
        ("family unknown", lambda: cls.run_job("x", 8, 0), ValueError, "family"),
        ("seed -1", lambda: cls.run_job("standard", 8, -1), ValueError, "seed"),
    ]
    c["experiments.classification.run_paper"] = [
        ("config unknown", lambda: cls.run_paper(".", "huge"), ValueError, "config"),
    ]
    c["experiments.classification.archive_rows"] = [
        ("archive list", lambda: cls.archive_rows([]), TypeError, "archive"),
    ]
    c["experiments.classification.paper_numbers"] = [
        ("archive dict", lambda: cls.paper_numbers({}), TypeError, "archive"),
    ]
    c["experiments.classification.plateau"] = [
        ("rows ints", lambda: cls.plateau([1]), TypeError, "rows"),
        ("window 0", lambda: cls.plateau([], window=0), ValueError, "window"),
    ]
    c["experiments.classification.load_images"] = [
        ("dataset unknown", lambda: cl.load_images("mnist"), ValueError, "dataset"),
        ("n_train=0", lambda: cl.load_images(n_train=0), ValueError, "n_train"),
        ("cifar10 without root", lambda: cl.load_images("cifar10"), ValueError, "root"),
    ]
    c["experiments.classification.build_family"] = [
        ("family unknown", lambda: cl.build_family("dense", 4), ValueError, "family"),
        ("width=0", lambda: cl.build_family("standard", 0), ValueError, "width"),
    ]
    c["experiments.classification.noisy_accuracy"] = [
        ("sigma=-1", lambda: cl.noisy_accuracy(_classifier(), _images().X_test,
                                               _images().y_test, -1.0), ValueError, "sigma"),
        ("model wrong type", lambda: cl.noisy_accuracy("m", _images().X_test, _images().y_test,
                                                       0.1), TypeError, "model"),
    ]
    c["experiments.classification.classification_experiment"] = [
        ("data wrong type", lambda: cl.classification_experiment("fmnist"), TypeError, "data"),
        ("widths=0", lambda: cl.classification_experiment(_images(), widths=[0]), ValueError,
         "widths"),
        ("family unknown", lambda: cl.classification_experiment(_images(), families=["x"]),
         ValueError, "families"),
    ]
    c["experiments.classification.run"] = [
        ("config unknown", lambda: cl.run("fast", data=_images()), ValueError, "config"),
        ("seed=-1", lambda: cl.run("quick", data=_images(), seed=-1), ValueError, "seed"),
    ]
    c["experiments.classification.block_gains"] = [
        ("model wrong type", lambda: cl.block_gains("m", _images().X_test), TypeError, "model"),
        ("eps=0", lambda: cl.block_gains(_classifier(), _images().X_test, eps=0.0), ValueError,
         "eps"),
    ]
    c["experiments.classification.stability_ratios"] = [
        ("model wrong type", lambda: cl.stability_ratios(None, (8, 8)), TypeError, "model"),
        ("image_size 0", lambda: cl.stability_ratios(_classifier(), (0, 8)), ValueError,
         "image_size"),
    ]
    c["experiments.classification.results_table"] = [
        ("rows wrong type", lambda: cl.results_table([1]), TypeError, "rows"),
    ]
    c["experiments.classification.compare_at_budgets"] = [
        ("rows wrong type", lambda: cl.compare_at_budgets(["row"]), TypeError, "rows"),
    ]
    c["experiments.classification.most_robust"] = [
        ("rows wrong type", lambda: cl.most_robust(["row"], 0.1), TypeError, "rows"),
        ("sigma negative", lambda: cl.most_robust([], -0.1), ValueError, "sigma"),
    ]
    dn = denoising
    data = dn.denoising_data(4, 16, seed=0)
    c["experiments.denoising.psnr"] = [
        ("rmse=0", lambda: dn.psnr(0.0), ValueError, "rmse"),
        ("peak nan", lambda: dn.psnr(0.1, NAN), ValueError, "peak"),
    ]
    c["experiments.denoising.denoising_data"] = [
        ("n_samples=0", lambda: dn.denoising_data(0), ValueError, "n_samples"),
        ("sigma=-0.1", lambda: dn.denoising_data(4, sigma=-0.1), ValueError, "sigma"),
        ("n=1", lambda: dn.denoising_data(4, n=1), ValueError, "n"),
    ]
    c["experiments.denoising.denoising_splits"] = [
        ("n_test=0", lambda: dn.denoising_splits(16, 4, 0), ValueError, "n_test"),
    ]
    c["experiments.denoising.denoising_experiment"] = [
        ("family unknown", lambda: dn.denoising_experiment(families=["x"]), ValueError,
         "families"),
        ("budget=0", lambda: dn.denoising_experiment(budget=0), ValueError, "budget"),
        ("epochs=-1", lambda: dn.denoising_experiment(families=["linear"], n=16, n_train=4,
                                                      n_test=4, epochs=-1), ValueError,
         "epochs"),
    ]
    c["experiments.denoising.flux_monotonicity"] = [
        ("phi wrong type", lambda: dn.flux_monotonicity(np.tanh, 3.0), TypeError, "phi"),
        ("s_max=0", lambda: dn.flux_monotonicity(pdecore.nets.FluxActivation(), 0.0),
         ValueError, "s_max"),
    ]
    c["experiments.denoising.activation_ranges"] = [
        ("net wrong type", lambda: dn.activation_ranges("net", data.X), TypeError, "net"),
        ("q=2", lambda: dn.activation_ranges(_diffusion_net(), data.X, q=2.0), ValueError, "q"),
    ]
    c["experiments.denoising.flux_report"] = [
        ("net wrong type", lambda: dn.flux_report(None, data.X), TypeError, "net"),
    ]
    c["experiments.denoising.norm_check"] = [
        ("net wrong type", lambda: dn.norm_check(torch.nn.Identity(), data.X), TypeError,
         "net"),
        ("n_random=-1", lambda: dn.norm_check(_diffusion_net(), data.X, n_random=-1),
         ValueError, "n_random"),
    ]
    c["experiments.denoising.probe_inputs"] = [
        ("n_random=-1", lambda: dn.probe_inputs(data.X, -1), ValueError, "n_random"),
        ("seed=-1", lambda: dn.probe_inputs(data.X, 4, seed=-1), ValueError, "seed"),
    ]
    sk = skip_connections
    splits = dn.denoising_splits(16, 4, 4, 0)
    train_kw = {"budget": 40, "depth": 2, "epochs": 1, "lr": 1e-2, "seed": 0}
    c["experiments.skip_connections.output_norm_ratio"] = [
        ("n_random=-1", lambda: sk.output_norm_ratio(_diffusion_net(), data.X, -1),
         ValueError, "n_random"),
    ]
    c["experiments.skip_connections.train_variant"] = [
        ("variant unknown", lambda: sk.train_variant("plain", splits, **train_kw), ValueError,
         "variant"),
        ("splits wrong type", lambda: sk.train_variant("fsi", data, **train_kw), TypeError,
         "splits"),
        ("lr=0", lambda: sk.train_variant("fsi", splits, **(train_kw | {"lr": 0.0})),
         ValueError, "lr"),
    ]
    c["experiments.skip_connections.run"] = [
        ("config unknown", lambda: sk.run("nope"), ValueError, "config"),
        ("override unknown", lambda: sk.run("quick", epoch=1), ValueError, "epoch"),
        ("variants unknown", lambda: sk.run("quick", variants=("momentum",)), ValueError,
         "variants"),
        ("lr_grid empty", lambda: sk.run("quick", lr_grid=()), ValueError, "lr_grid"),
    ]
    c["experiments.denoising.classical_baseline"] = [
        ("data wrong type", lambda: dn.classical_baseline("data"), TypeError, "data"),
        ("max_steps=0", lambda: dn.classical_baseline(data, max_steps=0), ValueError,
         "max_steps"),
        ("diffusivity unknown", lambda: dn.classical_baseline(data, "nope"), ValueError,
         "nope"),
    ]
    c["experiments.denoising.summarize"] = [
        ("runs empty", lambda: dn.summarize([]), ValueError, "runs"),
    ]
    c["experiments.denoising.markdown_table"] = [
        ("summary wrong type", lambda: dn.markdown_table([1.0]), TypeError, "summary"),
    ]
    c["experiments.denoising.wins"] = [
        ("against empty", lambda: dn.wins([[_denoising_row()]], "a", []), ValueError, "against"),
        ("family missing", lambda: dn.wins([[_denoising_row()]], "a", ["b"]), ValueError, "b"),
    ]
    c["experiments.denoising.run"] = [
        ("config unknown", lambda: dn.run("nope"), ValueError, "config"),
        ("override unknown", lambda: dn.run("quick", epoch=1), ValueError, "epoch"),
    ]
    c["experiments.denoising.verdict"] = [
        ("n_runs=0", lambda: dn.verdict(0, 0, "x"), ValueError, "n_runs"),
        ("wins > n_runs", lambda: dn.verdict(3, 2, "x"), ValueError, "wins"),
    ]
    im = implicit
    c["experiments.implicit.scheme_comparison"] = [
        ("f 3-D", lambda: im.scheme_comparison(np.zeros((2, 2, 8)), 1.0, [0.5]), ValueError, "f"),
        ("T=-1", lambda: im.scheme_comparison(SIGNAL, -1.0, [0.5]), ValueError, "T"),
        ("tau=0", lambda: im.scheme_comparison(SIGNAL, 1.0, [0.0]), ValueError, "tau"),
        ("ref_tau nan", lambda: im.scheme_comparison(SIGNAL, 1.0, [0.5], ref_tau=NAN),
         ValueError, "ref_tau"),
    ]
    c["experiments.implicit.run"] = [
        ("config unknown", lambda: im.run("huge"), ValueError, "config"),
        ("taus too large", lambda: im.run("quick", taus=(1.0,)), ValueError, "taus"),
    ]
    c["experiments.implicit.reference_solution"] = [
        ("f 2-D", lambda: im.reference_solution(np.zeros((2, 8)), 1.0), ValueError, "f"),
        ("T=0", lambda: im.reference_solution(SIGNAL, 0.0), ValueError, "T"),
    ]
    c["experiments.implicit.implicit_newton_step"] = [
        ("tau=-1", lambda: im.implicit_newton_step(SIGNAL, -1.0), ValueError, "tau"),
        ("maxiter=0", lambda: im.implicit_newton_step(SIGNAL, 0.1, maxiter=0), ValueError,
         "maxiter"),
    ]
    c["experiments.implicit.jacobi_sweep"] = [
        ("repeats=0", lambda: im.jacobi_sweep(SIGNAL, [0.1], repeats=0), ValueError,
         "repeats"),
        ("f 2-D", lambda: im.jacobi_sweep(np.zeros((2, 8)), [0.1]), ValueError, "f"),
    ]
    c["experiments.implicit.local_error_terms"] = [
        ("u complex", lambda: im.local_error_terms(np.ones(8, complex)), TypeError, "u"),
        ("lam=0", lambda: im.local_error_terms(SIGNAL, "perona_malik", 0.0), ValueError,
         "lam"),
    ]
    c["experiments.implicit.fixed_point_sweep"] = [
        ("f complex", lambda: im.fixed_point_sweep(np.ones(8, complex), [0.1]), TypeError, "f"),
        ("maxiter=0", lambda: im.fixed_point_sweep(SIGNAL, [0.1], maxiter=0), ValueError,
         "maxiter"),
        ("tau negative", lambda: im.fixed_point_sweep(SIGNAL, [-0.1]), ValueError, "tau"),
    ]
    mc = multigrid_convergence
    c["experiments.multigrid_convergence.factor_sweep"] = [
        ("sizes=1", lambda: mc.factor_sweep([1], [0.1]), ValueError, "n"),
        ("lams=0", lambda: mc.factor_sweep([64], [0.0]), ValueError, "lam"),
        ("interpolation unknown", lambda: mc.factor_sweep([64], [0.1], interpolations=["x"]),
         ValueError, "interpolation"),
    ]
    c["experiments.multigrid_convergence.semi_implicit_problem"] = [
        ("n=0", lambda: mc.semi_implicit_problem(0, 0.1), ValueError, "n"),
        ("lam=-1", lambda: mc.semi_implicit_problem(64, -1.0), ValueError, "lam"),
        ("sigma nan", lambda: mc.semi_implicit_problem(64, 0.1, sigma=NAN), ValueError, "sigma"),
    ]
    c["experiments.multigrid_convergence.run"] = [
        ("config unknown", lambda: mc.run("huge"), ValueError, "config"),
        ("lams negative", lambda: mc.run("quick", lams=(-1.0,)), ValueError, "lams"),
        ("sizes=1", lambda: mc.run("quick", sizes=(1,)), ValueError, "sizes"),
    ]
    c["experiments.multigrid_convergence.scheme_deviations"] = [
        ("n=0", lambda: mc.scheme_deviations(0), ValueError, "n"),
        ("lam=-1", lambda: mc.scheme_deviations(64, -1.0), ValueError, "lam"),
    ]
    ml = multigrid_learning
    c["experiments.multigrid_learning.run"] = [
        ("config unknown", lambda: ml.run("huge"), ValueError, "config"),
        ("seeds empty", lambda: ml.run("quick", seeds=()), ValueError, "seeds"),
        ("dtype unknown", lambda: ml.run("quick", dtype="float16"), ValueError, "dtype"),
        ("lr_grid negative", lambda: ml.run("quick", lr_grid=(-1.0,)), ValueError, "lr_grid"),
        ("budgets=0", lambda: ml.run("quick", budgets=(0,)), ValueError, "budgets"),
    ]
    ldata = ml.learning_data(2, 16, seed=0)
    c["experiments.multigrid_learning.learning_data"] = [
        ("n_samples=0", lambda: ml.learning_data(0), ValueError, "n_samples"),
        ("lam_range decreasing", lambda: ml.learning_data(2, lam_range=(0.5, 0.1)), ValueError,
         "lam_range"),
        ("tau=0", lambda: ml.learning_data(2, tau=0.0), ValueError, "tau"),
    ]
    c["experiments.multigrid_learning.learning_splits"] = [
        ("n_train=0", lambda: ml.learning_splits(16, 0, 2), ValueError, "n_train"),
    ]
    c["experiments.multigrid_learning.learning_experiment"] = [
        ("kind unknown", lambda: ml.learning_experiment(kinds=["x"]), ValueError, "kinds"),
        ("budget=0", lambda: ml.learning_experiment(budgets=[0]), ValueError, "budget"),
    ]
    c["experiments.multigrid_learning.vcycle_errors"] = [
        ("data wrong type", lambda: ml.vcycle_errors("data"), TypeError, "data"),
        ("max_cycles=-1", lambda: ml.vcycle_errors(ldata, -1), ValueError, "max_cycles"),
    ]
    c["experiments.multigrid_learning.vcycles_to_match"] = [
        ("rmse=-1", lambda: ml.vcycles_to_match(-1.0, ldata), ValueError, "rmse"),
        ("rmse nan", lambda: ml.vcycles_to_match(NAN, ldata), ValueError, "rmse"),
    ]
    st = stability
    c["experiments.stability.deep_network"] = [
        ("kind unknown", lambda: st.deep_network("x", 2, 1, 3, "perona_malik", 16), ValueError,
         "kind"),
        ("depth=0", lambda: st.deep_network("symmetric", 0, 1, 3, "perona_malik", 16),
         ValueError, "depth"),
        ("tau_factor=0", lambda: st.deep_network("symmetric", 2, 1, 3, "perona_malik", 16, 0.0),
         ValueError, "tau_factor"),
        ("activation unknown", lambda: st.deep_network("symmetric", 2, 1, 3, "nope", 16),
         ValueError, "nope"),
    ]
    c["experiments.stability.norm_trajectory"] = [
        ("net wrong type", lambda: st.norm_trajectory("net", X3), TypeError, "net"),
        ("u numpy", lambda: st.norm_trajectory(torch.nn.Sequential(_block()), np.zeros((2, 1, 16))),
         TypeError, "u"),
    ]
    c["experiments.stability.stability_experiment"] = [
        ("activation unknown", lambda: st.stability_experiment(["nope"], depth=2, n=16),
         ValueError, "nope"),
        ("kind unknown", lambda: st.stability_experiment(["linear"], kinds=["x"], depth=2, n=16),
         ValueError, "kind"),
        ("batch=0", lambda: st.stability_experiment(["linear"], depth=2, n=16, batch=0),
         ValueError, "batch"),
    ]
    c["experiments.stability.run"] = [
        ("config unknown", lambda: st.run("nope"), ValueError, "config"),
        ("factors without the bound", lambda: st.run("quick", factors=(0.5,)), ValueError,
         "factors"),
        ("seed=-1", lambda: st.run("quick", seed=-1), ValueError, "seed"),
    ]
    c["experiments.stability.block_matrix"] = [
        ("block wrong type", lambda: st.block_matrix("block", 8), TypeError, "block"),
        ("n=0", lambda: st.block_matrix(_block(), 0), ValueError, "n"),
    ]
    return c


CASES = _cases()

def _params():
    out = []
    for name, cases in sorted(CASES.items()):
        for label, call, exc, arg in cases:
            out.append(pytest.param(call, exc, arg, id=f"{name}[{label}]"))
    return out


def test_every_public_callable_is_covered():
    public = _public_callables()
    missing = sorted(set(public) - set(CASES) - RECORDS)
    assert not missing, f"public callables without a bad-input case: {missing}"
    stale = sorted((set(CASES) | RECORDS) - set(public))
    assert not stale, f"cases for names that are not public (any more): {stale}"
    for name in RECORDS:
        assert dataclasses.is_dataclass(public[name]), f"{name} is not a plain record"


@pytest.mark.parametrize("call, exc, arg", _params())
def test_bad_input_names_the_argument(call, exc, arg):
    with pytest.raises(exc) as info:
        call()
    assert re.search(rf"(?<![\w]){re.escape(arg)}(?![\w])", str(info.value)), (
        f"the message does not name {arg!r}: {info.value}")


# --- forward passes: every torch module of pdecore.nets ----------------------------------

#: name -> (factory of a float64 module, good input shape, argument name)
MODULES_1D = {
    "DiffusionBlock": (lambda: pdecore.nets.DiffusionBlock(), (2, 1, 16), "u"),
    "DiffusionNet": (_diffusion_net, (2, 1, 16), "u"),
    "FEDNet": (lambda: pdecore.nets.FEDNet(_block(), [0.1, 0.2]), (2, 1, 16), "u"),
    "FSINet": (lambda: pdecore.nets.FSINet(_block(), [1.0, 1.5]), (2, 1, 16), "u"),
    "FixedPointRNN": (lambda: pdecore.nets.FixedPointRNN(_block(), 3), (2, 1, 16), "u"),
    "JacobiRNN": (lambda: pdecore.nets.JacobiRNN(_block(), 3), (2, 1, 16), "u"),
    "MultigridUNet": (lambda: pdecore.nets.MultigridUNet(2, 2), (2, 2, 16), "b"),
    "StandardUNet": (lambda: pdecore.nets.StandardUNet(2, 2), (2, 2, 16), "x"),
    "SemiImplicitLayer": (lambda: pdecore.nets.SemiImplicitLayer(), (2, 1, 16), "u"),
    "SymmetricBlock": (lambda: pdecore.nets.SymmetricBlock(2), (2, 2, 16), "u"),
    "StandardBlock": (lambda: pdecore.nets.StandardBlock(2), (2, 2, 16), "u"),
    "StandardNet": (lambda: pdecore.nets.StandardNet(depth=2), (2, 1, 16), "u"),
    "SymmetricBlock2d": (lambda: pdecore.nets.SymmetricBlock2d(2), (2, 2, 8, 8), "u"),
    "StandardBlock2d": (lambda: pdecore.nets.StandardBlock2d(2), (2, 2, 8, 8), "u"),
    "ResNetClassifier": (_classifier, (2, 1, 8, 8), "x"),
}

ELEMENTWISE = {"FluxActivation", "SectorReLU", "TrainableFlux"}
DTYPE_FOLLOWS_INPUT = {"SemiImplicitLayer"}


def test_forward_table_covers_every_module():
    modules = {name for name in pdecore.nets.__all__
               if inspect.isclass(getattr(pdecore.nets, name))
               and issubclass(getattr(pdecore.nets, name), torch.nn.Module)}
    # MultigridUNet.from_scheme nets take right-hand sides (..., N): cases in CASES
    assert modules - ELEMENTWISE == set(MODULES_1D)


def _bad_inputs(shape):
    good = torch.randn(*shape, dtype=torch.float64)
    wrong_channels = list(shape)
    wrong_channels[1] += 1
    too_short = list(shape)
    too_short[-1] = 0
    return {
        "numpy": (good.numpy(), TypeError),
        "list": (good.tolist(), TypeError),
        "int tensor": (torch.ones(shape, dtype=torch.int64), TypeError),
        "complex tensor": (torch.ones(shape, dtype=torch.complex128), TypeError),
        "float32 into float64 module": (good.float(), TypeError),
        "no batch axis": (good[0], ValueError),
        "extra axis": (good[None], ValueError),
        "wrong channels": (torch.zeros(wrong_channels, dtype=torch.float64), ValueError),
        "no grid points": (torch.zeros(too_short, dtype=torch.float64), ValueError),
    }


FORWARD_CASES = [
    pytest.param(m, b, id=f"{m}[{b}]")
    for m in sorted(MODULES_1D) for b in _bad_inputs(MODULES_1D[m][1])
]


@pytest.mark.parametrize("module, bad", FORWARD_CASES)
def test_forward_refuses_bad_input(module, bad):
    factory, shape, arg = MODULES_1D[module]
    if module in DTYPE_FOLLOWS_INPUT and bad == "float32 into float64 module":
        pytest.skip("its only weight (log tau) is cast to the input's dtype")
    torch.manual_seed(0)
    net = factory().double()
    net(torch.randn(*shape, dtype=torch.float64))  # the good input passes
    value, exc = _bad_inputs(shape)[bad]
    with pytest.raises(exc, match=rf"^{arg}\b"):
        net(value)


@pytest.mark.parametrize("module", sorted(MODULES_1D))
def test_forward_propagates_nan_and_accepts_an_empty_batch(module):
    factory, shape, _ = MODULES_1D[module]
    torch.manual_seed(0)
    net = factory().double()
    u = torch.randn(*shape, dtype=torch.float64)
    u.view(-1)[3] = NAN
    with torch.no_grad():
        out = net(u)
        assert torch.isnan(out).any()  # no IndexError, no silent repair
        empty = net(torch.zeros(0, *shape[1:], dtype=torch.float64))
    assert empty.shape[0] == 0


@pytest.mark.parametrize("module", sorted(ELEMENTWISE))
def test_activations_refuse_non_float_tensors_and_follow_the_dtype(module):
    phi = getattr(pdecore.nets, module)().double()
    s = torch.linspace(-3, 3, 7)
    assert phi(s).dtype == torch.float32  # dtype follows the input
    assert torch.isnan(phi(torch.tensor([NAN, 1.0]))).tolist() == [True, False]
    for bad in (s.numpy(), s.to(torch.int64), s.tolist()):
        with pytest.raises(TypeError, match=r"^s must be a floating-point"):
            phi(bad)


def test_hat_flux_propagates_nan_instead_of_indexing_with_it():
    # was: IndexError (index -9223372036854775808) from the NaN floor used as an index
    phi = pdecore.nets.TrainableFlux(basis="hat")
    out = phi(torch.tensor([NAN, 0.5, np.inf, -np.inf]))
    assert torch.isnan(out[0]) and torch.isfinite(out[1])
    assert out[2] == np.inf and out[3] == -np.inf
