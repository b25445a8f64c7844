"""Tests for pdecore.nets._checks: the private tensor checks and the oneDNN switch.

The modules' forward passes are checked against every bad input in
tests/test_validation_extras.py; here the helpers themselves, and that they stay private.
"""

import numpy as np
import pytest
import torch

import pdecore.nets
from pdecore.nets._checks import (
    check_float_tensor,
    check_image_tensor,
    check_signal_tensor,
    check_weight,
    onednn_guard,
)

PRIVATE = ("check_signal_tensor", "check_image_tensor", "onednn_guard")


@pytest.mark.parametrize("name", PRIVATE)
def test_helpers_are_not_exported(name):
    modules = [pdecore.nets] + [getattr(pdecore.nets, m) for m in pdecore.nets.__all__
                                if isinstance(getattr(pdecore.nets, m), type(pdecore.nets))]
    assert all(name not in module.__all__ for module in modules)


@pytest.mark.parametrize(("u", "kwargs", "exc", "match"), [
    (np.zeros((1, 1, 4)), {}, TypeError, r"^u must be a torch.Tensor of shape \(batch, 1, N\)"),
    (torch.zeros(1, 1, 4, dtype=torch.int64), {}, TypeError, "^u must be a floating-point"),
    (torch.zeros(1, 4), {}, ValueError, r"^u must have shape \(batch, 1, N\), got \(1, 4\)"),
    (torch.zeros(1, 2, 4), {}, ValueError, r"^u must have shape \(batch, 1, N\)"),
    (torch.zeros(1, 1, 1), {}, ValueError, "^u needs at least 2 grid points, got 1"),
    (torch.zeros(1, 1, 4), {"dtype": torch.float64}, TypeError,
     r"^u has dtype torch.float32 but the module's weights are torch.float64"),
])
def test_check_signal_tensor(u, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        check_signal_tensor(u, 1, 2, **kwargs)
    check_signal_tensor(torch.zeros(3, 1, 2), 1, 2, dtype=torch.float32)  # a good one
    with pytest.raises(ValueError, match="^b needs"):  # the name labels the message
        check_signal_tensor(torch.zeros(3, 1, 1), 1, 2, "b")


@pytest.mark.parametrize(("x", "kwargs", "exc", "match"), [
    (np.zeros((1, 1, 4, 4)), {}, TypeError, r"^x must be a torch.Tensor of shape"),
    (torch.zeros(1, 4, 4), {}, ValueError, r"^x must have shape \(batch, 1, H, W\)"),
    (torch.zeros(1, 1, 4, 3), {"min_size": 4}, ValueError, "^x must be at least 4x4 pixels"),
    (torch.zeros(1, 1, 4, 4, dtype=torch.float64), {"dtype": torch.float32}, TypeError,
     "^x has dtype torch.float64"),
])
def test_check_image_tensor(x, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        check_image_tensor(x, 1, **kwargs)
    check_image_tensor(torch.zeros(2, 1, 4, 4), 1, min_size=4, dtype=torch.float32)


def test_check_float_tensor_and_weight():
    with pytest.raises(TypeError, match="^s must be a floating-point torch.Tensor, got list"):
        check_float_tensor([1.0], "s")
    with pytest.raises(TypeError, match="got dtype torch.int32"):
        check_float_tensor(torch.ones(2, dtype=torch.int32), "s")
    with pytest.raises(ValueError, match=r"^weight must have shape \(C_out, C_in, k1, k2\)"):
        check_weight(torch.ones(1, 1, 3), 4)
    with pytest.raises(TypeError, match="^weight must be a floating-point"):
        check_weight(torch.ones(1, 1, 3, dtype=torch.int64), 3)
    check_weight(torch.ones(1, 1, 3, dtype=torch.int64), 3, floating=False)


def test_onednn_guard_only_for_float32_on_the_cpu():
    with pytest.raises(TypeError, match="^u must be a torch.Tensor"):
        onednn_guard(np.zeros(3))
    before = torch.backends.mkldnn.enabled
    with onednn_guard(torch.zeros(3, dtype=torch.float32)):
        assert torch.backends.mkldnn.enabled is False
    assert torch.backends.mkldnn.enabled == before
    with onednn_guard(torch.zeros(3, dtype=torch.float64)):
        assert torch.backends.mkldnn.enabled == before
