"""The results contract: configurations, seed statistics, the win rule, results files."""

import json
import math
import threading

import numpy as np
import pytest

from pdecore import results

CONFIGS = {"quick": {"n": 8, "seeds": (0,)}, "default": {"n": 64, "seeds": (0, 1, 2)},
           "paper": {"n": 512, "seeds": (0, 1, 2, 3, 4)}}


def test_resolve_config_names_overrides_and_errors():
    assert results.resolve_config(CONFIGS, "quick") == {"n": 8, "seeds": (0,)}
    assert results.resolve_config(CONFIGS, "default", n=3)["n"] == 3
    assert results.resolve_config(CONFIGS, {"n": 5}) == {"n": 5, "seeds": (0, 1, 2)}
    with pytest.raises(ValueError, match="one of"):
        results.resolve_config(CONFIGS, "fast")
    with pytest.raises(ValueError, match=r"unknown settings \['m'\].*accepted"):
        results.resolve_config(CONFIGS, "quick", m=1)
    with pytest.raises(ValueError, match="unknown settings"):
        results.resolve_config(CONFIGS, {"lamda": 1})
    with pytest.raises(TypeError, match="config"):
        results.resolve_config(CONFIGS, 3)


def test_seed_stats_against_hand_computation():
    s = results.seed_stats([0.3, 0.5, 0.4, 0.8])
    mean = (0.3 + 0.5 + 0.4 + 0.8) / 4
    var = sum((x - mean) ** 2 for x in (0.3, 0.5, 0.4, 0.8)) / 3
    assert s.mean == pytest.approx(mean) and s.std == pytest.approx(math.sqrt(var))
    assert (s.min, s.max, s.n) == (0.3, 0.8, 4)
    assert results.seed_stats([2.0]).std == 0.0
    with pytest.raises(ValueError, match="finite"):
        results.seed_stats([1.0, float("nan")])
    with pytest.raises(ValueError, match="non-empty"):
        results.seed_stats([])


def test_paired_comparison_rule():
    # d = b - a = (1, 1, 1): mean 1 > 2 * 0 -> A better; reversed -> worse
    assert results.paired_comparison([1, 2, 3], [2, 3, 4]) == "better"
    assert results.paired_comparison([2, 3, 4], [1, 2, 3]) == "worse"
    # accuracies: higher is better
    assert results.paired_comparison([0.9, 0.8, 0.85], [0.8, 0.7, 0.75],
                                     lower_is_better=False) == "better"
    # d = (1, 1, -0.5): mean 0.5, sd 0.866, se 0.5: 0.5 < 1.0 -> tie
    assert results.paired_comparison([0, 0, 0.5], [1, 1, 0]) == "tie"
    # d = (1, 1.2, 0.8): mean 1, se 0.115 -> better although seeds differ in size
    assert results.paired_comparison([0, 0, 0], [1, 1.2, 0.8]) == "better"
    # a large mean with one contrary seed: d = (3, 3, -0.1) -> mean 1.97, se 1.03 -> tie
    assert results.paired_comparison([0, 0, 0], [3, 3, -0.1]) == "tie"
    assert results.paired_comparison([1, 1], [1, 1]) == "tie"
    # d = (1, 1, 1, 1, 1, 1, 1, 1, 1, -0.01): mean 0.9 > 2 se = 0.2, but one seed disagrees
    assert results.paired_comparison([0.0] * 10, [1.0] * 9 + [-0.01]) == "tie"
    with pytest.raises(ValueError, match="at least 2"):
        results.paired_comparison([1.0], [2.0])
    with pytest.raises(ValueError, match="one score per seed"):
        results.paired_comparison([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="lower_is_better"):
        results.paired_comparison([1.0, 2.0], [1.0, 2.0], lower_is_better="yes")


def test_write_and_read_results(tmp_path):
    path = results.write_results(
        "03_x", {"a": np.float64(1.5), "n": np.int64(3), "w": "tie", "ok": True},
        parameters={"seed": 0, "lams": [1.0, 2.0]}, quick=False, seeds=(0, 1, 2),
        folder=tmp_path)
    assert path == tmp_path / "03_x.results.json"
    record = json.loads(path.read_text())
    assert record == {"chapter": "03_x", "parameters": {"seed": 0, "lams": [1.0, 2.0]},
                      "quick": False, "seeds": [0, 1, 2],
                      "numbers": {"a": 1.5, "n": 3, "w": "tie", "ok": True}}
    assert results.read_results(path) == record
    assert [p.name for p in tmp_path.iterdir()] == ["03_x.results.json"]  # no temporaries
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("value, error", [(float("nan"), ValueError),
                                          (float("inf"), ValueError),
                                          ([1, 2], TypeError)])
def test_write_results_refuses_bad_numbers_and_keeps_old_file(tmp_path, value, error):
    good = results.write_results("c", {"a": 1.0}, parameters={}, quick=True, seeds=[0],
                                 folder=tmp_path)
    with pytest.raises(error, match="'bad'"):
        results.write_results("c", {"bad": value}, parameters={}, quick=True, seeds=[0],
                              folder=tmp_path)
    assert json.loads(good.read_text())["numbers"] == {"a": 1.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.results.json"]


def test_concurrent_writers_leave_one_complete_file(tmp_path):
    def write(i):
        results.write_results("c", {f"k{j}": float(i) for j in range(2000)},
                              parameters={"i": i}, quick=False, seeds=[i], folder=tmp_path)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record = results.read_results(tmp_path / "c.results.json")
    i = record["parameters"]["i"]
    assert set(record["numbers"].values()) == {float(i)} and record["seeds"] == [i]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.results.json"]


def test_read_results_names_file_and_key(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.results.json"):
        results.read_results(tmp_path / "missing.results.json")
    bad = tmp_path / "bad.results.json"
    bad.write_text("{no")
    with pytest.raises(ValueError, match="bad.results.json"):
        results.read_results(bad)
    bad.write_text(json.dumps({"chapter": "x", "parameters": {}, "quick": True,
                               "seeds": []}))
    with pytest.raises(ValueError, match="bad.results.json: missing key 'numbers'"):
        results.read_results(bad)


def test_results_path_refuses_paths():
    with pytest.raises(ValueError, match="file stem"):
        results.results_path("a/b")
