import numpy as np
import pytest

import pdecore
from pdecore.experiments import acceleration


@pytest.fixture
def signal():
    return pdecore.add_noise(pdecore.piecewise_constant(64, 4, seed=1) * 10, 1.0, seed=2)


def test_rows_and_matching(signal):
    rows = acceleration.acceleration_experiment(signal, [5.0], "linear", 1.0, cycles=(1, 2, 4))
    schemes = [r.scheme for r in rows]
    assert schemes.count("explicit") == 1 and schemes.count("FED") == 3
    exp = rows[0]
    assert exp.steps == int(np.ceil(5.0 / pdecore.stability_limit(64)))
    for m in acceleration.matched_speedup(rows):
        assert m["speedup"] == pytest.approx(m["explicit_steps"] / m["steps"])
        if m["matched"]:
            assert m["rmse"] <= m["explicit_rmse"]


def test_perturbation_growth_whole_cycle_is_stable():
    g = acceleration.perturbation_growth(12)
    assert g["FED"][0] <= 1 + 1e-12
    assert g["FED"].max() > 100 * g["FSI"].max()


def test_intermediate_states_within_range(signal):
    out = acceleration.intermediate_states(signal, 8, "linear")
    for v in out.values():
        assert v["norm_ratio"] <= 1 + 1e-12
        assert v["excursion"] >= 0
