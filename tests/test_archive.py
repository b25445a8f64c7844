"""Paper-scale archives: one record per job, resumable, stale configurations detected."""

import json
import re

import pytest

from pdecore.archive import PROVENANCE_KEYS, _jsonable, provenance, read_archive, run_jobs

CONFIG = {"epochs": 3, "widths": (8, 16)}
JOBS = {"a": 1.0, "b": 2.0, "c": 1.0}


def _work(calls, fail_on=None):
    def work(name):
        if name == fail_on:
            raise KeyboardInterrupt  # the user stops the run in the middle of this job
        calls.append(name)
        return {"value": len(name), "name_again": name}
    return work


def test_jobs_write_one_record_each_and_a_rerun_does_nothing(tmp_path):
    calls = []
    ran = run_jobs(JOBS, _work(calls), tmp_path, CONFIG, command="test", device="cpu",
                   progress=False)
    assert ran == calls == ["a", "b", "c"]
    record = json.loads((tmp_path / "b.json").read_text())
    assert record["job"] == "b" and record["value"] == 1
    assert record["config"] == {"epochs": 3, "widths": [8, 16]}
    assert set(PROVENANCE_KEYS) <= set(record) and record["command"] == "test"
    assert run_jobs(JOBS, _work(calls), tmp_path, CONFIG, command="test", device="cpu",
                    progress=False) == []
    assert calls == ["a", "b", "c"]


def test_an_interrupted_run_resumes_with_the_unfinished_jobs(tmp_path):
    calls = []
    with pytest.raises(KeyboardInterrupt):
        run_jobs(JOBS, _work(calls, fail_on="b"), tmp_path, CONFIG, command="t",
                 device="cpu", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no partial file
    ran = run_jobs(JOBS, _work(calls), tmp_path, CONFIG, command="t", device="cpu",
                   progress=False)
    assert ran == ["b", "c"] and calls == ["a", "b", "c"]


def test_a_changed_configuration_marks_the_archive_stale_and_reruns(tmp_path):
    run_jobs(JOBS, _work([]), tmp_path, CONFIG, command="t", device="cpu", progress=False)
    changed = CONFIG | {"epochs": 4}
    archive = read_archive(tmp_path, changed)
    assert archive.current == {} and archive.stale == ["a.json", "b.json", "c.json"]
    assert archive.missing(JOBS) == ["a", "b", "c"]
    calls = []
    run_jobs(JOBS, _work(calls), tmp_path, changed, command="t", device="cpu",
             progress=False)
    assert calls == ["a", "b", "c"]
    assert set(read_archive(tmp_path, changed).current) == {"a", "b", "c"}


def test_records_missing_a_required_key_are_stale(tmp_path):
    run_jobs({"a": 1.0}, _work([]), tmp_path, CONFIG, command="t", device="cpu",
             progress=False)
    assert read_archive(tmp_path, CONFIG, required=["value"]).stale == []
    assert read_archive(tmp_path, CONFIG, required=["accuracy"]).stale == ["a.json"]


def test_broken_json_is_named(tmp_path):
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(ValueError, match="x.json"):
        read_archive(tmp_path, CONFIG)
    assert read_archive(tmp_path / "absent", CONFIG).current == {}


def test_metrics_may_not_overwrite_provenance(tmp_path):
    with pytest.raises(ValueError, match="commit"):
        run_jobs({"a": 1.0}, lambda n: {"commit": "forged"}, tmp_path, CONFIG,
                 command="t", device="cpu", progress=False)


def test_provenance_names_commit_date_and_machine():
    p = provenance("make paper", "cpu")
    assert set(p) == set(PROVENANCE_KEYS)
    assert p["commit"] == "unknown" or re.fullmatch(r"[0-9a-f]{40}(\+modified)?",
                                                    p["commit"])
    assert re.match(r"\d{4}-\d\d-\d\dT", p["date"]) and "CPUs" in p["machine"]
    assert _jsonable({1: (2, {"x": (3,)})}) == {"1": [2, {"x": [3]}]}
