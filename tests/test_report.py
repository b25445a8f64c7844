"""The reproduction report: reading glued numbers back, and verdicts from numbers."""

import json

import pytest

from pdecore import report


def _glue_output(name, text):
    return {"output_type": "display_data", "metadata": {"scrapbook": {
        "name": name, "mime_prefix": "application/papermill.record/"}},
        "data": {"application/papermill.record/text/plain": text}}


def _notebook(path, outputs):
    nb = {"cells": [{"cell_type": "code", "source": "", "metadata": {},
                     "outputs": outputs, "execution_count": 1},
                    {"cell_type": "markdown", "source": "text", "metadata": {}}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def test_glued_values_are_parsed(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", [
        _glue_output("err", "3.5e-16"), _glue_output("n", "5"),
        _glue_output("text", "'mixed result'"), _glue_output("fig", "<Figure size 1x1>"),
        {"output_type": "stream", "name": "stdout", "text": "not glue"}])
    assert report.glued_values(nb) == {"err": 3.5e-16, "n": 5, "text": "mixed result",
                                       "fig": "<Figure size 1x1>"}


def test_glued_values_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        report.glued_values(tmp_path / "missing.ipynb")
    (tmp_path / "bad.ipynb").write_text("{no")
    with pytest.raises(ValueError, match="bad.ipynb"):
        report.glued_values(tmp_path / "bad.ipynb")


def test_chapter_results_skips_missing_chapters(tmp_path):
    _notebook(tmp_path / "02_explicit_resnet.ipynb", [_glue_output("param_ratio", "0.5")])
    _notebook(tmp_path / "02_explicit_resnet.tmp.ipynb", [_glue_output("x", "1")])
    assert report.chapter_results(tmp_path) == {"02_explicit_resnet": {"param_ratio": 0.5}}
    with pytest.raises(FileNotFoundError, match="execute the chapters"):
        report.chapter_results(tmp_path / "nope")


GOOD = {
    "02_explicit_resnet": {"sym_at_bound": 1.0, "n_std_grow": 5, "n_std": 5,
                           "equiv_err": 1e-16, "param_ratio": 0.5},
    "03_fed_fsi": {"net_dev": 1e-15},
    "05_multigrid_unet": {"unet_dev": 1e-14, "e4_wins": 3, "e4_pairs": 3, "f_op_jac": 0.1},
    "06_learned_activations": {"nonmono_blocks": 9, "all_blocks": 10, "wins_mono": 2,
                               "n_runs": 2, "rmse_trainable": 0.03, "rmse_best_mono": 0.04},
    "07_image_classification": {"block_ratio": 0.5, "deep_wins": 3, "n_budgets": 3,
                                "mean_gap_deep": 1.0, "stable_wins": 0},
}


def _verdicts(results):
    return [r.verdict for r in report.assess_claims(results)]


def test_all_confirmed_when_every_comparison_goes_the_claimed_way():
    assert _verdicts(GOOD) == ["confirmed"] * 6


def test_nothing_executed_is_not_tested():
    assert _verdicts({}) == ["not tested"] * 6


@pytest.mark.parametrize(("chapter", "key", "value", "index", "verdict"), [
    ("02_explicit_resnet", "sym_at_bound", 1.01, 0, "not confirmed"),
    ("03_fed_fsi", "net_dev", 1e-3, 1, "not confirmed"),
    ("05_multigrid_unet", "e4_wins", 1, 2, "partly confirmed"),
    ("05_multigrid_unet", "e4_wins", 0, 2, "not confirmed"),
    ("06_learned_activations", "nonmono_blocks", 2, 3, "partly confirmed"),
    ("06_learned_activations", "wins_mono", 0, 3, "not confirmed"),
    ("06_learned_activations", "wins_mono", 1, 3, "partly confirmed"),
    ("07_image_classification", "block_ratio", 0.7, 4, "not confirmed"),
    ("07_image_classification", "deep_wins", 2, 5, "partly confirmed"),
])
def test_verdicts_follow_the_numbers(chapter, key, value, index, verdict):
    results = {k: dict(v) for k, v in GOOD.items()}
    results[chapter][key] = value
    assert _verdicts(results)[index] == verdict


def test_claims_table_links_every_row():
    table = report.claims_table(report.assess_claims(GOOD)).splitlines()
    assert len(table) == 2 + 6
    assert all("{ref}`" in line and "**confirmed**" in line for line in table[2:])
