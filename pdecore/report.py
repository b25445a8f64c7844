"""The reproduction report: the abstract's claims, the chapters' measured numbers, verdicts.

Every chapter writes the numbers its text states to ``<chapter>.results.json`` beside its
executed notebook (:func:`pdecore.results.publish`). :func:`chapter_results` reads those
files (never notebook output), and :func:`assess_claims` turns them into one
:class:`ClaimRow` per claim of the paper's abstract, with a verdict computed from the
numbers (never typed). Used by the closing chapter (:ref:`ch-report`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .results import read_results, results_path

__all__ = [
    "CHAPTERS",
    "IDENTITY_TOL",
    "VERDICTS",
    "VERDICT_RULE",
    "VERIFIED",
    "ClaimRow",
    "assess_claims",
    "chapter_results",
    "claims_table",
]

#: Chapter file stems whose results files the report reads.
CHAPTERS = (
    "01_diffusion",
    "02_explicit_resnet",
    "03_fed_fsi",
    "04_implicit_rnn",
    "05_multigrid_unet",
    "06_learned_activations",
    "07_image_classification",
)


class _Numbers(dict):
    """A chapter's numbers; a missing key names the results file it was expected in."""

    def __init__(self, values: Mapping[str, object], source: str) -> None:
        super().__init__(values)
        self.source = source

    def __missing__(self, key: str) -> object:
        raise KeyError(f"{self.source} has no number {key!r}; rerun its chapter with the "
                       "current pdecore (make book)")


def chapter_results(
    folder: str | os.PathLike, chapters: tuple[str, ...] = CHAPTERS
) -> dict[str, dict[str, object]]:
    """Return the numbers of each chapter whose results file is in ``folder``.

    Parameters
    ----------
    folder : str or path-like
        Where the chapters were executed (``_build/executed`` for ``make book``); each
        wrote ``<chapter>.results.json`` there. Chapters without a file are skipped.
    chapters : tuple of str
        File stems to read.

    Returns
    -------
    dict
        ``{chapter: {name: value}}``; looking up a missing name raises a ``KeyError``
        that names the file.

    Raises
    ------
    FileNotFoundError
        ``folder`` does not exist.
    ValueError
        A results file is malformed (names the file).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist; execute the chapters "
                                "first (make book, or make chapters-quick)")
    out = {}
    for name in chapters:
        path = results_path(name, folder)
        if path.is_file():
            out[name] = _Numbers(read_results(path)["numbers"], str(path))
    return out


@dataclass(frozen=True)
class ClaimRow:
    """One row of the report: a claim, where it is checked, the evidence and the verdict.

    Attributes
    ----------
    claim : str
        The statement, from the paper's abstract or the book's dictionary.
    kind : {"verified", "empirical"}
        ``"verified"``: holds by construction (an identity, a count, a theorem checked at
        its own bound); the evidence is its measured defect. ``"empirical"``: an
        experiment that could have come out otherwise; the verdict follows from seeds and
        the stated rule.
    chapter : str
        Label of the chapter that checks it.
    experiment : str
        Experiment or check name.
    evidence : str
        What was measured.
    seeds : int
        Seeds (independent runs) behind the evidence; 1 for deterministic numerics.
    verdict : str
        One of :data:`VERIFIED` (verified rows) or :data:`VERDICTS` (empirical rows).
    section : str
        Label of the section (with its figure) the evidence comes from.
    timed : bool
        The verdict compares measured CPU times, so it can differ between machines and
        runs (every other verdict is deterministic for the same parameters).
    """

    claim: str
    kind: str
    chapter: str
    experiment: str
    evidence: str
    seeds: int
    verdict: str
    section: str = ""
    timed: bool = False


#: Verdicts of empirical rows, from best to worst.
VERDICTS = ("confirmed", "partly confirmed", "not confirmed", "not tested")

#: Verdicts of rows that hold by construction.
VERIFIED = ("verified", "not verified", "not tested")

#: Largest deviation at which a network counts as its scheme (rounding level).
IDENTITY_TOL = 1e-10

#: How the empirical verdicts are computed from a count of comparisons.
VERDICT_RULE = ("confirmed: every comparison came out as claimed; partly confirmed: some "
                "did; not confirmed: none did; not tested: the chapter did not run. A "
                "learned comparison counts only when it holds by the win rule over seeds "
                "(pdecore.results.WIN_RULE).")

#: Chapter titles by label, for the tables.
CHAPTER_TITLES = {
    "ch-diffusion": "1, diffusion",
    "ch-explicit": "2, explicit schemes",
    "ch-acceleration": "3, FED/FSI",
    "ch-implicit": "4, implicit schemes",
    "ch-multigrid": "5, multigrid",
    "ch-learned-activations": "6, learned activations",
    "ch-classification": "7, classification",
}


def _share(wins: int, total: int) -> str:
    """Apply :data:`VERDICT_RULE` to ``wins`` of ``total`` comparisons."""
    if total <= 0:
        return "not tested"
    return "confirmed" if wins == total else "partly confirmed" if wins > 0 \
        else "not confirmed"


def _verified(ok: bool) -> str:
    return "verified" if ok else "not verified"


def _e5_source(c: Mapping[str, object]) -> tuple[str, str]:
    """Prefix of the E5 numbers to use and the sentence naming their source."""
    if int(c.get("paper_complete", 0)) == 1:
        return "paper_", (f"make paper archive ({c['paper_n_train']} images, "
                          f"{c['paper_epochs']} epochs)")
    return "", f"the chapter's own run ({c['n_train']} images, {c['epochs']} epochs)"


def assess_claims(results: Mapping[str, Mapping[str, object]]) -> list[ClaimRow]:
    """Turn the chapters' numbers into the report's rows: verified, then empirical.

    A row whose chapter was not executed gets the verdict ``"not tested"``. The rules
    are :data:`IDENTITY_TOL` for identities and :data:`VERDICT_RULE` for experiments.

    Parameters
    ----------
    results : mapping
        From :func:`chapter_results`.

    Returns
    -------
    list of ClaimRow
    """
    r = {k: v if isinstance(v, _Numbers) else _Numbers(v, f"{k}.results.json")
         for k, v in results.items()}
    rows: list[ClaimRow] = []

    def add(claim, kind, where, experiment, needs, make, timed=False):
        chapter, section = where
        if any(n not in r for n in needs):
            rows.append(ClaimRow(claim, kind, chapter, experiment, "-", 0, "not tested",
                                 section))
        else:
            evidence, seeds, verdict = make(*(r[n] for n in needs))
            rows.append(ClaimRow(claim, kind, chapter, experiment, evidence, seeds,
                                 verdict, section, timed))

    # --- verified by construction -----------------------------------------------------
    add("An explicit diffusion step is a symmetric residual block (skip = time step)",
        "verified", ("ch-explicit", "sec-explicit-block"), "network = scheme",
        ["02_explicit_resnet"],
        lambda c: (f"largest deviation {c['equiv_err']:.1e} over {c['n_equiv_cases']} "
                   f"cases", 1, _verified(c["equiv_err"] <= IDENTITY_TOL)))
    add("FED/FSI cycles are ResNets with varying steps and extrapolating skips",
        "verified", ("ch-acceleration", "sec-fed-network"), "network = scheme", ["03_fed_fsi"],
        lambda c: (f"largest deviation {c['net_dev']:.1e}", 1,
                   _verified(c["net_dev"] <= IDENTITY_TOL)))
    add("An implicit step solved by iteration is a recurrent network", "verified",
        ("ch-implicit", "sec-implicit-network"), "network = scheme", ["04_implicit_rnn"],
        lambda c: (f"largest deviation {c['rnn_dev']:.1e}", 1,
                   _verified(c["rnn_dev"] <= IDENTITY_TOL)))
    add("A multigrid V-cycle is a U-net", "verified", ("ch-multigrid", "sec-multigrid-network"),
        "network = scheme", ["05_multigrid_unet"],
        lambda c: (f"largest deviation {c['unet_dev']:.1e}", 1,
                   _verified(c["unet_dev"] <= IDENTITY_TOL)))
    ratios = [r[ch][key] for ch, key in (("02_explicit_resnet", "param_ratio"),
                                         ("07_image_classification", "block_ratio"))
              if ch in r]
    rows.append(ClaimRow(
        "A symmetric block has half the trainable parameters of a standard one",
        "verified", "ch-explicit", "parameter counts",
        "ratio " + ", ".join(f"{v:.3f}" for v in ratios) if ratios else "-", 1,
        _verified(all(abs(v - 0.5) < 0.02 for v in ratios)) if ratios else "not tested",
        "sec-explicit-block"))
    def symmetric(prefix):
        def make(c):
            grew, n = int(c[f"{prefix}n_sym_grow_below"]), int(c[f"{prefix}n_sym_below"])
            largest = c[f"{prefix}sym_max_below"]
            return (f"{grew} of {n} networks grew; largest norm ratio {largest:.6f}",
                    int(c[f"{prefix}n_networks"]), _verified(grew == 0 and largest <= 1 + 1e-12))
        return make

    add("Symmetric blocks are stable up to the bound 2/(L ‖W‖²) (theorem)", "verified",
        ("ch-explicit", "sec-explicit-stability"), "E1 at and below the bound",
        ["02_explicit_resnet"], symmetric(""))
    add("Symmetric blocks with the second-order stencil (m = 2) are stable up to the bound "
        "(theorem)", "verified", ("ch-explicit", "sec-e1-m2"), "E1, m = 2, at and below the "
        "bound", ["02_explicit_resnet"], symmetric("m2_"))

    def fourth(c):
        norm = max(c["norm_increase4"], c["yk_norm_increase"], c["yk_clean_norm_increase"])
        energy = max(c["yk_energy_increase"], c["yk_clean_energy_increase"])
        return (f"largest relative increase at 0.9 x the bound, linear and nonlinear "
                f"(You-Kaveh) m = 2: norm {norm:.1e}, energy {energy:.1e}", 1,
                _verified(max(norm, energy) <= 1e-12))
    add("Fourth-order (m = 2) explicit steps keep the norm and decrease the energy below "
        "the bound (propositions)", "verified", ("ch-diffusion", "sec-fourth-order"),
        "m = 2 evolutions", ["01_diffusion"], fourth)
    add("The semi-implicit step is stable for every step size (theorem)", "verified",
        ("ch-implicit", "sec-e3"), "E3 norm ratios", ["04_implicit_rnn"],
        lambda c: (f"largest norm ratio {c['semi_max_ratio']:.6f} up to tau = "
                   f"{c['tau_max_run']:g}", 1, _verified(c["semi_max_ratio"] <= 1 + 1e-12)))
    add("Stable-by-construction 2D blocks meet the stability condition", "verified",
        ("ch-classification", "sec-e5-stability"), "E5 step bound", ["07_image_classification"],
        lambda c: (f"{c['n_stable_c']} of {c['n_stable_blocks']} blocks", 1,
                   _verified(int(c["n_stable_c"]) == int(c["n_stable_blocks"]))))

    # --- empirical ----------------------------------------------------------------------
    add("Standard residual blocks are not stable where symmetric ones are", "empirical",
        ("ch-explicit", "sec-e1"), "E1", ["02_explicit_resnet"],
        lambda c: (f"{c['n_std_grow']} of {c['n_std']} standard networks grew at the "
                   f"symmetric bound; growth from weight scale {c['std_first_growth']:g} "
                   f"of it ({100 * c['frac_std_smallest']:.0f} % of the networks there)",
                   int(c["n_networks"]), _share(int(c["n_std_grow"]), int(c["n_std"]))))

    def fed(c):
        faster = int(c["faster_lin"]) + int(c["faster_pm"])
        cells = int(c["cells_lin"]) + int(c["cells_pm"])
        return (f"fewer steps than the best explicit run at matched accuracy in "
                f"{c['faster_lin']} of {c['cells_lin']} settings for linear diffusion "
                f"(up to {c['best_max_lin']:.1f}x) and {c['faster_pm']} of "
                f"{c['cells_pm']} for Perona-Malik (up to {c['best_max_pm']:.1f}x)", 1,
                _share(faster, cells))
    add("Extrapolating skips (FED/FSI) accelerate explicit diffusion", "empirical",
        ("ch-acceleration", "sec-e2"), "E2", ["03_fed_fsi"], fed)

    def recurrent(c):
        keys = [k for k in c if k.startswith("semi_vs_exp_time_")]
        wins, n = sum(c[k] < 1 / c["cost_tie_factor"] for k in keys), len(keys)
        return (f"semi-implicit (recurrent) at least {c['cost_tie_factor']:g}x faster "
                f"than explicit at matched accuracy in {wins} of {n} settings; "
                f"the fixed-point recurrent network converged only up to tau = "
                f"{c['fp_largest_tau_lin']:g} (explicit stable up to "
                f"{c['exp_largest_stable_tau_lin']:g})", 1, _share(wins, n))
    add("Recurrent (implicit) schemes beat explicit ones at matched accuracy",
        "empirical", ("ch-implicit", "sec-e3"), "E3", ["04_implicit_rnn"], recurrent,
        timed=True)

    def recurrent_m2(c):
        wins, n = int(c["m2_semi_faster"]), int(c["m2_cells"])
        return (f"semi-implicit at least {c['cost_tie_factor']:g}x faster than explicit at "
                f"matched accuracy in {wins} of {n} settings, at least that much slower in "
                f"{c['m2_semi_slower']} (explicit limit {c['m2_tau_explicit']:.3f})", 1,
                _share(wins, n))
    add("The same for fourth order (m = 2), where the explicit limit is h⁴/8",
        "empirical", ("ch-implicit", "sec-e3-m2"), "E3, m = 2", ["04_implicit_rnn"],
        recurrent_m2, timed=True)

    def skips(c):
        wins, n = int(c["e7_wins"]), int(c["e7_n_compared"])
        narrow = (f", recurrent at the ResNet's multiply-adds "
                  f"{c['e7_recurrent_narrow_rmse']:.4f}" if "e7_recurrent_narrow_rmse" in c
                  else "")
        return (f"against the plain ResNet at equal depth and parameters (one recurrent "
                f"variant at equal multiply-adds instead): "
                f"{c['e7_verdict']} (test RMSE ResNet {c['e7_resnet_rmse']:.4f}, FED "
                f"{c['e7_fed_rmse']:.4f}, FSI {c['e7_fsi_rmse']:.4f}, recurrent "
                f"{c['e7_recurrent_rmse']:.4f}{narrow})", int(c["e7_n_seeds"]),
                _share(wins, n))
    add("The schemes' skip connections (FED steps, FSI extrapolation, recurrence) help a "
        "trained network", "empirical", ("ch-implicit", "sec-e7"), "E7",
        ["04_implicit_rnn"], skips)

    def multigrid(c):
        learned = _share(int(c["e4_wins"]), int(c["e4_pairs"]))
        # "efficient" is judged against the exact O(N) solver the book has (dptsv)
        beaten = c["best_vs_dptsv"] == "slower and less accurate"
        verdict = "partly confirmed" if beaten and learned == "confirmed" else learned
        return (f"multigrid U-net better than the standard U-net at {c['e4_wins']} of "
                f"{c['e4_pairs']} equal budgets by the win rule; the best learned net is "
                f"{c['best_vs_dptsv']} than the exact tridiagonal solver "
                f"({c['best_dptsv_time_ratio']:.1f}x its time)", int(c["e4_n_seeds"]),
                verdict)
    add("U-nets that implement multigrid learn efficient PDE solutions", "empirical",
        ("ch-multigrid", "sec-e4"), "E4", ["05_multigrid_unet"], multigrid, timed=True)

    def activations(c):
        nonmono = 2 * int(c["nonmono_blocks"]) > int(c["all_blocks"])
        key = c["cmp_trainable_monotone"]  # one factor: nonmonotone vs monotone, both learned
        wins, n_mono = int(c["wins_mono_paired"]), int(c["n_mono"])
        verdict = ("confirmed" if nonmono and key == "better" and wins == n_mono else
                   "partly confirmed" if key == "better" or nonmono else "not confirmed")
        return (f"{c['nonmono_blocks']} of {c['all_blocks']} learned fluxes nonmonotone; "
                f"against a trainable monotone flux with the same parameters: {key} "
                f"(test RMSE {c['rmse_trainable']:.4f} vs "
                f"{c['rmse_trainable_monotone']:.4f}); better than {wins} of {n_mono} "
                f"monotone networks; classical Perona-Malik tuned on validation: "
                f"{c['rmse_classical_perona_malik']:.4f} (the network is "
                f"{c['cmp_classical_perona_malik']} against it)", int(c["n_runs"]), verdict)
    add("Trainable nonmonotone activations", "empirical",
        ("ch-learned-activations", "sec-e6"), "E6",
        ["06_learned_activations"], activations)

    def half(c):
        pre, source = _e5_source(c)
        n, losses = int(c[pre + "n_budgets"]), int(c[pre + "half_losses"])
        return (f"{source}: at the same architecture with half the parameters, worse by "
                f"the win rule at {losses} and better at {c[pre + 'half_wins']} of {n} "
                f"budgets (mean {c[pre + 'mean_gap_half']:+.2f} ± "
                f"{c[pre + 'sd_gap_half']:.2f} points)", int(c[pre + "n_seeds"]),
                _share(n - losses, n))
    add("Half the parameters at the same architecture cost no accuracy", "empirical",
        ("ch-classification", "sec-e5"), "E5", ["07_image_classification"], half)

    def equal(c):
        pre, source = _e5_source(c)
        return (f"{source}: symmetric (twice as deep, twice the multiply-adds) better by "
                f"the win rule at {c[pre + 'deep_wins']} and worse at "
                f"{c[pre + 'deep_losses']} of {c[pre + 'n_budgets']} budgets (mean "
                f"{c[pre + 'mean_gap_deep']:+.2f} ± {c[pre + 'sd_gap_deep']:.2f} points); "
                f"stable by construction: better at {c[pre + 'stable_wins']}, worse at "
                f"{c[pre + 'stable_losses']}", int(c[pre + "n_seeds"]),
                _share(int(c[pre + "deep_wins"]), int(c[pre + "n_budgets"])))
    add("Better than standard networks at equal model complexity", "empirical",
        ("ch-classification", "sec-e5"), "E5", ["07_image_classification"], equal)
    return rows


def claims_table(rows: list[ClaimRow], kind: str = "empirical") -> str:
    """Return the rows of one ``kind`` as a Markdown table with links to the chapters.

    Verified rows show the measured defect; empirical rows also the number of seeds. A
    verdict that compares CPU times (:attr:`ClaimRow.timed`) says so.
    """
    if kind not in ("verified", "empirical"):
        raise ValueError(f"kind must be 'verified' or 'empirical', got {kind!r}")
    if kind == "verified":
        lines = ["| holds by construction | checked in | check | measured | result |",
                 "|---|---|---|---|---|"]
    else:
        lines = ["| claim | tested in | experiment | evidence | seeds | verdict |",
                 "|---|---|---|---|---|---|"]
    for r in rows:
        if r.kind != kind:
            continue
        if any("|" in s for s in (r.claim, r.experiment, r.evidence)):
            raise ValueError(f"a '|' would break the Markdown table: {r.claim!r}")
        where = f"{{ref}}`{CHAPTER_TITLES.get(r.chapter, r.chapter)} <{r.section or r.chapter}>`"
        seeds = "" if kind == "verified" else f" {r.seeds or '-'} |"
        timed = " (on CPU times)" if r.timed else ""
        lines.append(f"| {r.claim} | {where} | {r.experiment} | {r.evidence} |{seeds} "
                     f"**{r.verdict}**{timed} |")
    return "\n".join(lines)
