import numpy as np
import pytest
import torch

from pdecore.experiments import stability
from pdecore.nets import SymmetricBlock, operator_norm


def test_symmetric_networks_never_grow_at_the_bound():
    res = stability.stability_experiment(["perona_malik", "linear"], (1.0,), ("symmetric",),
                                         depth=20, channels=2, n=24, batch=4)
    assert all(r.max_ratio <= 1 + 1e-12 for r in res)
    assert all(r.ratios.shape == (21, 4) for r in res)


def test_standard_network_shares_first_weights_and_scale():
    sym = stability.deep_network("symmetric", 3, 2, 3, "linear", 20, seed=5)
    std = stability.deep_network("standard", 3, 2, 3, "linear", 20, seed=5)
    for a, b in zip(sym, std, strict=True):
        torch.testing.assert_close(a.weight, b.weight1)
        # ||W_2|| = tau ||W||: the same step scale, without the symmetry
        assert operator_norm(b.weight2, 20) == pytest.approx(a.tau * operator_norm(a.weight, 20),
                                                             rel=1e-10)
        assert not torch.allclose(b.weight2, -a.tau * a.weight)


@pytest.mark.parametrize("factor", [0.5, 1.0, 1.3, 1.8])
def test_linear_block_amplification_is_the_closed_form(factor):
    block = SymmetricBlock(1, 2, "linear", dtype=torch.float64)
    with torch.no_grad():
        block.weight.copy_(torch.tensor([[[-1.0, 1.0]]]))
    n = 16
    block.tau = factor * 2.0 / (4 * np.sin((n - 1) * np.pi / (2 * n)) ** 2)
    amp = np.linalg.norm(stability.block_matrix(block, n), 2)
    assert amp == pytest.approx(max(1.0, 2 * factor - 1), rel=1e-12)


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        stability.deep_network("wide", 2, 1, 3, "linear", 10)
