import json

import numpy as np
import pytest
import torch

import pdecore
from pdecore import results
from pdecore.experiments import multigrid_convergence, multigrid_learning
from pdecore.experiments.multigrid_learning import (
    VARIANTS,
    LearningResult,
    LearningRow,
    learning_data,
    learning_experiment,
    learning_splits,
    vcycle_errors,
    vcycles_to_match,
)
from pdecore.nets import unet_with_budget
from pdecore.nets.unet import UNET_FACTORS
from pdecore.train import History


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_learning_data_targets_are_semi_implicit_steps():
    d = learning_data(3, 40, tau=5.0, seed=2)
    assert d.X.shape == (3, 2, 40) and d.y.shape == (3, 1, 40)
    assert np.all((d.lam >= 0.05) & (d.lam <= 0.5))
    assert np.all(d.X[:, 1] == d.lam[:, None])
    u = pdecore.semi_implicit_step(d.X[1, 0], 5.0, "perona_malik", d.lam[1])
    assert np.allclose(d.y[1, 0], u, atol=1e-14)
    with pytest.raises(ValueError, match="lam_range"):
        learning_data(3, 40, lam_range=(0.5, 0.1))


def test_splits_are_independent_draws():
    sp = learning_splits(32, 6, 5, seed=1, n_val=4)
    assert [d.X.shape[0] for d in (sp.train, sp.val, sp.test)] == [6, 4, 5]
    firsts = [d.X[0, 0] for d in (sp.train, sp.val, sp.test)]
    assert not np.allclose(firsts[0], firsts[1]) and not np.allclose(firsts[1], firsts[2])
    again = learning_splits(32, 6, 5, seed=1, n_val=4)
    assert np.array_equal(again.test.X, sp.test.X)
    other = learning_splits(32, 6, 5, seed=2, n_val=4)
    assert not np.allclose(other.train.X, sp.train.X)


def test_variants_form_a_one_factor_chain():
    names = list(VARIANTS)
    assert names[0] == "multigrid" and names[-1] == "standard"
    assert [VARIANTS[v][2] for v in names[1:]] == list(UNET_FACTORS)

    def design(name):
        kind, switches, _ = VARIANTS[name]
        net = unet_with_budget(kind, 500, 2, **switches)
        return {"form": net.form, "share_transfer": net.share_transfer,
                "transfer": net.transfer_kind, "skip": net.skip, "block": net.block}

    designs = [design(v) for v in names]
    assert designs[0] == {f: v[0] for f, v in UNET_FACTORS.items()}
    assert designs[-1] == {f: v[1] for f, v in UNET_FACTORS.items()}
    for prev, cur, name in zip(designs[:-1], designs[1:], names[1:], strict=True):
        changed = [f for f in prev if prev[f] != cur[f]]
        assert changed == [VARIANTS[name][2]]


def test_tiny_run_returns_rows_with_decreasing_finite_losses():
    rows = learning_experiment([600], n=32, n_train=16, n_val=8, n_test=8, epochs=5, levels=3,
                               batch_size=8, seed=0, timing_repeats=1)
    assert [r.variant for r in rows] == ["multigrid", "standard"]
    for r in rows:
        assert abs(r.params - 600) <= 0.3 * 600
        losses = np.array(r.history.train_loss)
        assert np.isfinite(losses).all() and np.isfinite(r.history.val_loss).all()
        assert losses[-1] < losses[0]
        assert np.isfinite(r.test_rmse) and r.test_rmse > 0 and r.seconds_per_solve > 0
        assert r.val_rmse == pytest.approx(np.sqrt(r.history.val_loss[-1]))
        net = unet_with_budget(VARIANTS[r.variant][0], 600, 3)
        assert r.macs == net.multiply_adds(32) and r.channels == net.channels
    with pytest.raises(ValueError, match="kinds"):
        learning_experiment([600], kinds=("resnet",), n=32, n_train=4, n_test=4, epochs=1)


def test_vcycle_errors_match_multigrid_solve():
    d = learning_data(2, 64, seed=1)
    errors = vcycle_errors(d, 4)
    assert np.all(np.diff(errors) < 0)
    k = 3
    sq = 0.0
    for f, u, lam in zip(d.X[:, 0], d.y[:, 0], d.lam, strict=True):
        A = pdecore.Tridiagonal.from_bands(
            pdecore.semi_implicit_matrix_bands(f, d.tau, "perona_malik", lam))
        x, _ = pdecore.multigrid_solve(A, f, tol=0, maxiter=k, smoother="jacobi",
                                       interpolation="linear")
        sq += np.sum((x - u) ** 2)
    assert errors[k] == pytest.approx(np.sqrt(sq / d.y.size), rel=1e-10)
    assert vcycles_to_match(errors[2], d, 4) == 2
    assert vcycles_to_match(0.0, d, 2) is None
    # operator-dependent interpolation with red-black smoothing: exact after one cycle
    exact = vcycle_errors(d, 1, interpolation="operator", smoother="rbgs", levels=4)
    assert exact[1] < 1e-12 * exact[0]
    with pytest.raises(ValueError, match="smoother"):
        vcycle_errors(d, 1, smoother="sor")


def _row(variant, budget, seed, rmse):
    h = History(train_loss=[1.0], val_loss=[rmse**2])
    return LearningRow(variant, budget, seed, 100, 2, 1000, rmse, rmse, 1e-5, 1e-2, h)


def _fake_result(scores, seeds=(0, 1, 2), budgets=(10, 20), ablation_budget=10):
    """A LearningResult with given test RMSE per (variant, budget): list over seeds."""
    rows = [_row(v, b, s, x) for (v, b), xs in scores.items()
            for s, x in zip(seeds, xs, strict=True)]
    cfg = dict(multigrid_learning.CONFIGS["quick"], seeds=seeds, budgets=budgets,
               ablation_budget=ablation_budget)
    sp = learning_splits(16, 2, 2, seed=0, n_val=2)
    vc = np.array([[1.0, 0.1, 0.01, 0.001]] * len(seeds))
    timings = {"dptsv": 2e-5, "dptsv_lapack": 1e-6, "mg1": 1e-4,
               "vcycle": np.array([1e-5, 2e-5, 3e-5, 4e-5]), "mg1_rmse": 1e-17}
    lrs = dict.fromkeys(VARIANTS, 1e-2)
    return LearningResult(cfg, seeds, (sp,) * len(seeds), tuple(rows), "jacobi",
                          {"jacobi": vc, "rbgs": vc}, vc, timings, lrs, {})


def test_numbers_count_wins_by_the_paired_rule():
    chain = list(VARIANTS)
    scores = {
        ("multigrid", 10): [1.0, 1.1, 0.9], ("standard", 10): [2.0, 2.2, 2.1],  # clear win
        ("multigrid", 20): [1.0, 3.0, 1.0], ("standard", 20): [2.0, 1.0, 2.0],  # spread: tie
    }
    # ablation at budget 10: each step's factor, better / worse / tie in turn
    ablation = {"features": [3.0, 3.1, 2.9], "untied": [1.0, 1.2, 1.1],
                "affine": [1.0, 3.0, 1.0], "concat": [5.0, 5.1, 5.2]}
    for name, xs in ablation.items():
        scores[(name, 10)] = xs
    res = _fake_result(scores)
    num = res.numbers()
    assert (num["e4_wins"], num["e4_losses"], num["e4_ties"], num["e4_pairs"]) == (1, 0, 1, 2)
    assert num["e4_b1_cmp"] == "better" and num["e4_b2_cmp"] == "tie"
    assert num["e4_verdict"] == "the multigrid U-net is more accurate at 1 of 2 budgets, tied at 1"
    assert num["e4_b1_mg_rmse"] == pytest.approx(1.0)
    assert num["e4_b1_mg_rmse_std"] == pytest.approx(0.1)
    expected = {}
    for prev, name in zip(chain[:-1], chain[1:], strict=True):
        verdict = results.paired_comparison(scores[(prev, 10)], scores[(name, 10)])
        expected[VARIANTS[name][2]] = multigrid_learning.FACTOR_WORDS[verdict]
    for factor, word in expected.items():
        assert num[f"abl_{factor}"] == word
    assert num["abl_form"] == "helps" and num["abl_share_transfer"] == "hurts"
    assert num["abl_helps"].startswith("the residual form")
    assert "tied transfer" in num["abl_hurts"]
    # the best net is chosen on validation RMSE (= test here): multigrid at budget 10
    assert (num["best_variant"], num["best_budget"]) == ("multigrid", 10)
    assert num["best_rmse"] == pytest.approx(1.0)
    assert num["vc_match"] == 1 and num["best_vs_dptsv"] == "faster and less accurate"
    json.dumps(num)  # plain scalars only


def test_numbers_all_wins_and_a_match():
    scores = {(v, 10): [0.005 * (i + 1)] * 2 for i, v in enumerate(VARIANTS)}
    scores[("multigrid", 10)] = [0.005, 0.0051]
    scores[("standard", 20)] = [0.05, 0.06]
    scores[("multigrid", 20)] = [0.004, 0.0041]
    num = _fake_result(scores, seeds=(3, 4)).numbers()
    assert num["e4_wins"] == num["e4_pairs"] == 2
    assert num["e4_verdict"] == "the multigrid U-net is more accurate at every budget"
    assert num["vc_match"] == 3 and num["vc_match_text"] == "3 V-cycles"
    assert num["t_vc_match_us"] == pytest.approx(40.0)
    assert num["best_vs_vc"].startswith("faster than 3 V-cycles")


def test_run_quick_shape_and_contract(tmp_path):
    res = multigrid_learning.run("quick", seeds=(0, 1), budgets=(300,), ablation_budget=300,
                                 n=16, levels=2, n_train=8, n_val=4, n_test=4, epochs=2,
                                 decay_epochs=1, max_cycles=2, timing_repeats=1)
    assert res.seeds == (0, 1) and len(res.splits) == 2
    assert len(res.rows) == 2 * len(VARIANTS)
    # each variant's learning rate is the grid value with the lowest validation RMSE
    for variant in VARIANTS:
        vals = {lr: res.lr_val[(variant, lr)] for lr in res.config["lr_grid"]}
        assert res.lrs[variant] == min(vals, key=vals.get)
        assert all(r.lr == res.lrs[variant] for r in res.rows if r.variant == variant)
    num = res.numbers()
    assert num["e4_pairs"] == 1 and num["e4_wins"] + num["e4_losses"] + num["e4_ties"] == 1
    assert num["rmse_mg1"] < 1e-12 and num["t_dptsv_us"] > 0 and num["t_mg1_us"] > 0
    assert res.vcycle_test.shape == (2, 3)
    path = results.write_results("05_multigrid_unet", num, parameters={}, quick=True,
                                 seeds=res.seeds, folder=tmp_path)
    assert results.read_results(path)["numbers"]["e4_pairs"] == 1
    assert "multigrid U-net" in res.table("sweep") and "standard U-net" in res.table("ablation")
    with pytest.raises(ValueError, match="seeds"):
        multigrid_learning.run("quick", seeds=())
    with pytest.raises(ValueError, match="dtype"):
        multigrid_learning.run("quick", dtype="float16")


def test_convergence_run_numbers():
    res = multigrid_convergence.run("quick", sizes=(256, 1024), lams=(0.05,),
                                    equivalence_n=300)
    num = res.numbers()
    assert num["unet_dev"] < 1e-12 and num["n_max"] == 1024 and num["n_min"] == 256
    assert num["f_op_rb"] < 1e-10 < num["f_op_jac"] < 0.2 < num["f_lin_jac"]
    assert set(res.deviations) == {"linear/jacobi", "linear/rbgs", "operator/jacobi",
                                   "operator/rbgs"}
    assert len(res.rows) == 2 * 4
    with pytest.raises(ValueError, match="lams"):
        multigrid_convergence.run("quick", lams=(-1.0,))
