"""Experiment E7 (pdecore.experiments.skip_connections) at a toy size."""

import numpy as np
import pytest
import torch
from torch import nn

from pdecore.experiments import skip_connections as sk
from pdecore.experiments.denoising import denoising_splits

TOY = {"n": 32, "n_train": 16, "n_val": 8, "n_test": 8, "epochs": 2, "budget": 60,
       "depth": 3, "lr_grid": (3e-3, 3e-2)}


@pytest.fixture(scope="module")
def toy():
    return sk.run("quick", **TOY)


def test_every_variant_on_every_seed_at_its_validation_rate(toy):
    assert toy.seeds == (0, 1)
    assert len(toy.rows) == len(sk.VARIANTS) * 2
    for v in sk.VARIANTS:
        rows = toy.of(v)
        assert [r.seed for r in rows] == [0, 1]
        # the rate is the one with the lowest validation RMSE on the first seed
        best = min(TOY["lr_grid"], key=lambda lr: toy.lr_val[(v, lr)])
        assert all(r.lr == best for r in rows)
        assert rows[0].val_rmse == toy.lr_val[(v, best)]


def test_equal_budget_equal_depth_and_the_cost_of_width(toy):
    params = {v: toy.of(v)[0].params for v in sk.VARIANTS}
    # the budget is a target: every network is within one filter's worth of it
    equal = [v for v in sk.VARIANTS if v != "recurrent_narrow"]
    assert all(abs(params[v] - TOY["budget"]) <= 12 for v in equal), params
    hidden = {v: toy.of(v)[0].hidden for v in sk.VARIANTS}
    assert hidden["fed"] == hidden["fsi"] == hidden["resnet"] == hidden["recurrent_narrow"]
    assert hidden["recurrent"] > TOY["depth"] * hidden["resnet"] / 2  # one wide block
    # the narrow recurrent network: the ResNet's multiply-adds, one block's parameters
    narrow, resnet = toy.of("recurrent_narrow")[0], toy.of("resnet")[0]
    assert narrow.macs == resnet.macs
    assert narrow.params < resnet.params / 2
    assert isinstance(narrow.model, sk.DiffusionNet) and narrow.model.skip == "recurrent"
    for v in sk.VARIANTS:  # W and W^T in each of the depth steps, 30 outputs of k = 3
        r = toy.of(v)[0]
        assert r.macs == TOY["depth"] * 2 * r.hidden * 3 * (TOY["n"] - 2)


def test_the_resnet_is_non_expansive_and_the_numbers_are_consistent(toy):
    assert all(r.norm_ratio <= 1 + 1e-12 for r in toy.of("resnet"))
    nums = toy.numbers()
    for v in sk.VARIANTS:
        scores = toy.scores(v)
        assert nums[f"e7_{v}_rmse"] == pytest.approx(scores.mean())
        assert nums[f"e7_{v}_rmse_std"] == pytest.approx(scores.std(ddof=1))
    for v in ("fed", "fsi", "recurrent", "recurrent_narrow"):
        assert nums[f"e7_{v}_cmp"] == toy.compare(v) in ("better", "worse", "tie")
    assert nums["e7_wins"] + nums["e7_losses"] <= nums["e7_n_compared"] == 4


def test_a_rerun_gives_the_same_numbers(toy):
    again = sk.run("quick", **TOY)
    assert again.numbers() | {k: 0 for k in again.numbers() if k.endswith("_spe")} == \
        toy.numbers() | {k: 0 for k in toy.numbers() if k.endswith("_spe")}


class _Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = nn.Parameter(torch.tensor(float(factor), dtype=torch.float64))

    def forward(self, u):
        return self.factor * u


@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0])
def test_output_norm_ratio_of_a_scaling(factor):
    X = np.random.default_rng(0).standard_normal((4, 1, 16))
    assert sk.output_norm_ratio(_Scale(factor), X) == pytest.approx(factor, rel=1e-12)


def test_train_variant_scores_the_test_split_once():
    splits = denoising_splits(16, 8, 4, seed=2, n_val=4)
    row = sk.train_variant("fsi", splits, budget=40, depth=2, epochs=1, lr=1e-2, seed=2)
    assert row.variant == "fsi" and row.seed == 2 and len(row.history.train_loss) == 1
    with torch.no_grad():
        out = row.model(torch.as_tensor(splits.test.X))
    rmse = float(torch.sqrt(torch.mean((out - torch.as_tensor(splits.test.y)) ** 2)))
    assert row.test_rmse == pytest.approx(rmse, rel=1e-10)


def test_a_rate_that_diverges_is_no_candidate(monkeypatch):
    real = sk.train_variant

    def diverges_at_half(variant, splits, *, lr, **kw):
        if lr == 0.5:
            raise FloatingPointError("training diverged")
        return real(variant, splits, lr=lr, **kw)

    monkeypatch.setattr(sk, "train_variant", diverges_at_half)
    res = sk.run("quick", **(TOY | {"lr_grid": (1e-2, 0.5)}))
    for v in sk.VARIANTS:
        assert res.lr_val[(v, 0.5)] == float("inf")
        assert all(r.lr == 1e-2 for r in res.of(v))
    with pytest.raises(FloatingPointError, match="every rate"):
        sk.run("quick", **(TOY | {"lr_grid": (0.5,), "variants": ("resnet",)}))
