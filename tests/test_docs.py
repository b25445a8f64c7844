"""Publishing and documentation facts: workflows, citation metadata, measured run times.

The schemas (check-jsonschema, in ``make lint``) check the form of the workflows and of
CITATION.cff; these tests check what the schemas cannot: that the workflow publishes
what ``make book`` builds with the inputs the actions document, that the citation names
the paper of the bibliography, and that no run time in README.md or REPRODUCING.md is
typed by hand.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"

# Inputs documented in each action's action.yml (the major versions used here).
DOCUMENTED_INPUTS = {
    "actions/checkout": {"repository", "ref", "token", "ssh-key", "path", "clean",
                         "fetch-depth", "lfs", "submodules", "persist-credentials"},
    "actions/setup-python": {"python-version", "python-version-file", "cache",
                             "cache-dependency-path", "architecture", "check-latest",
                             "token", "update-environment", "allow-prereleases"},
    "actions/cache": {"path", "key", "restore-keys", "upload-chunk-size",
                      "enableCrossOsArchive", "fail-on-cache-miss", "lookup-only",
                      "save-always"},
    "actions/configure-pages": {"static_site_generator", "generator_config_file",
                                "enablement", "token"},
    "actions/upload-pages-artifact": {"name", "path", "retention-days"},
    "actions/deploy-pages": {"token", "timeout", "error_count", "reporting_interval",
                             "artifact_name", "preview"},
}


def _timings():
    spec = importlib.util.spec_from_file_location("timings", ROOT / "book/_ext/timings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _workflow(name):
    # PyYAML reads the key `on` as True (YAML 1.1); normalise it
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def _steps(job):
    return {s.get("uses", "").split("@")[0] or s.get("name"): s for s in job["steps"]}


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_every_action_is_pinned_and_called_with_documented_inputs(name):
    for job in _workflow(name)["jobs"].values():
        for step in job["steps"]:
            if "uses" not in step:
                continue
            action, _, version = step["uses"].partition("@")
            assert re.fullmatch(r"v\d+", version), f"{step['uses']}: pin a major version"
            assert action in DOCUMENTED_INPUTS, f"{action}: add its documented inputs"
            unknown = set(step.get("with", {})) - DOCUMENTED_INPUTS[action]
            assert not unknown, f"{action} has no inputs {sorted(unknown)}"


def test_the_book_workflow_publishes_what_make_book_builds():
    wf = _workflow("book.yml")
    assert wf["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in wf["on"]
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert wf["concurrency"]["group"] and wf["concurrency"]["cancel-in-progress"] is False
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    steps = _steps(build)
    runs = [s.get("run", "") for s in build["steps"]]
    assert any(r.startswith("make book") for r in runs)
    assert "dataset-fashion-mnist" in " ".join(runs)
    # make book writes the HTML to $(BUILD)/html with BUILD = _build
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^BUILD\s*:=\s*_build$", makefile, re.M)
    assert "$(BUILD)/html/index.html: $(EXECUTED)" in makefile
    assert steps["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"
    assert steps["actions/setup-python"]["with"]["python-version"] == "3.11"
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert "actions/deploy-pages" in _steps(deploy)


def test_the_cache_is_keyed_on_everything_a_chapter_depends_on():
    build = _workflow("book.yml")["jobs"]["build"]
    cache = _steps(build)["actions/cache"]
    key = cache["with"]["key"]
    for source in ("book/**", "pdecore/**", "requirements.lock", "results/**",
                   "benchmarks/*.json", "Makefile"):
        assert f"'{source}'" in key, source
    assert "restore-keys" not in cache["with"]  # a partial hit would be re-executed anyway
    assert set(cache["with"]["path"].split()) == {"_build/notebooks", "_build/executed"}
    touch = [s for s in build["steps"] if "--touch" in s.get("run", "")]
    assert len(touch) == 1 and touch[0]["if"] == "steps.executed.outputs.cache-hit == 'true'"
    assert cache["id"] == "executed"


def test_pull_requests_run_make_test():
    wf = _workflow("test.yml")
    assert "pull_request" in wf["on"]
    runs = [s.get("run", "") for s in wf["jobs"]["test"]["steps"]]
    assert any(r.startswith("make test") for r in runs)


def test_the_citation_names_the_paper_of_the_bibliography():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    bib = (ROOT / "book/references.bib").read_text()
    entry = bib[bib.index("@article{alt2022connections"):]
    entry = entry[: entry.index("\n}")]
    paper = cff["preferred-citation"]
    assert paper["title"].lower() == re.search(r"title\s*=\s*\{(.*)\},", entry).group(1) \
        .replace("{", "").replace("}", "").lower()
    assert str(paper["year"]) in entry
    families = [a["family-names"] for a in paper["authors"]]
    authors = re.search(r"author\s*=\s*\{(.*)\},", entry).group(1)
    assert families == [a.split(",")[0].strip() for a in authors.split(" and ")]
    assert cff["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()


def test_the_book_says_how_to_cite_and_under_which_licence():
    intro = (ROOT / "book/intro.md").read_text()
    assert "## How to cite" in intro and "CITATION.cff" in intro
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "CC BY 4.0" in config["html"]["extra_footer"]
    # the buttons come from one repository URL, and edit links open the Markdown source
    assert config["repository"]["url"].startswith("https://github.com/")
    context = config["sphinx"]["config"]["html_context"]
    assert "replace('.ipynb', '.md')" in context["edit_page_url_template"]


def test_no_run_time_is_typed_by_hand():
    timings = _timings()
    for doc in timings.DOCS:
        typed = timings.typed_durations((ROOT / doc).read_text())
        assert not typed, f"{doc} states run times outside its generated blocks: {typed}"


def test_the_duration_pattern_finds_typed_times():
    # the check above must be able to fail
    typed = _timings().typed_durations("took 19 min, then 560 s; about 2 h; 2.3 minutes")
    assert typed == ["19 min", "560 s", "2 h", "2.3 minutes"]


def test_generated_timing_blocks_are_current_and_measured_cold():
    timings = _timings()
    has_blocks = any(timings._blocks((ROOT / d).read_text()) for d in timings.DOCS)
    if not has_blocks:
        pytest.skip("README.md and REPRODUCING.md state no run times")
    kept = json.loads(timings.KEPT.read_text())
    for target in ("book", "test"):
        record = kept[target]
        assert record["cold"] and record["clean_tree"] and record["environment_created"]
        assert set(record["chapters_executed"]) == set(record["chapters_seconds"])
        # the stages add up to the wall time (each stage ends where the next begins)
        assert sum(record["stages_seconds"].values()) <= record["wall_seconds"] + 1
    assert timings.update(check=True) == [], "run: python book/_ext/timings.py update"


def test_a_timing_record_measures_stages_and_knows_a_warm_run(tmp_path):
    import os
    timings = _timings()
    start = 1_000_000
    executed = tmp_path / "executed"
    executed.mkdir()
    for name, duration, mtime in (("01_a", 4.04, start + 50), ("02_b", 30.0, start + 80)):
        nb = executed / f"{name}.ipynb"
        nb.write_text(json.dumps({"metadata": {"papermill": {"duration": duration}}}))
        os.utime(nb, (mtime, mtime))
    stamp = tmp_path / "installed"
    stamp.write_text("")
    os.utime(stamp, (start + 40, start + 40))
    log = tmp_path / "stages.log"
    # a stage of another make invocation (another start) is ignored
    log.write_text(f"chapters {start} {start + 100}\nhtml {start} {start + 130}\n"
                   f"html {start - 5} {start + 999}\n")
    rec = timings.record("book", start, executed, log, stamp, tmp_path / "t.json")
    assert rec["stages_seconds"] == {"env": 40, "chapters": 60, "html": 30}
    assert rec["chapters_seconds"] == {"01_a": 4.0, "02_b": 30.0} and rec["cold"]
    assert json.loads((tmp_path / "t.json").read_text())["cold"] is True
    # a chapter that was up to date (older than the start) makes the run warm
    os.utime(executed / "01_a.ipynb", (start - 10, start - 10))
    rec = timings.record("book", start, executed, log, stamp, tmp_path / "t.json")
    assert not rec["cold"] and rec["chapters_executed"] == ["02_b"]


def test_a_staged_notebook_says_how_to_run_it_and_hides_the_injected_cell(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "stage_notebooks", ROOT / "book/_ext/stage_notebooks.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    folder = tmp_path / "chapters"
    folder.mkdir()
    path = folder / "01_x.ipynb"
    cells = [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Title"},
             {"cell_type": "code", "id": "b", "metadata": {"tags": ["injected-parameters"]},
              "source": "quick = True", "outputs": [], "execution_count": 1}]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    for _ in range(2):  # staging twice changes nothing more
        stage.stage(path, "https://github.com/o/r")
    nb = json.loads(path.read_text())
    assert [c.get("id") for c in nb["cells"]] == ["how-to-run", "a", "b"]
    note = nb["cells"][0]
    assert note["metadata"]["tags"] == ["remove-cell", "how-to-run"]
    assert "book/chapters/01_x.md" in note["source"]
    assert 'pip install "pdecore[nets] @ git+https://github.com/o/r"' in note["source"]
    assert nb["cells"][2]["metadata"]["tags"] == ["injected-parameters", "remove-cell"]
