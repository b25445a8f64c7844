"""Tests for E2 (pdecore.experiments.acceleration): references, speed-up bookkeeping."""

import math

import numpy as np
import pytest

import pdecore
from pdecore.experiments import acceleration as acc
from pdecore.results import CONFIG_NAMES


@pytest.fixture
def signal():
    return pdecore.add_noise(pdecore.piecewise_constant(64, 4, seed=1) * 10, 1.0, seed=2)


# --- references -----------------------------------------------------------------------


def test_reference_matches_exact_linear_solution(signal):
    """RK4 against exp(-T A) f from the eigendecomposition, an independent solution."""
    times = [1.0, 5.0, 20.0]
    ref = acc.reference_solution(signal, times, "linear", tau=0.125)
    for T, u in zip(times, ref, strict=True):
        assert np.abs(u - acc.linear_exact(signal, T)).max() < 1e-4
    # fourth order: halving the step reduces the error about 16-fold
    coarse = acc.reference_solution(signal, [5.0], "linear", tau=0.25)[0]
    fine = acc.reference_solution(signal, [5.0], "linear", tau=0.125)[0]
    exact = acc.linear_exact(signal, 5.0)
    ratio = np.abs(coarse - exact).max() / np.abs(fine - exact).max()
    assert 12 < ratio < 25  # 2^4 = 16 asymptotically


def test_linear_exact_conserves_mean_and_tends_to_it(signal):
    u = acc.linear_exact(signal, 3.0)
    assert u.mean() == pytest.approx(signal.mean(), abs=1e-10)
    np.testing.assert_allclose(acc.linear_exact(signal, 1e6), signal.mean(), atol=1e-8)


def test_reference_bad_input(signal):
    with pytest.raises(ValueError, match="times"):
        acc.reference_solution(signal, [2.0, 1.0], "linear")
    with pytest.raises(ValueError, match="tau"):
        acc.reference_solution(signal, [1.0], "linear", tau=1.0)


# --- schemes and runs -----------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["FED", "FSI", "FED-step", "FSI-step"])
def test_cycle_length_one_is_an_explicit_run(signal, scheme):
    """M cycles of length 1 are M explicit steps of size T/M (the shortcut E2 takes)."""
    T, tau_max = 6.0, pdecore.stability_limit(64)
    m = 20
    assert pdecore.fed_cycle_length(T, tau_max, m) == 1
    got = acc.run_scheme(signal, T, scheme, m, "perona_malik", 2.0, tau_max)
    expected = pdecore.explicit_evolution(signal, T / m, m, "perona_malik", 2.0).u
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    assert acc.scheme_steps(scheme, m, T, tau_max) == m


def test_scheme_steps_counts_cycles_times_length():
    T, tau_max = 50.0, 0.5
    for m in (1, 2, 3, 7):
        n = pdecore.fed_cycle_length(T, tau_max, m)
        assert acc.scheme_steps("FED", m, T, tau_max) == m * n
        assert tau_max * m * (n * n + n) / 3 >= T * (1 - 1e-12)
    assert acc.scheme_steps("explicit", 17, T, tau_max) == 17
    with pytest.raises(ValueError, match="scheme"):
        acc.scheme_steps("RK4", 3, T, tau_max)


def test_segments_partition_the_cycle_counts():
    study = acc._Study(np.zeros(64), 37.3, np.zeros(64), "linear", 1.0, 0.5, 64)
    segs = study.segments()
    assert segs[0][1] == 1 and segs[-1][0] == 1
    for (n, a, b), (n2, a2, _) in zip(segs, segs[1:], strict=False):
        assert n2 < n and a2 == b + 1
        for m in range(a, b + 1):
            assert pdecore.fed_cycle_length(37.3, 0.5, m) == n


# --- the speed-up ---------------------------------------------------------------------


@pytest.fixture
def study(signal):
    T = 5.0
    ref = acc.reference_solution(signal, [T], "linear", tau=0.125)[0]
    points, speedups = acc.work_study(signal, T, ref, "linear", levels=(0.3, 0.03),
                                      grid_ratio=2.0**0.5, max_work=32, timing_repeats=0)
    return signal, T, ref, points, speedups


def test_cheapest_runs_are_minimal_by_brute_force(study):
    """The bisection finds the fewest explicit steps and the cheapest FED run exactly."""
    signal, T, ref, points, speedups = study
    tau_max = pdecore.stability_limit(signal.size)
    n0 = math.ceil(T / tau_max)

    def err(scheme, p):
        u = acc.run_scheme(signal, T, scheme, p, "linear", 1.0, tau_max)
        return float(np.sqrt(np.mean((u - ref) ** 2)))

    for sp in speedups:
        if sp.scheme != "FED":
            continue
        exp_steps = [n for n in range(n0, 32 * n0 + 1) if err("explicit", n) <= sp.level]
        assert sp.explicit_steps == exp_steps[0]
        fed = [acc.scheme_steps("FED", m, T, tau_max) for m in range(1, 32 * n0)
               if acc.scheme_steps("FED", m, T, tau_max) <= 32 * n0
               and err("FED", m) <= sp.level]
        assert sp.steps == min(fed)
        assert sp.speedup == pytest.approx(sp.explicit_steps / sp.steps)
        assert sp.status == "both"


def test_explicit_curve_has_at_least_four_step_sizes(study):
    signal, T, _, points, _ = study
    n0 = math.ceil(T / pdecore.stability_limit(signal.size))
    explicit = sorted(p.param for p in points if p.scheme == "explicit" and not p.refined)
    assert explicit[0] == n0 and len(explicit) >= 4
    assert all(p.steps <= 32 * n0 for p in points)
    assert min(p.rmse for p in points if p.scheme == "explicit") <= 0.03


def test_not_reached_is_reported(signal):
    """A level below what the capped curves reach gives 'not reached', no speed-up."""
    T = 20.0
    ref = acc.reference_solution(signal, [T], "linear", tau=0.125)[0]
    _, speedups = acc.work_study(signal, T, ref, "linear", levels=(1e-9,), max_work=2,
                                 timing_repeats=0)
    assert {sp.status for sp in speedups} == {"neither"}
    assert all(math.isnan(sp.speedup) for sp in speedups)
    v = acc.speedup_verdict(speedups)
    assert v["neither"] == 1 and v["faster"] == 0


def _sp(T, level, scheme, steps, explicit_steps, status="both"):
    return acc.Speedup("linear", T, level, scheme, steps, explicit_steps, 0.0, 0.0, 1.0,
                       2.0, status, 1)


def test_speedup_verdict_counts_best_scheme_per_cell():
    rows = [_sp(10, 1, "FED", 5, 10), _sp(10, 1, "FSI", 20, 10),      # best 2: faster
            _sp(10, 0.1, "FED", 10, 10), _sp(10, 0.1, "FSI", 10, 10),  # equal
            _sp(100, 1, "FED", 40, 20), _sp(100, 1, "FSI", 0, 20, "accelerated not reached"),
            _sp(100, 0.1, "FED", 0, 20, "accelerated not reached")]
    v = acc.speedup_verdict(rows)
    assert (v["cells"], v["faster"], v["equal"], v["slower"]) == (4, 1, 1, 2)
    assert v["max"] == 2.0 and v["min"] == 0.5
    assert v["text"] == ("faster than the cheapest explicit run in 1 of the 4 settings, "
                         "equal in steps in 1, slower in 2")
    with pytest.raises(TypeError, match="Speedup"):
        acc.speedup_verdict([{"T": 1}])


def test_speedup_table_marks_unreached():
    rows = [_sp(10, 1, "FED", 5, 10), _sp(10, 1, "FSI", 0, 10, "accelerated not reached")]
    table = acc.speedup_table(rows)
    assert "**2.00**" in table and "not reached" in table
    assert table.count("\n") == 2


def test_level_tag():
    assert acc.level_tag(1.0) == "1" and acc.level_tag(0.01) == "0p01"


# --- configurations and the result ----------------------------------------------------


def test_configs_follow_the_contract():
    assert set(acc.CONFIGS) >= set(CONFIG_NAMES)
    keys = set(acc.CONFIGS["default"])
    for name in CONFIG_NAMES:
        assert set(acc.CONFIGS[name]) == keys
        assert len(acc.CONFIGS[name]["times"]) >= 2
    with pytest.raises(ValueError, match="unknown settings"):
        acc.run("quick", nonsense=1)


def test_run_small_and_numbers():
    res = acc.run("quick", times=(10.0,), levels=(1.0, 0.1), timing_repeats=1, max_work=16)
    nums = res.numbers()
    assert res.seeds == (0,)
    assert res.signal.shape == (512,)
    for key in ("net_dev", "ref_change_max", "ref_verdict", "verdict_lin", "verdict_pm",
                "sp_lin_10_1_fed", "st_lin_10_1_explicit", "edge_rmse_lin_10"):
        assert key in nums
    assert nums["net_dev"] < 1e-10
    assert nums["ref_verdict"] == "converged"
    assert nums["ref_change_pct"] < 1.0
    assert all(isinstance(v, int | float | str) for v in nums.values())
    assert all(math.isfinite(v) for v in nums.values() if isinstance(v, float))
    # the edge of stability: one percent more steps damps the highest frequency
    assert nums["near_rmse_lin_10"] < nums["edge_rmse_lin_10"]
    # the speed-up in steps is what the steps say
    sp = next(s for s in res.speedups if s.diffusivity == "linear" and s.scheme == "FED"
              and s.level == 1.0)
    assert nums["sp_lin_10_1_fed"] == pytest.approx(sp.explicit_steps / sp.steps)


# --- FED's internal instability -------------------------------------------------------


def test_perturbation_growth_whole_cycle_is_stable():
    g = acc.perturbation_growth(12)
    assert g["FED"][0] <= 1 + 1e-12
    assert g["FED"].max() > 100 * g["FSI"].max()


def test_intermediate_states_within_range(signal):
    out = acc.intermediate_states(signal, 8, "linear")
    for v in out.values():
        assert v["norm_ratio"] <= 1 + 1e-12
        assert v["excursion"] >= 0
