import numpy as np
import pytest
import torch
import torch.nn.functional as F

import pdecore
from pdecore import multigrid
from pdecore.nets import VCycleUNet


def problem(n, lam=0.1, tau=50.0, seed=0):
    u = pdecore.add_noise(pdecore.piecewise_constant(n, 5, seed=seed), 0.05, seed=seed + 1)
    bands = pdecore.semi_implicit_matrix_bands(u, tau, "perona_malik", lam)
    return multigrid.Tridiagonal.from_bands(bands), u


@pytest.mark.parametrize("n", [64, 101, 300])
@pytest.mark.parametrize("interpolation", ["operator", "linear"])
@pytest.mark.parametrize("smoother", ["jacobi", "rbgs"])
@pytest.mark.parametrize("gamma", [1, 2])
def test_unet_reproduces_the_numpy_cycle(n, interpolation, smoother, gamma):
    a, b = problem(n)
    h = multigrid.multigrid_hierarchy(a, interpolation=interpolation, min_size=8)
    x0 = np.random.default_rng(n).standard_normal(n)
    ref = multigrid.cycle(h, x0.copy(), b, gamma=gamma, smoother=smoother)
    net = VCycleUNet(h, smoother=smoother, gamma=gamma)
    out = net(torch.tensor(b), torch.tensor(x0)).numpy()
    assert np.abs(out - ref).max() <= 1e-12 * np.abs(ref).max()


def test_batch_and_repeated_cycles_solve_the_system():
    a, b = problem(257)
    h = multigrid.multigrid_hierarchy(a, min_size=8)
    net = VCycleUNet(h, smoother="jacobi")
    rhs = torch.tensor(np.stack([b, 2 * b]))
    x = torch.zeros_like(rhs)
    for _ in range(15):
        x = net(rhs, x)
    dense = a.to_sparse().toarray()
    for row, r in zip(x.numpy(), rhs.numpy(), strict=True):
        assert np.linalg.norm(dense @ row - r) <= 1e-9 * np.linalg.norm(r)


def test_linear_restriction_is_a_strided_convolution():
    a, _ = problem(65)
    level = multigrid.multigrid_hierarchy(a, interpolation="linear", min_size=8)[0]
    net = VCycleUNet([level, *multigrid.multigrid_hierarchy(a, "linear", min_size=8)[1:]])
    r = torch.randn(1, 1, 65, dtype=torch.float64)
    kernel = torch.tensor([[[0.5, 1.0, 0.5]]], dtype=torch.float64)
    conv = F.conv1d(F.pad(r, (1, 1)), kernel, stride=2)  # zero padding at both ends
    torch.testing.assert_close(net.levels[0].restrict(r), conv)


def test_bad_arguments():
    a, b = problem(64)
    h = multigrid.multigrid_hierarchy(a, min_size=8)
    with pytest.raises(ValueError, match="smoother"):
        VCycleUNet(h, smoother="sor")
    with pytest.raises(TypeError, match="hierarchy"):
        VCycleUNet([1, 2])
    with pytest.raises(ValueError, match="last dimension"):
        VCycleUNet(h)(torch.zeros(10, dtype=torch.float64))
