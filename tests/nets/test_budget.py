"""Tests for pdecore.nets._budget: the one budget sizer of the three ``*_with_budget``.

The sizer is checked against an exhaustive search, and each ``*_with_budget`` against a
brute-force count over constructed modules. ``EXPERIMENT_WIDTHS`` pins the widths of
every budget the experiments use (all configurations of CONFIGS), as the three separate
sizers (bisection, affine solve, brute force) chose them before they became one.
"""

import numpy as np
import pytest
import torch

from pdecore.experiments import classification, denoising, multigrid_learning
from pdecore.nets import (
    DiffusionNet,
    MultigridUNet,
    ResNetClassifier,
    StandardNet,
    StandardUNet,
    classifier_parameters,
    classifier_with_budget,
    diffusion_net_with_budget,
    unet_with_budget,
)
from pdecore.nets._budget import built_parameters, width_for_budget
from pdecore.train import count_parameters


def nearest(counts: dict[int, int], budget: int) -> int:
    """Exhaustive: the width with the count nearest the budget, the larger on a tie."""
    return min(counts, key=lambda w: (abs(counts[w] - budget), -w))


def brute_force(build, budget: int) -> int:
    """Count constructed modules of width 1, 2, ... until the count passes the budget."""
    counts, w = {}, 1
    while True:
        counts[w] = count_parameters(build(w))
        if counts[w] > budget:
            return nearest(counts, budget)
        w += 1


@pytest.mark.parametrize("seed", range(20))
def test_width_for_budget_is_the_exhaustive_minimiser(seed):
    rng = np.random.default_rng(seed)
    max_width = int(rng.integers(1, 60))
    counts = np.cumsum(rng.integers(1, 50, max_width + 1))  # strictly increasing
    table = {w: int(counts[w]) for w in range(1, max_width + 1)}
    calls = []

    def count(w):
        calls.append(w)
        return table[w]

    for budget in [1, *rng.integers(1, int(counts[-1]) + 100, 30).tolist()]:
        calls.clear()
        assert width_for_budget(count, int(budget), max_width) == nearest(table, int(budget))
        assert len(calls) <= 2 * max_width.bit_length() + 3  # a bisection, not a scan


def test_width_for_budget_ties_go_to_the_larger_width():
    def count(w):
        return 10 * w  # budget 15 lies halfway between widths 1 and 2

    assert width_for_budget(count, 15, 100) == 2
    assert width_for_budget(count, 14, 100) == 1
    assert width_for_budget(count, 10**6, 100) == 100  # capped
    assert width_for_budget(count, 1, 100) == 1


def test_built_parameters_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    assert built_parameters(lambda: torch.nn.Linear(40, 30)) == 40 * 30 + 30
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("family", ["trainable", "trainable_monotone", "linear", "relu",
                                    "standard"])
@pytest.mark.parametrize(("budget", "depth", "k"), [(60, 2, 3), (150, 5, 3), (301, 3, 5)])
def test_diffusion_net_with_budget_against_brute_force(family, budget, depth, k):
    def build(hidden):
        if family == "standard":
            return StandardNet(depth, hidden, k)
        return DiffusionNet(depth, hidden, k, family)

    net = diffusion_net_with_budget(family, budget, depth=depth, kernel_size=k)
    assert net.hidden == brute_force(build, budget)


@pytest.mark.parametrize("block", ["symmetric", "standard"])
@pytest.mark.parametrize("budget", [500, 4842, 9000])
def test_classifier_with_budget_against_brute_force(block, budget):
    net = classifier_with_budget(block, budget, (1, 1), in_channels=3, classes=4)
    expected = brute_force(lambda c: ResNetClassifier(block, c, (1, 1), in_channels=3,
                                                      classes=4), budget)
    assert net.channels == expected
    assert count_parameters(net) == classifier_parameters(block, expected, (1, 1), 3, 4)


@pytest.mark.parametrize("variant", list(multigrid_learning.VARIANTS))
@pytest.mark.parametrize("budget", [700, 2500])
def test_unet_with_budget_against_brute_force(variant, budget):
    kind, switches, _ = multigrid_learning.VARIANTS[variant]
    net = unet_with_budget(kind, budget, 3, **switches)
    if kind == "multigrid":
        def build(c):
            return MultigridUNet(3, c, **switches)
    else:
        def build(c):
            return StandardUNet(3, c)
    assert net.channels == brute_force(build, budget)


# --- the widths of the experiments ------------------------------------------------------

#: (sizer, family, budget, options) -> width, computed with the three sizers of commit
#: 41245ec for every budget of the experiments' CONFIGS (quick, default, paper).
EXPERIMENT_WIDTHS: dict[tuple, int] = {
    ('diffusion', 'trainable', 150, (('depth', 5), ('kernel_size', 3))): 4,
    ('diffusion', 'trainable_monotone', 150, (('depth', 5), ('kernel_size', 3))): 4,
    ('diffusion', 'linear', 150, (('depth', 5), ('kernel_size', 3))): 10,
    ('diffusion', 'charbonnier', 150, (('depth', 5), ('kernel_size', 3))): 10,
    ('diffusion', 'relu', 150, (('depth', 5), ('kernel_size', 3))): 10,
    ('diffusion', 'perona_malik', 150, (('depth', 5), ('kernel_size', 3))): 10,
    ('diffusion', 'standard', 150, (('depth', 5), ('kernel_size', 3))): 4,
    ('classifier', 'symmetric', 4842, (('blocks', (2, 2)), ('in_channels', 1))): 11,
    ('classifier', 'symmetric', 4986, (('blocks', (2, 2)), ('in_channels', 3))): 11,
    ('classifier', 'symmetric', 18890, (('blocks', (2, 2)), ('in_channels', 1))): 23,
    ('classifier', 'symmetric', 19178, (('blocks', (2, 2)), ('in_channels', 3))): 22,
    ('unet', 'multigrid', 1000, (('levels', 3),)): 4,
    ('unet', 'standard', 1000, (('levels', 3),)): 4,
    ('unet', 'multigrid', 3000, (('levels', 3),)): 7,
    ('unet', 'standard', 3000, (('levels', 3),)): 7,
    ('unet', 'features', 1000, (('levels', 3),)): 5,
    ('unet', 'untied', 1000, (('levels', 3),)): 4,
    ('unet', 'affine', 1000, (('levels', 3),)): 4,
    ('unet', 'concat', 1000, (('levels', 3),)): 4,
    ('unet', 'multigrid', 1500, (('levels', 4),)): 4,
    ('unet', 'standard', 1500, (('levels', 4),)): 4,
    ('unet', 'multigrid', 4500, (('levels', 4),)): 8,
    ('unet', 'standard', 4500, (('levels', 4),)): 8,
    ('unet', 'multigrid', 13500, (('levels', 4),)): 14,
    ('unet', 'standard', 13500, (('levels', 4),)): 13,
    ('unet', 'features', 4500, (('levels', 4),)): 9,
    ('unet', 'untied', 4500, (('levels', 4),)): 8,
    ('unet', 'affine', 4500, (('levels', 4),)): 8,
    ('unet', 'concat', 4500, (('levels', 4),)): 8,
    ('diffusion', 'trainable', 300, (('depth', 8), ('kernel_size', 3))): 7,
    ('diffusion', 'trainable_monotone', 300, (('depth', 8), ('kernel_size', 3))): 7,
    ('diffusion', 'linear', 300, (('depth', 8), ('kernel_size', 3))): 12,
    ('diffusion', 'charbonnier', 300, (('depth', 8), ('kernel_size', 3))): 12,
    ('diffusion', 'relu', 300, (('depth', 8), ('kernel_size', 3))): 12,
    ('diffusion', 'perona_malik', 300, (('depth', 8), ('kernel_size', 3))): 12,
    ('diffusion', 'standard', 300, (('depth', 8), ('kernel_size', 3))): 5,
    ('unet', 'multigrid', 2000, (('levels', 5),)): 5,
    ('unet', 'standard', 2000, (('levels', 5),)): 4,
    ('unet', 'multigrid', 8000, (('levels', 5),)): 9,
    ('unet', 'standard', 8000, (('levels', 5),)): 9,
    ('unet', 'multigrid', 32000, (('levels', 5),)): 19,
    ('unet', 'standard', 32000, (('levels', 5),)): 18,
    ('unet', 'multigrid', 128000, (('levels', 5),)): 38,
    ('unet', 'standard', 128000, (('levels', 5),)): 36,
    ('unet', 'features', 8000, (('levels', 5),)): 10,
    ('unet', 'untied', 8000, (('levels', 5),)): 10,
    ('unet', 'affine', 8000, (('levels', 5),)): 10,
    ('unet', 'concat', 8000, (('levels', 5),)): 9,
}


def _experiment_cases():
    cases = []
    for name in ("quick", "default", "paper"):
        cfg = denoising.CONFIGS[name]
        for family in cfg["families"]:
            cases.append(("diffusion", family, cfg["budget"], (("depth", cfg["depth"]),
                                                              ("kernel_size", 3))))
        cfg = classification.CONFIGS[name]
        for width in cfg["widths"]:
            for in_channels in (1, 3):  # Fashion-MNIST, CIFAR-10
                budget = classifier_parameters("standard", width, cfg["blocks"], in_channels)
                cases.append(("classifier", "symmetric", budget,
                              (("blocks", cfg["blocks"]), ("in_channels", in_channels))))
        cfg = multigrid_learning.CONFIGS[name]
        for budget in cfg["budgets"]:
            for kind in ("multigrid", "standard"):
                cases.append(("unet", kind, budget, (("levels", cfg["levels"]),)))
        for variant in multigrid_learning.VARIANTS:
            cases.append(("unet", variant, cfg["ablation_budget"],
                          (("levels", cfg["levels"]),)))
    return list(dict.fromkeys(cases))


def _width(sizer, family, budget, options):
    opts = dict(options)
    if sizer == "diffusion":
        return diffusion_net_with_budget(family, budget, **opts).hidden
    if sizer == "classifier":
        return classifier_with_budget(family, budget, **opts).channels
    kind, switches, _ = multigrid_learning.VARIANTS[family]
    return unet_with_budget(kind, budget, opts["levels"], **switches).channels


@pytest.mark.parametrize("case", _experiment_cases(), ids=str)
def test_experiment_widths_are_unchanged(case):
    assert _width(*case) == EXPERIMENT_WIDTHS[case]
