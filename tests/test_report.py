"""The reproduction report: reading the chapters' results files, and verdicts from numbers."""

import pytest

from pdecore import report, results


def test_chapter_results_reads_results_files_and_skips_missing(tmp_path):
    results.write_results("02_explicit_resnet", {"param_ratio": 0.5}, parameters={},
                          quick=True, seeds=[0], folder=tmp_path)
    (tmp_path / "03_fed_fsi.ipynb").write_text("{}")  # a notebook alone is not read
    assert report.chapter_results(tmp_path) == {"02_explicit_resnet": {"param_ratio": 0.5}}
    with pytest.raises(FileNotFoundError, match="execute the chapters"):
        report.chapter_results(tmp_path / "nope")


def test_errors_name_the_file_and_the_key(tmp_path):
    (tmp_path / "03_fed_fsi.results.json").write_text("{no")
    with pytest.raises(ValueError, match="03_fed_fsi.results.json"):
        report.chapter_results(tmp_path)
    results.write_results("03_fed_fsi", {"other": 1}, parameters={}, quick=True,
                          seeds=[], folder=tmp_path)
    found = report.chapter_results(tmp_path)
    with pytest.raises(KeyError, match=r"03_fed_fsi.results.json has no number 'net_dev'"):
        report.assess_claims(found)


GOOD = {
    "02_explicit_resnet": {"sym_at_bound": 1.0, "n_std_grow": 5, "n_std": 5,
                           "equiv_err": 1e-16, "param_ratio": 0.5},
    "03_fed_fsi": {"net_dev": 1e-15},
    "05_multigrid_unet": {"unet_dev": 1e-14, "e4_wins": 3, "e4_pairs": 3, "f_op_jac": 0.1,
                          "best_vs_dptsv": "faster and as accurate",
                          "best_dptsv_time_ratio": 0.5},
    "06_learned_activations": {"nonmono_blocks": 9, "all_blocks": 10, "n_runs": 3,
                               "cmp_trainable_monotone": "better", "wins_mono_paired": 4,
                               "n_mono": 4, "rmse_trainable": 0.03,
                               "rmse_trainable_monotone": 0.04,
                               "rmse_classical_perona_malik": 0.03,
                               "cmp_classical_perona_malik": "tie"},
    "07_image_classification": {"block_ratio": 0.5, "deep_wins": 3, "deep_losses": 0,
                                "n_budgets": 3, "n_seeds": 3, "mean_gap_deep": 1.0,
                                "sd_gap_deep": 0.2, "stable_wins": 0, "stable_losses": 3,
                                "n_train": 12000, "epochs": 2, "paper_complete": 0},
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
    ("05_multigrid_unet", "best_vs_dptsv", "slower and less accurate", 2, "partly confirmed"),
    ("06_learned_activations", "nonmono_blocks", 2, 3, "partly confirmed"),
    ("06_learned_activations", "cmp_trainable_monotone", "tie", 3, "partly confirmed"),
    ("06_learned_activations", "wins_mono_paired", 3, 3, "partly confirmed"),
    ("07_image_classification", "block_ratio", 0.7, 4, "not confirmed"),
    ("07_image_classification", "deep_wins", 2, 5, "partly confirmed"),
])
def test_verdicts_follow_the_numbers(chapter, key, value, index, verdict):
    """Each row's verdict changes when its numbers change."""
    results = {k: dict(v) for k, v in GOOD.items()}
    results[chapter][key] = value
    assert _verdicts(results)[index] == verdict


def test_claims_table_links_every_row():
    table = report.claims_table(report.assess_claims(GOOD)).splitlines()
    assert len(table) == 2 + 6
    assert all("{ref}`" in line and "**confirmed**" in line for line in table[2:])


def test_learned_flux_neither_nonmonotone_nor_better_is_not_confirmed():
    results = {k: dict(v) for k, v in GOOD.items()}
    results["06_learned_activations"].update(nonmono_blocks=1,
                                             cmp_trainable_monotone="worse")
    assert _verdicts(results)[3] == "not confirmed"


def test_a_complete_paper_archive_decides_the_e5_row_and_is_named():
    results = {k: dict(v) for k, v in GOOD.items()}
    results["07_image_classification"].update(
        paper_complete=1, paper_n_train=60000, paper_epochs=8, paper_n_seeds=3,
        paper_deep_wins=0, paper_deep_losses=2, paper_n_budgets=2,
        paper_mean_gap_deep=-1.0, paper_sd_gap_deep=0.3, paper_stable_wins=0,
        paper_stable_losses=2)
    row = report.assess_claims(results)[5]
    assert row.verdict == "not confirmed" and "make paper archive" in row.measured
    assert "60000 images" in row.measured
    assert "default run" in report.assess_claims(GOOD)[5].measured
