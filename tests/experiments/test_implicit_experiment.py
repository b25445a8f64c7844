"""Experiment E3 (chapter 4): the reference, the solvers, the error theory and the contract.

Each test checks a property that could fail: the RK4 reference against the matrix
exponential, its fourth order, the Newton solver against the fixed point and the
semi-implicit closed form, the leading local errors against actual one-step errors, the
Jacobi spectral radius against a dense eigen-solver, and the numbers of ``run`` against
their definitions.
"""

import json

import numpy as np
import pytest
import scipy.linalg

import pdecore
from pdecore import results
from pdecore.diffusivities import get_diffusivity
from pdecore.experiments import implicit as im

LAM = 10.0
COST = im.COST_TIE_FACTOR


@pytest.fixture(scope="module")
def signal():
    return pdecore.add_noise(pdecore.piecewise_constant(48, 4, seed=3) * 100, 10.0, seed=4)


def _laplacian(n):
    d = pdecore.derivative_matrix(n).toarray()
    return d.T @ d


# --- the reference ---------------------------------------------------------------------


def test_rk4_reference_matches_matrix_exponential_and_is_fourth_order(signal):
    exact = scipy.linalg.expm(-3.0 * _laplacian(signal.size)) @ signal
    errs = [np.abs(im.reference_solution(signal, 3.0, "linear", tau=h) - exact).max()
            for h in (0.2, 0.1)]
    assert errs[1] < 1e-5 * np.abs(signal).max()
    assert 12 < errs[0] / errs[1] < 20  # 2^4 = 16


def test_linear_closed_form_by_dct_matches_matrix_exponential(signal):
    exact = scipy.linalg.expm(-5.0 * _laplacian(signal.size)) @ signal
    np.testing.assert_allclose(im._linear_exact(signal, 5.0), exact, atol=1e-10, rtol=0)


def test_reference_agrees_with_solve_ivp_for_perona_malik(signal):
    d = get_diffusivity("perona_malik")
    ivp = im._ivp_solution(signal, 4.0, d, LAM, 1e-11)
    rk4 = im.reference_solution(signal, 4.0, d, LAM, tau=0.02)
    assert np.abs(ivp - rk4).max() < 1e-6 * np.abs(signal).max()


# --- the solvers of one step -------------------------------------------------------------


def test_newton_step_solves_the_implicit_equation_and_matches_the_fixed_point(signal):
    fp = pdecore.implicit_fixed_point_step(signal, 0.1, "perona_malik", LAM, tol=1e-13)
    nt = im.implicit_newton_step(signal, 0.1, "perona_malik", LAM, tol=1e-13)
    assert fp.converged and nt.converged
    np.testing.assert_allclose(nt.u, fp.u, atol=1e-9 * np.abs(signal).max(), rtol=0)
    # beyond the fixed point's reach: the residual of the implicit equation itself
    for tau in (1.0, 5.0):
        r = im.implicit_newton_step(signal, tau, "perona_malik", LAM)
        res = r.u - signal - tau * pdecore.apply_adjoint(
            -pdecore.flux("perona_malik", pdecore.apply_derivative(r.u), LAM))
        assert r.converged
        assert np.linalg.norm(res) <= 1e-10 * np.linalg.norm(signal)


def test_newton_step_is_one_linear_solve_for_linear_diffusion(signal):
    r = im.implicit_newton_step(signal, 3.0, "linear")
    assert r.iterations == 1
    np.testing.assert_allclose(r.u, pdecore.semi_implicit_step(signal, 3.0, "linear"),
                               atol=1e-10, rtol=0)


def test_lean_kernels_match_the_library_steps(signal):
    d = get_diffusivity("perona_malik")
    w = np.empty(signal.size - 1)
    np.testing.assert_allclose(im._semi_step(signal, 2.0, d, LAM, w),
                               pdecore.semi_implicit_step(signal, 2.0, d, LAM), rtol=1e-13)
    v, its, ok = im._fixed_point(signal, 0.15, d, LAM, 1e-10, 500)
    ref = pdecore.implicit_fixed_point_step(signal, 0.15, d, LAM, tol=1e-10, maxiter=500)
    assert ok and its == ref.iterations
    np.testing.assert_allclose(v, ref.u, rtol=1e-13)


def test_fourth_order_lean_kernels_match_the_library_steps(signal):
    d = get_diffusivity("perona_malik")
    w = np.empty(signal.size - 2)
    np.testing.assert_allclose(im._semi_step(signal, 2.0, d, LAM, w, order=2),
                               pdecore.semi_implicit_step(signal, 2.0, d, LAM, order=2),
                               rtol=1e-13)
    step = im._stepper("explicit", d, LAM, 1e-10, 10, 10, signal.size, order=2)
    np.testing.assert_allclose(step(signal, 0.05)[0],
                               pdecore.explicit_step(signal, 0.05, d, LAM, order=2), rtol=1e-13)
    with pytest.raises(ValueError, match="order 1 only"):
        im._stepper("newton", d, LAM, 1e-10, 10, 10, signal.size, order=2)


@pytest.mark.parametrize("order", [1, 2])
def test_linear_semi_implicit_steps_factorise_once_and_match_the_library(signal, order):
    d = get_diffusivity("linear")
    step = im._stepper("semi", d, 1.0, 1e-10, 10, 10, signal.size, order=order)
    u = signal
    for tau in (0.3, 2.0, 0.3):  # a cached factorisation must belong to its tau
        expected = pdecore.semi_implicit_step(u, tau, "linear", order=order)
        u = step(u, tau)[0]
        np.testing.assert_allclose(u, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("config", list(im.CONFIGS))
def test_fourth_order_grids_hold_the_largest_stable_explicit_step(config):
    """The explicit competitor at its best: T / ceil(T / tau_max) is on the grid."""
    cfg = im.CONFIGS[config]
    limit = pdecore.stability_limit(512, order=2)
    fewest = int(np.ceil(cfg["T"] / limit))
    assert fewest in {max(1, round(cfg["T"] / t)) for t in cfg["m2_taus"]}
    assert cfg["T"] / fewest <= limit


def test_fourth_order_references_match_the_matrix_exponential(signal):
    """m = 2: the eigen-decomposition closed form and RK4 against scipy's expm of D2'D2."""
    d2 = np.diff(np.eye(signal.size), 2, axis=0)
    exact = scipy.linalg.expm(-3.0 * d2.T @ d2) @ signal
    np.testing.assert_allclose(im._linear_exact(signal, 3.0, order=2), exact, atol=1e-9,
                               rtol=0)
    rk4 = [im._rk4(signal, [3.0], get_diffusivity("linear"), 1.0, h, 1.0, 2)[0]
           for h in (0.04, 0.02)]
    errs = [np.abs(r - exact).max() for r in rk4]
    assert errs[1] < 1e-4 * np.abs(signal).max()
    assert 12 < errs[0] / errs[1] < 20  # fourth order


def test_jacobi_radius_matches_dense_eigenvalues_and_jacobi_matches_dptsv(signal):
    rows = im.jacobi_sweep(signal, (0.3, 4.0), "perona_malik", LAM, repeats=1)
    for row in rows:
        dense = pdecore.semi_implicit_jacobi(signal, row["tau"], "perona_malik", LAM,
                                             maxiter=1).contraction
        assert row["rho"] == pytest.approx(dense, rel=1e-10)
        assert row["converged"] and row["deviation"] < 1e-8
    assert rows[0]["rho"] < rows[1]["rho"] < 1
    assert rows[0]["iterations"] < rows[1]["iterations"]


# --- the error theory --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["perona_malik", "charbonnier"])
def test_local_error_terms_are_the_leading_one_step_errors(signal, name):
    u = im.reference_solution(signal, 2.0, name, LAM, tau=0.02)  # a smooth state
    terms = im.local_error_terms(u, name, LAM)
    rel = {}
    for tau in (4e-3, 2e-3):
        exact = im.reference_solution(u, tau, name, LAM, tau=tau / 8)
        steps = {"explicit": pdecore.explicit_step(u, tau, name, LAM),
                 "semi": pdecore.semi_implicit_step(u, tau, name, LAM),
                 "implicit": im.implicit_newton_step(u, tau, name, LAM, tol=1e-14).u}
        for k, v in steps.items():
            pred = 0.5 * tau**2 * terms[k]
            rel[k, tau] = np.linalg.norm(v - exact - pred) / np.linalg.norm(pred)
    for k in ("explicit", "semi", "implicit"):
        assert rel[k, 2e-3] < 0.05
        assert rel[k, 2e-3] < 0.7 * rel[k, 4e-3]  # the remainder is O(tau^3)


def test_semi_implicit_weight_equals_explicit_one_only_for_linear_diffusion(signal):
    lin = im.local_error_terms(signal, "linear")
    np.testing.assert_allclose(lin["semi"], lin["implicit"], atol=1e-9)
    pm = im.local_error_terms(signal, "perona_malik", LAM)
    assert np.linalg.norm(pm["semi"]) > 1.5 * np.linalg.norm(pm["explicit"])


# --- one comparison and the experiment -----------------------------------------------------


def test_scheme_comparison_first_order_and_opposite_errors(signal):
    runs = im.scheme_comparison(signal, 4.0, (0.02, 0.04), "perona_malik", LAM)
    assert {r.scheme for r in runs} == set(im.SCHEMES)
    by = {(r.scheme, round(r.tau, 6)): r for r in runs}
    for s in im.SCHEMES:
        ratio = by[s, 0.04].rmse / by[s, 0.02].rmse
        assert 1.8 < ratio < 2.2, (s, ratio)  # first order
    assert by["explicit", 0.02].rmse == pytest.approx(by["newton", 0.02].rmse, rel=0.05)
    assert by["fixpoint", 0.02].rmse == pytest.approx(by["newton", 0.02].rmse, rel=1e-4)


def test_cost_verdict_rule():
    assert "cheapest, 3.0 times faster than the explicit" in im._cost_verdict(
        {"explicit": 3.0, "semi": 1.0})
    assert "about the same" in im._cost_verdict({"explicit": 1.0, "semi": 1.9})
    assert "only the explicit" in im._cost_verdict({"explicit": 1.0})
    assert "no scheme" in im._cost_verdict({})


def test_configs_share_keys_and_overrides_are_checked():
    assert set(im.CONFIGS) == set(results.CONFIG_NAMES)
    keys = set(im.CONFIGS["default"])
    assert all(set(c) == keys for c in im.CONFIGS.values())
    with pytest.raises(ValueError, match="nonsense"):
        im.run("quick", nonsense=1)
    with pytest.raises(ValueError, match="taus"):
        im.run("quick", taus=(0.5, 1.0))


SMALL = dict(taus=(0.05, 0.1, 2.0), accuracies=(1.0, 0.1), repeats=1, repeat_below_s=0.0,
             local_samples=2, m2_taus=(0.02, 0.05, 0.125, 1.0),
             sweep_taus=(0.1, 0.5), jacobi_taus=(0.1, 5.0), ivp_rtol=1e-9)


@pytest.fixture(scope="module")
def small_run():
    return im.run("quick", **SMALL)


def test_run_numbers_follow_their_definitions(small_run, tmp_path):
    res, n = small_run, small_run.numbers()
    assert res.seeds == (0,) and res.f.size == 512
    for model, m in (("linear", "lin"), ("perona_malik", "pm")):
        ref = res.references[model]
        assert n[f"ref_ratio_pct_{m}"] < 1.0  # converged to 1 % of the smallest error
        ok = [r.rmse for r in res.runs[model] if r.ok]
        assert n[f"min_err_{m}"] == pytest.approx(min(ok))
        assert ref.ivp_deviation < 0.01 * n[f"min_err_{m}"]
        for s in ("explicit", "semi", "newton"):
            assert n[f"order_{m}_{s}"] == pytest.approx(1.0, abs=0.05)
        assert n[f"sym_{m}"] < 0.05
    assert n["ref_exact_dev_lin"] < 1e-6
    assert n["semi_impl_dev_lin"] < 1e-6
    assert n["acc_word_lin_semi"] == "about as accurate as"
    assert n["acc_word_pm_semi"] == "less accurate than"
    assert n["acc_ratio_pm_semi"] > 2
    assert n["local_ratio_min_lin"] == pytest.approx(1.0)
    assert n["exp_min_steps"] == int(np.ceil(20.0 / res.tau_explicit))
    # the explicit run at tau = 2 diverges for linear diffusion; the semi-implicit one not
    assert n["exp_big_ratio_lin"] > 1 and n["semi_max_ratio"] <= 1 + 1e-12
    # every value is a finite scalar or a string, and the results file round-trips
    path = results.write_results("04_implicit_rnn", n, parameters={}, quick=True,
                                 seeds=res.seeds, folder=tmp_path)
    assert json.loads(path.read_text())["numbers"]["acc_word_pm_semi"] == "less accurate than"


def test_fourth_order_numbers_follow_their_definitions(small_run):
    res, n = small_run, small_run.numbers()
    assert res.m2_tau_explicit == pytest.approx(pdecore.stability_limit(512, order=2))
    assert n["m2_exp_min_steps"] == int(np.ceil(20.0 / res.m2_tau_explicit))
    for model, m in (("linear", "lin"), ("perona_malik", "pm")):
        assert res.schemes(model, 2) == ["explicit", "semi"]
        assert n[f"m2_ref_ratio_pct_{m}"] < 1.0
        assert n[f"m2_ref_ivp_dev_{m}"] < 0.01 * n[f"m2_min_err_{m}"]
        for s in ("explicit", "semi"):
            assert n[f"m2_order_{m}_{s}"] == pytest.approx(1.0, abs=0.05)
        # the semi-implicit runs never grow the norm, at every step size
        assert max(r.norm_ratio for r in res.m2_runs[model] if r.scheme == "semi") <= 1 + 1e-12
    assert n["m2_ref_exact_dev_lin"] < 1e-6
    # linear: semi-implicit = fully implicit, equal and opposite to explicit to leading order
    assert n["m2_acc_word_lin_semi"] == "about as accurate as"
    # tau = 1 is 8x the explicit limit: linear fourth-order diffusion blows up there
    assert n["m2_exp_big_ratio_lin"] > 10 and n["m2_exp_largest_stable_tau_lin"] < 0.13
    assert n["m2_order_word"] == "both are first order again"
    assert n["m2_ref_word"].startswith("converged")
    assert n["m2_cells"] == n["m2_semi_faster"] + n["m2_semi_slower"] + sum(
        1 / COST <= n[k] <= COST for k in n if k.startswith("m2_semi_vs_exp_time_"))
    with pytest.raises(ValueError, match="m2_taus"):
        im.run("quick", m2_taus=(0.5, 1.0))


def test_run_is_deterministic_apart_from_wall_times(small_run):
    again = im.run("quick", **SMALL).numbers()
    timing = ("time_", "cost_verdict", "semi_vs_exp_time", "semi_step_cost", "jac_time",
              "semi_faster", "semi_slower")
    for k, v in small_run.numbers().items():
        if not k.removeprefix("m2_").startswith(timing):
            assert again[k] == v, k
