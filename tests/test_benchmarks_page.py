"""The benchmark appendix's reader: finds the stored results and tabulates ratios."""

import json

import pytest

from pdecore import benchmarks


def test_the_stored_results_are_found_from_a_build_folder(tmp_path, monkeypatch):
    root = benchmarks.find_root()
    build = root / "_build" / "executed"
    monkeypatch.chdir(tmp_path)  # elsewhere: the package's own folder is the fallback
    assert benchmarks.find_root() == root
    kernels, multigrid = benchmarks.load_results(build if build.is_dir() else root)
    assert "kernels" in kernels and "race" in multigrid


def test_ratios_are_pdecore_time_over_the_alternative():
    kernels = {"kernels": [{"n": 100, "ns_per_point": {"explicit_step": 3.0,
                                                        "numpy_one_liner": 2.0,
                                                        "memory_copy": 1.0}}],
               "acceleration": [], "training": []}
    multigrid = {"race": [{"n": 100, "ratio_pdecore_over": {"pyamg_sa": 0.5,
                                                            "pyamg_sa_cg": 0.25}}]}
    rows = benchmarks.ratio_rows(kernels, multigrid)
    by = {r["pair"]: r["ratio"] for r in rows}
    assert by["explicit step / numpy one-liner"] == 1.5
    assert by["explicit step / memory copy"] == 3.0
    assert by["multigrid / pyamg SA (setup + solve)"] == 0.5
    assert "| explicit step / numpy one-liner | 1.5 |" in benchmarks.ratio_table(rows)


def test_bad_input_names_the_file_or_argument(tmp_path):
    with pytest.raises(TypeError, match="kernels must be the dict"):
        benchmarks.ratio_rows([], {"race": []})
    with pytest.raises(TypeError, match="multigrid must be the dict"):
        benchmarks.ratio_rows({"kernels": []}, None)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "pdecore").mkdir()
    with pytest.raises(FileNotFoundError, match="make bench"):
        benchmarks.load_results(tmp_path)
    (tmp_path / "benchmarks" / "results.json").write_text("{")
    (tmp_path / "benchmarks" / "multigrid_results.json").write_text(json.dumps({}))
    with pytest.raises(ValueError, match="results.json is not valid JSON"):
        benchmarks.load_results(tmp_path)
