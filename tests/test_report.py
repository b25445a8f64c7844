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
    "01_diffusion": {"norm_increase4": 0.0, "yk_norm_increase": 0.0,
                     "yk_clean_norm_increase": 0.0, "yk_energy_increase": 0.0,
                     "yk_clean_energy_increase": 1e-16},
    "02_explicit_resnet": {"n_std_grow": 5, "n_std": 5, "equiv_err": 1e-16,
                           "n_equiv_cases": 20, "param_ratio": 0.5, "n_sym_grow_below": 0,
                           "n_sym_below": 30, "sym_max_below": 0.99, "n_networks": 10,
                           "std_first_growth": 0.01, "frac_std_smallest": 0.9,
                           "m2_n_sym_grow_below": 0, "m2_n_sym_below": 30,
                           "m2_sym_max_below": 0.99, "m2_n_networks": 10},
    "03_fed_fsi": {"net_dev": 1e-15, "faster_lin": 9, "cells_lin": 9, "best_max_lin": 14.0,
                   "faster_pm": 9, "cells_pm": 9, "best_max_pm": 4.0},
    "04_implicit_rnn": {"rnn_dev": 1e-15, "semi_max_ratio": 1.0, "tau_max_run": 10.0,
                        "cost_tie_factor": 2.0, "semi_vs_exp_time_lin_e1": 0.3,
                        "semi_vs_exp_time_pm_e1": 0.2, "m2_semi_vs_exp_time_lin_e1": 0.3,
                        "m2_semi_faster": 2, "m2_cells": 2, "m2_semi_slower": 0,
                        "m2_tau_explicit": 0.125,
                        "fp_largest_tau_lin": 0.2,
                        "exp_largest_stable_tau_lin": 0.5, "e7_wins": 3, "e7_losses": 0,
                        "e7_n_compared": 3, "e7_n_seeds": 3,
                        "e7_verdict": "better than the plain ResNet: FED, FSI, recurrent",
                        "e7_resnet_rmse": 0.05, "e7_fed_rmse": 0.04, "e7_fsi_rmse": 0.04,
                        "e7_recurrent_rmse": 0.04},
    "05_multigrid_unet": {"unet_dev": 1e-14, "e4_wins": 3, "e4_pairs": 3, "e4_n_seeds": 3,
                          "best_vs_dptsv": "faster and as accurate",
                          "best_dptsv_time_ratio": 0.5},
    "06_learned_activations": {"nonmono_blocks": 9, "all_blocks": 10, "n_runs": 3,
                               "cmp_trainable_monotone": "better", "wins_mono_paired": 4,
                               "n_mono": 4, "rmse_trainable": 0.03,
                               "rmse_trainable_monotone": 0.04,
                               "rmse_classical_perona_malik": 0.03,
                               "cmp_classical_perona_malik": "tie"},
    "07_image_classification": {"block_ratio": 0.5, "deep_wins": 3, "deep_losses": 0,
                                "half_wins": 1, "half_losses": 0, "mean_gap_half": 0.1,
                                "sd_gap_half": 0.3, "n_budgets": 3, "n_seeds": 3,
                                "mean_gap_deep": 1.0, "sd_gap_deep": 0.2, "stable_wins": 0,
                                "stable_losses": 3, "n_train": 12000, "epochs": 2,
                                "paper_complete": 0, "n_stable_c": 8,
                                "n_stable_blocks": 8},
}

N_VERIFIED, N_EMPIRICAL = 10, 9


def _verdicts(results, kind=None):
    return [r.verdict for r in report.assess_claims(results) if kind in (None, r.kind)]


def _row(results, claim_start):
    (row,) = [r for r in report.assess_claims(results) if r.claim.startswith(claim_start)]
    return row


def test_everything_holds_when_every_comparison_goes_the_claimed_way():
    assert _verdicts(GOOD, "verified") == ["verified"] * N_VERIFIED
    assert _verdicts(GOOD, "empirical") == ["confirmed"] * N_EMPIRICAL


def test_nothing_executed_is_not_tested():
    assert _verdicts({}) == ["not tested"] * (N_VERIFIED + N_EMPIRICAL)


@pytest.mark.parametrize(("chapter", "key", "value", "claim", "verdict"), [
    ("01_diffusion", "yk_energy_increase", 1e-6, "Fourth-order", "not verified"),
    ("02_explicit_resnet", "equiv_err", 1e-6, "An explicit diffusion step", "not verified"),
    ("02_explicit_resnet", "n_sym_grow_below", 1, "Symmetric blocks are stable",
     "not verified"),
    ("02_explicit_resnet", "m2_n_sym_grow_below", 1, "Symmetric blocks with the second",
     "not verified"),
    ("02_explicit_resnet", "m2_sym_max_below", 1.001, "Symmetric blocks with the second",
     "not verified"),
    ("03_fed_fsi", "net_dev", 1e-3, "FED/FSI cycles", "not verified"),
    ("04_implicit_rnn", "rnn_dev", 1e-3, "An implicit step", "not verified"),
    ("07_image_classification", "block_ratio", 0.7, "A symmetric block has half",
     "not verified"),
    ("02_explicit_resnet", "n_std_grow", 2, "Standard residual blocks", "partly confirmed"),
    ("03_fed_fsi", "faster_lin", 0, "Extrapolating skips", "partly confirmed"),
    ("04_implicit_rnn", "semi_vs_exp_time_pm_e1", 0.9, "Recurrent (implicit)",
     "partly confirmed"),
    ("04_implicit_rnn", "m2_semi_faster", 1, "The same for fourth order",
     "partly confirmed"),
    ("04_implicit_rnn", "m2_semi_faster", 0, "The same for fourth order", "not confirmed"),
    ("04_implicit_rnn", "m2_semi_vs_exp_time_lin_e1", 0.9, "Recurrent (implicit)",
     "confirmed"),
    ("04_implicit_rnn", "e7_wins", 1, "The schemes' skip connections", "partly confirmed"),
    ("04_implicit_rnn", "e7_wins", 0, "The schemes' skip connections", "not confirmed"),
    ("05_multigrid_unet", "e4_wins", 1, "U-nets", "partly confirmed"),
    ("05_multigrid_unet", "e4_wins", 0, "U-nets", "not confirmed"),
    ("05_multigrid_unet", "best_vs_dptsv", "slower and less accurate", "U-nets",
     "partly confirmed"),
    ("06_learned_activations", "nonmono_blocks", 2, "Trainable", "partly confirmed"),
    ("06_learned_activations", "cmp_trainable_monotone", "tie", "Trainable",
     "partly confirmed"),
    ("07_image_classification", "half_losses", 3, "Half the parameters", "not confirmed"),
    ("07_image_classification", "deep_wins", 2, "Better than", "partly confirmed"),
])
def test_verdicts_follow_the_numbers(chapter, key, value, claim, verdict):
    """Each row's verdict changes when its numbers change."""
    results = {k: dict(v) for k, v in GOOD.items()}
    results[chapter][key] = value
    assert _row(results, claim).verdict == verdict


def test_tables_split_the_kinds_and_link_every_row():
    rows = report.assess_claims(GOOD)
    verified = report.claims_table(rows, "verified").splitlines()
    empirical = report.claims_table(rows, "empirical").splitlines()
    assert len(verified) == 2 + N_VERIFIED and len(empirical) == 2 + N_EMPIRICAL
    assert all("{ref}`" in line and "**verified**" in line for line in verified[2:])
    assert all("**confirmed**" in line for line in empirical[2:])
    assert "| seeds |" in empirical[0] and "seeds" not in verified[0]
    with pytest.raises(ValueError, match="kind"):
        report.claims_table(rows, "proven")


def test_verdicts_on_cpu_times_are_marked():
    """Exactly the rows that compare run times (E3, E4) say so, in the row and the table."""
    rows = report.assess_claims(GOOD)
    timed = {r.experiment for r in rows if r.timed}
    assert timed == {"E3", "E3, m = 2", "E4"}
    table = report.claims_table(rows, "empirical").splitlines()[2:]
    assert sum("(on CPU times)" in line for line in table) == 3
    assert not any(r.timed for r in report.assess_claims({}))  # not tested: nothing timed


def test_no_empirical_verdict_rests_on_an_identity():
    """Rows whose numbers hold by construction are in the verified table only."""
    identities = {"equiv_err", "net_dev", "rnn_dev", "unet_dev", "param_ratio",
                  "block_ratio", "n_stable_c", "sym_max_below", "semi_max_ratio"}
    for chapter, key in [(c, k) for c, v in GOOD.items() for k in v if k in identities]:
        results = {k: dict(v) for k, v in GOOD.items()}
        results[chapter][key] = 1e9  # break the identity: only verified rows may notice
        assert _verdicts(results, "empirical") == ["confirmed"] * N_EMPIRICAL, key


def test_learned_flux_neither_nonmonotone_nor_better_is_not_confirmed():
    results = {k: dict(v) for k, v in GOOD.items()}
    results["06_learned_activations"].update(nonmono_blocks=1,
                                             cmp_trainable_monotone="worse")
    assert _row(results, "Trainable").verdict == "not confirmed"


def test_a_complete_paper_archive_decides_the_e5_rows_and_is_named():
    results = {k: dict(v) for k, v in GOOD.items()}
    results["07_image_classification"].update(
        paper_complete=1, paper_n_train=60000, paper_epochs=8, paper_n_seeds=3,
        paper_deep_wins=0, paper_deep_losses=2, paper_n_budgets=2,
        paper_mean_gap_deep=-1.0, paper_sd_gap_deep=0.3, paper_stable_wins=0,
        paper_stable_losses=2, paper_half_wins=0, paper_half_losses=2,
        paper_mean_gap_half=-3.0, paper_sd_gap_half=1.0)
    row = _row(results, "Better than")
    assert row.verdict == "not confirmed" and "make paper archive" in row.evidence
    assert "60000 images" in row.evidence and row.seeds == 3
    assert _row(results, "Half the parameters").verdict == "not confirmed"
    assert "chapter's own run" in _row(GOOD, "Better than").evidence


def test_every_row_links_to_a_section_that_exists():
    import re
    from pathlib import Path

    chapters = Path(__file__).resolve().parents[1] / "book" / "chapters"
    labels = {m for f in chapters.glob("*.md")
              for m in re.findall(r"^\(([\w-]+)\)=$", f.read_text(), re.MULTILINE)}
    rows = report.assess_claims(GOOD)
    assert all(r.section in labels for r in rows), [r.section for r in rows
                                                      if r.section not in labels]
    assert all(r.chapter in labels for r in rows)


def test_rerunning_a_chapter_with_other_numbers_changes_the_report_page(tmp_path):
    """The report chapter itself, executed twice on results files that differ in one run."""
    from pathlib import Path

    import jupytext
    import papermill

    source = Path(__file__).resolve().parents[1] / "book" / "chapters" / \
        "08_reproduction_report.md"
    notebook = tmp_path / "report.ipynb"
    jupytext.write(jupytext.read(source), notebook)

    def report_of(fed_numbers):
        results.write_results("03_fed_fsi", fed_numbers, parameters={"quick": True},
                              quick=True, seeds=[0], folder=tmp_path)
        papermill.execute_notebook(str(notebook), str(tmp_path / "out.ipynb"),
                                   parameters={"results_dir": str(tmp_path)},
                                   cwd=str(tmp_path), kernel_name="python3",
                                   progress_bar=False)
        claims = results.read_results(tmp_path / "08_reproduction_report.results.json")
        return {c["claim"]: c for c in claims["claims"]}

    fed = dict(GOOD["03_fed_fsi"])
    first = report_of(fed)
    second = report_of(fed | {"faster_lin": 0, "faster_pm": 0})
    key = "Extrapolating skips (FED/FSI) accelerate explicit diffusion"
    assert first[key]["verdict"] == "confirmed" and first[key]["kind"] == "empirical"
    assert second[key]["verdict"] == "not confirmed"
    assert first[key]["seeds"] == 1 and "section" in first[key]
