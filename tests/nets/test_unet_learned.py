import pytest
import torch

from pdecore.nets import MultigridUNet, StandardUNet, unet_with_budget
from pdecore.train import count_parameters

NETS = [MultigridUNet, StandardUNet]


@pytest.mark.parametrize("cls", NETS)
@pytest.mark.parametrize("n", [8, 31, 64, 101])
@pytest.mark.parametrize("levels", [1, 2, 4])
def test_shapes_any_length(cls, n, levels):
    net = cls(levels, 3)
    x = torch.randn(2, 2, n)
    assert net(x).shape == (2, 1, n)


def test_share_transfer_halves_transfer_weights():
    c, levels = 5, 3
    shared = MultigridUNet(levels, c, share_transfer=True)
    free = MultigridUNet(levels, c, share_transfer=False)
    transfer = 3 * c * c
    assert count_parameters(free) - count_parameters(shared) == (levels - 1) * (transfer - 1)
    assert shared.prolong is None and shared.scale.shape == (levels - 1,)
    restrict = sum(p.numel() for p in shared.restrict.parameters())
    prolong_free = sum(p.numel() for p in free.prolong.parameters())
    assert restrict == prolong_free == (levels - 1) * transfer


def test_shared_prolongation_is_scaled_adjoint_of_restriction():
    torch.manual_seed(0)
    net = MultigridUNet(2, 3).double()
    with torch.no_grad():
        net.scale.fill_(0.7)
    r = net.restrict[0]
    x, e = torch.randn(1, 3, 20, dtype=torch.float64), torch.randn(1, 3, 10, dtype=torch.float64)
    pe = 0.7 * torch.nn.functional.conv_transpose1d(e, r.weight, stride=2, padding=1,
                                                    output_padding=1)
    assert torch.allclose((r(x) * e).sum() * 0.7, (x * pe).sum())


@pytest.mark.parametrize("cls", NETS)
def test_gradients_flow_to_every_parameter(cls):
    torch.manual_seed(0)
    net = cls(3, 4).double()
    net(torch.randn(2, 2, 33, dtype=torch.float64)).square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_standard_unet_concatenates_skips():
    c, levels = 4, 3
    net = StandardUNet(levels, c)
    assert len(net.decoders) == levels - 1
    for decoder in net.decoders:
        assert decoder[0].conv1.in_channels == 2 * c
    seen = {}
    net.decoders[0].register_forward_hook(lambda m, inp, out: seen.update(shape=inp[0].shape))
    net(torch.randn(1, 2, 16))
    assert seen["shape"] == (1, 2 * c, 16)


def test_multigrid_unet_adds_skips():
    net = MultigridUNet(3, 4)
    seen = {}
    net.post[0].register_forward_hook(lambda m, inp, out: seen.update(shape=inp[0].shape))
    net(torch.randn(1, 2, 16))
    assert seen["shape"] == (1, 4, 16)


@pytest.mark.parametrize("kind", ["multigrid", "standard"])
@pytest.mark.parametrize("budget", [1500, 6000, 20000])
def test_budget_helper_within_15_percent(kind, budget):
    net = unet_with_budget(kind, budget, levels=3)
    assert abs(count_parameters(net) - budget) <= 0.15 * budget


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
    net = MultigridUNet(4, 3)
    with pytest.raises(ValueError, match="at least 8"):
        net(torch.zeros(1, 2, 7))
    with pytest.raises(ValueError, match="shape"):
        net(torch.zeros(1, 3, 16))
    with pytest.raises(TypeError, match="Tensor"):
        net([[0.0]])
