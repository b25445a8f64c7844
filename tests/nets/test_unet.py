import numpy as np
import pytest
import torch
import torch.nn.functional as F

import pdecore
from pdecore import multigrid
from pdecore.nets import MultigridUNet, StandardUNet, unet_with_budget
from pdecore.nets.unet import UNET_FACTORS
from pdecore.train import count_parameters

STANDARD = {name: values[1] for name, values in UNET_FACTORS.items()}


def problem(n, lam=0.1, tau=50.0, seed=0):
    u = pdecore.add_noise(pdecore.piecewise_constant(n, 5, seed=seed), 0.05, seed=seed + 1)
    bands = pdecore.semi_implicit_matrix_bands(u, tau, "perona_malik", lam)
    return multigrid.Tridiagonal.from_bands(bands), u


# --- the fixed-weight net: MultigridUNet.from_scheme ------------------------------------


@pytest.mark.parametrize("n", [64, 101, 300])
@pytest.mark.parametrize("interpolation", ["operator", "linear"])
@pytest.mark.parametrize("smoother", ["jacobi", "rbgs"])
@pytest.mark.parametrize("gamma", [1, 2])
def test_from_scheme_reproduces_the_numpy_cycle(n, interpolation, smoother, gamma):
    a, b = problem(n)
    h = multigrid.multigrid_hierarchy(a, interpolation=interpolation, min_size=8)
    x0 = np.random.default_rng(n).standard_normal(n)
    ref = multigrid.cycle(h, x0.copy(), b, gamma=gamma, smoother=smoother)
    net = MultigridUNet.from_scheme(h, smoother=smoother, gamma=gamma)
    out = net(torch.tensor(b), torch.tensor(x0)).numpy()
    assert np.abs(out - ref).max() <= 1e-12 * np.abs(ref).max()


def test_from_scheme_has_no_trainable_weights_and_is_the_same_class():
    a, _ = problem(64)
    net = MultigridUNet.from_scheme(multigrid.multigrid_hierarchy(a, min_size=8))
    assert isinstance(net, MultigridUNet) and net.is_scheme
    assert count_parameters(net) == 0 and len(list(net.buffers())) > 0
    assert not MultigridUNet(2, 2).is_scheme
    with pytest.raises(TypeError, match="from_scheme"):
        net.multiply_adds(64)


def test_batch_and_repeated_cycles_solve_the_system():
    a, b = problem(257)
    h = multigrid.multigrid_hierarchy(a, min_size=8)
    net = MultigridUNet.from_scheme(h, smoother="jacobi")
    rhs = torch.tensor(np.stack([b, 2 * b]))
    x = torch.zeros_like(rhs)
    for _ in range(15):
        x = net(rhs, x)
    dense = a.to_sparse().toarray()
    for row, r in zip(x.numpy(), rhs.numpy(), strict=True):
        assert np.linalg.norm(dense @ row - r) <= 1e-9 * np.linalg.norm(r)


def test_linear_restriction_is_a_strided_convolution():
    a, _ = problem(65)
    net = MultigridUNet.from_scheme(multigrid.multigrid_hierarchy(a, "linear", min_size=8))
    r = torch.randn(1, 1, 65, dtype=torch.float64)
    kernel = torch.tensor([[[0.5, 1.0, 0.5]]], dtype=torch.float64)
    conv = F.conv1d(F.pad(r, (1, 1)), kernel, stride=2)  # zero padding at both ends
    torch.testing.assert_close(net.transfer[0].down(r), conv)
    e = torch.randn(1, 1, 33, dtype=torch.float64)
    torch.testing.assert_close(net.transfer[0].up(e, 65), F.conv_transpose1d(
        e, kernel, stride=2, padding=1))


def test_from_scheme_bad_arguments():
    a, b = problem(64)
    h = multigrid.multigrid_hierarchy(a, min_size=8)
    with pytest.raises(ValueError, match="smoother"):
        MultigridUNet.from_scheme(h, smoother="sor")
    with pytest.raises(TypeError, match="hierarchy"):
        MultigridUNet.from_scheme([1, 2])
    with pytest.raises(ValueError, match="pre"):
        MultigridUNet.from_scheme(h, pre=-1)
    net = MultigridUNet.from_scheme(h)
    with pytest.raises(ValueError, match="last dimension"):
        net(torch.zeros(10, dtype=torch.float64))
    with pytest.raises(TypeError, match="b must be"):
        net(np.zeros(64))
    with pytest.raises(ValueError, match="x0"):
        net(torch.zeros(64, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))


# --- the learned nets -------------------------------------------------------------------

FAMILIES = [
    lambda levels, c: MultigridUNet(levels, c),
    lambda levels, c: MultigridUNet(levels, c, form="features"),
    lambda levels, c: StandardUNet(levels, c),
]


@pytest.mark.parametrize("make", FAMILIES)
@pytest.mark.parametrize("n", [8, 31, 64, 101])
@pytest.mark.parametrize("levels", [1, 2, 4])
def test_shapes_any_length(make, n, levels):
    net = make(levels, 3)
    assert net(torch.randn(2, 2, n)).shape == (2, 1, n)


def test_standard_unet_is_the_multigrid_unet_with_every_factor_switched():
    torch.manual_seed(0)
    std = StandardUNet(3, 4)
    mg = MultigridUNet(3, 4, **STANDARD)
    assert {k: v.shape for k, v in std.state_dict().items()} == \
        {k: v.shape for k, v in mg.state_dict().items()}
    mg.load_state_dict(std.state_dict())
    x = torch.randn(2, 2, 37)
    torch.testing.assert_close(mg(x), std(x), rtol=0, atol=0)


def test_each_switch_changes_one_part_of_the_standard_unet():
    c, k, levels = 4, 3, 3

    def count(**switches):
        return count_parameters(MultigridUNet(levels, c, **{**STANDARD, **switches}))

    base = count_parameters(StandardUNet(levels, c))
    # tied transfer: one scale instead of 3 C^2 weights per level (the up bias stays)
    assert base - count(share_transfer=True) == (levels - 1) * (3 * c * c - 1)
    # linear transfer: no bias down or up
    assert base - count(transfer="linear") == (levels - 1) * 2 * c
    # added skip: the first decoder convolution reads C instead of 2 C channels
    assert base - count(skip="add") == (levels - 1) * c * c * k
    # residual form (with the added skip it needs): one bias-free stencil per level
    assert count(skip="add", form="residual") - count(skip="add") == levels * c * c * k
    # residual blocks: the same weights, another function (identity path, no last ReLU)
    torch.manual_seed(0)
    plain = MultigridUNet(levels, c, **STANDARD)
    res = MultigridUNet(levels, c, **{**STANDARD, "block": "residual"})
    res.load_state_dict(plain.state_dict())
    x = torch.randn(2, 2, 16)
    assert not torch.allclose(res(x), plain(x))


def test_share_transfer_halves_transfer_weights():
    c, levels = 5, 3
    shared = MultigridUNet(levels, c, share_transfer=True)
    free = MultigridUNet(levels, c, share_transfer=False)
    transfer = 3 * c * c
    assert count_parameters(free) - count_parameters(shared) == (levels - 1) * (transfer - 1)


def test_shared_prolongation_is_scaled_adjoint_of_restriction():
    torch.manual_seed(0)
    net = MultigridUNet(2, 3).double()
    t = net.transfer[0]
    with torch.no_grad():
        t.prolong.scale.fill_(0.7)
    for n in (20, 21):
        x = torch.randn(1, 3, n, dtype=torch.float64)
        e = torch.randn(1, 3, (n + 1) // 2, dtype=torch.float64)
        lhs = 0.7 * (t.down(x) * e).sum()
        assert torch.allclose(lhs, (x * t.up(e, n)).sum())


def test_residual_form_restricts_the_residual():
    torch.manual_seed(0)
    net = MultigridUNet(3, 4, smoothing_blocks=2).double()
    seen = {"op_in": []}
    net.lift.register_forward_hook(lambda m, i, o: seen.update(b=o))
    net.op[0].register_forward_hook(lambda m, i, o: seen["op_in"].append(i[0]))
    net.transfer[0].restrict.register_forward_hook(lambda m, i, o: seen.update(r=i[0]))
    net(torch.randn(2, 2, 24, dtype=torch.float64))
    x = seen["op_in"][2]  # after the two pre-smoothing blocks: the residual's iterate
    with torch.no_grad():
        torch.testing.assert_close(seen["r"], seen["b"] - net.op[0](x))
    # the features form restricts the features after pre-smoothing
    feat = MultigridUNet(3, 4, form="features").double()
    assert feat.op is None
    feat.pre[0][0].register_forward_hook(lambda m, i, o: seen.update(x=o))
    feat.transfer[0].restrict.register_forward_hook(lambda m, i, o: seen.update(r=i[0]))
    feat(torch.randn(2, 2, 24, dtype=torch.float64))
    torch.testing.assert_close(seen["r"], seen["x"])


@pytest.mark.parametrize("make", FAMILIES)
def test_gradients_flow_to_every_parameter(make):
    torch.manual_seed(0)
    net = make(3, 4).double()
    with torch.no_grad():  # away from the initialisation, where residual branches are 0
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    net(torch.randn(2, 2, 33, dtype=torch.float64)).square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_initialisation_residual_blocks_start_as_identity():
    torch.manual_seed(0)
    mg, std = MultigridUNet(3, 16), StandardUNet(3, 16)
    for level in (*mg.pre, *mg.post):
        for block in level:
            assert not block.conv2.weight.any() and not block.conv2.bias.any()
    # a fresh features-form net passes its lifted input through every block unchanged
    feat = MultigridUNet(1, 4, form="features")
    x = torch.randn(2, 2, 16)
    with torch.no_grad():
        torch.testing.assert_close(feat(x), x[:, :1] + feat.head(feat.lift(x)))
    # plain blocks and the activated restriction: He (std sqrt(2 / fan_in)), zero bias
    conv = std.pre[0][0].conv2
    fan_in = conv.in_channels * conv.kernel_size[0]
    assert abs(conv.weight.std().item() / np.sqrt(2 / fan_in) - 1) < 0.15
    assert not conv.bias.any() and not std.transfer[0].restrict.bias.any()


def test_skips_added_or_concatenated():
    c = 4
    std, mg = StandardUNet(3, c), MultigridUNet(3, c)
    assert [s[0].conv1.in_channels for s in std.post] == [2 * c, 2 * c, c]
    assert [s[0].conv1.in_channels for s in mg.post] == [c, c, c]


def test_multiply_adds_closed_form():
    c, k, n, s = 3, 5, 40, 2
    one = MultigridUNet(1, c, kernel_size=k, smoothing_blocks=s, form="features")
    assert one.multiply_adds(n) == n * (2 * c * k + 2 * s * 2 * c * c * k + c)
    two = MultigridUNet(2, c, kernel_size=k, smoothing_blocks=1)
    m = n // 2
    convs = 2 * c * c * k  # one smoothing block
    expected = (n * 2 * c * k + n * c                        # lift, head
                + n * (2 * convs + 3 * c * c * k)            # fine: 2 blocks, 3 residuals
                + m * (2 * convs + 2 * c * c * k)            # coarse: 2 blocks, 2 residuals
                + 2 * m * 3 * c * c)                         # restriction, prolongation
    assert two.multiply_adds(n) == expected


@pytest.mark.parametrize("kind", ["multigrid", "standard"])
@pytest.mark.parametrize("budget", [1500, 6000, 20000])
def test_budget_helper_within_15_percent(kind, budget):
    net = unet_with_budget(kind, budget, levels=3)
    assert abs(count_parameters(net) - budget) <= 0.15 * budget


@pytest.mark.parametrize("switches", [{}, {"form": "features", "share_transfer": False},
                                      STANDARD])
def test_budget_helper_picks_the_nearest_channel_count(switches):
    counts = {c: count_parameters(MultigridUNet(3, c, **switches)) for c in range(1, 30)}
    for budget in (700, 2500, 9000):
        net = unet_with_budget("multigrid", budget, 3, **switches)
        best = min(counts, key=lambda c: (abs(counts[c] - budget), -c))  # ties: larger
        assert net.channels == best


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        MultigridUNet(2, 3, kernel_size=4)
    with pytest.raises(ValueError, match="activation"):
        StandardUNet(2, 3, activation="swish2")
    with pytest.raises(TypeError, match="factory"):
        MultigridUNet(2, 3, activation=torch.nn.ReLU())
    with pytest.raises(ValueError, match="levels"):
        MultigridUNet(0, 3)
    with pytest.raises(ValueError, match="kind"):
        unet_with_budget("resnet", 1000, levels=2)
    with pytest.raises(ValueError, match="skip"):
        MultigridUNet(2, 3, skip="concat")  # concatenation needs the features form
    for name in ("form", "transfer", "skip", "block"):
        with pytest.raises(ValueError, match=name):
            MultigridUNet(2, 3, **{name: "nope"})
    with pytest.raises(ValueError, match="share_transfer"):
        MultigridUNet(2, 3, share_transfer="yes")
    net = MultigridUNet(4, 3)
    with pytest.raises(ValueError, match="at least 8"):
        net(torch.zeros(1, 2, 7))
    with pytest.raises(ValueError, match="shape"):
        net(torch.zeros(1, 3, 16))
    with pytest.raises(TypeError, match="Tensor"):
        net([[0.0]])
    with pytest.raises(ValueError, match="x0"):
        net(torch.zeros(1, 2, 16), torch.zeros(1, 3, 16))
