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
    "VERDICTS",
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
    """One claim of the abstract, where it is tested, what was measured, the verdict."""

    claim: str
    chapter: str
    experiment: str
    measured: str
    verdict: str


#: The possible verdicts, from best to worst.
VERDICTS = ("confirmed", "partly confirmed", "not confirmed", "not tested")

#: Chapter titles by label, for the table.
CHAPTER_TITLES = {
    "ch-explicit": "2, explicit schemes",
    "ch-multigrid": "5, multigrid",
    "ch-learned-activations": "6, learned activations",
    "ch-classification": "7, classification",
}


def _outcome(wins: int, total: int) -> str:
    if total == 0:
        return "not tested"
    return "confirmed" if wins == total else "partly confirmed" if wins else "not confirmed"


def assess_claims(results: Mapping[str, Mapping[str, object]]) -> list[ClaimRow]:
    """Turn the chapters' glued numbers into one verdict per claim of the abstract.

    A claim whose chapter was not executed gets the verdict ``"not tested"``.

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
    rows = []

    def missing(*names):
        return any(n not in r for n in names)

    claim = "A symmetric residual block with provable (Euclidean) stability"
    if missing("02_explicit_resnet"):
        rows.append(ClaimRow(claim, "ch-explicit", "E1", "-", "not tested"))
    else:
        c = r["02_explicit_resnet"]
        ok = c["sym_at_bound"] <= 1 + 1e-12 and c["n_std_grow"] > 0
        rows.append(ClaimRow(
            claim, "ch-explicit", "E1",
            f"largest norm ratio of symmetric networks at the bound {c['sym_at_bound']:.6f}; "
            f"{c['n_std_grow']} of {c['n_std']} standard networks grew",
            "confirmed" if ok else "not confirmed"))

    claim = "Skip connections justified by numerics (explicit, FED/FSI, multigrid)"
    parts = {"02_explicit_resnet": "equiv_err", "03_fed_fsi": "net_dev",
             "05_multigrid_unet": "unet_dev"}
    found = {ch: r[ch][key] for ch, key in parts.items() if ch in r}
    if not found:
        rows.append(ClaimRow(claim, "ch-explicit", "equivalence", "-", "not tested"))
    else:
        worst = max(found.values())
        verdict = ("confirmed" if len(found) == len(parts) and worst < 1e-10 else
                   "partly confirmed" if worst < 1e-10 else "not confirmed")
        rows.append(ClaimRow(
            claim, "ch-explicit", "network = scheme",
            f"{len(found)} of {len(parts)} constructions reproduce their scheme; largest "
            f"deviation {worst:.1e}", verdict))

    claim = "U-nets that implement multigrid learn efficient PDE solutions"
    if missing("05_multigrid_unet"):
        rows.append(ClaimRow(claim, "ch-multigrid", "E4", "-", "not tested"))
    else:
        c = r["05_multigrid_unet"]
        learned = _outcome(int(c["e4_wins"]), int(c["e4_pairs"]))
        # "efficient" is judged against the exact O(N) solver the book has (dptsv)
        beaten = c["best_vs_dptsv"] == "slower and less accurate"
        verdict = "partly confirmed" if beaten and learned == "confirmed" else learned
        rows.append(ClaimRow(
            claim, "ch-multigrid", "E4",
            f"multigrid U-net better than the standard U-net at {c['e4_wins']} of "
            f"{c['e4_pairs']} equal budgets (paired over seeds); the best learned net is "
            f"{c['best_vs_dptsv']} than the exact tridiagonal solver "
            f"({c['best_dptsv_time_ratio']:.1f}x its time)", verdict))

    claim = "Trainable nonmonotone activation functions"
    if missing("06_learned_activations"):
        rows.append(ClaimRow(claim, "ch-learned-activations", "E6", "-", "not tested"))
    else:
        c = r["06_learned_activations"]
        nonmono = 2 * int(c["nonmono_blocks"]) > int(c["all_blocks"])
        key = c["cmp_trainable_monotone"]  # one factor: nonmonotone vs monotone, both learned
        wins, n_mono = int(c["wins_mono_paired"]), int(c["n_mono"])
        verdict = ("confirmed" if nonmono and key == "better" and wins == n_mono else
                   "partly confirmed" if key == "better" or nonmono else "not confirmed")
        rows.append(ClaimRow(
            claim, "ch-learned-activations", "E6",
            f"{c['nonmono_blocks']} of {c['all_blocks']} learned fluxes nonmonotone; against "
            f"a trainable monotone flux with the same parameters: {key} over {c['n_runs']} "
            f"seeds (test RMSE {c['rmse_trainable']:.4f} vs "
            f"{c['rmse_trainable_monotone']:.4f}); better than {wins} of {n_mono} monotone "
            f"networks by the win rule; classical Perona-Malik tuned on validation: "
            f"{c['rmse_classical_perona_malik']:.4f} (the network is "
            f"{c['cmp_classical_perona_malik']} against it)", verdict))

    claim = "Half the trainable parameters of a standard block"
    found = [r[ch][key] for ch, key in (("02_explicit_resnet", "param_ratio"),
                                        ("07_image_classification", "block_ratio"))
             if ch in r]
    if not found:
        rows.append(ClaimRow(claim, "ch-explicit", "counts", "-", "not tested"))
    else:
        ok = all(abs(v - 0.5) < 0.02 for v in found)
        rows.append(ClaimRow(
            claim, "ch-explicit", "parameter counts",
            "ratio symmetric / standard " + ", ".join(f"{v:.3f}" for v in found),
            "confirmed" if ok else "not confirmed"))

    claim = "Better than standard networks at equal model complexity"
    if missing("07_image_classification"):
        rows.append(ClaimRow(claim, "ch-classification", "E5", "-", "not tested"))
    else:
        c = r["07_image_classification"]
        # the paper-scale archive decides when it is complete for the current config
        paper = int(c.get("paper_complete", 0)) == 1
        pre, source = (("paper_", f"make paper archive ({c['paper_n_train']} images, "
                                  f"{c['paper_epochs']} epochs)") if paper else
                       ("", f"the chapter's default run ({c['n_train']} images, "
                            f"{c['epochs']} epochs)"))
        n_seeds = c[f"{pre}n_seeds"]
        rows.append(ClaimRow(
            claim, "ch-classification", "E5",
            f"{source}: symmetric (twice as deep, twice the multiply-adds) better by the "
            f"win rule at {c[pre + 'deep_wins']} and worse at {c[pre + 'deep_losses']} of "
            f"{c[pre + 'n_budgets']} budgets over {n_seeds} seeds (mean "
            f"{c[pre + 'mean_gap_deep']:+.2f} ± {c[pre + 'sd_gap_deep']:.2f} points); "
            f"stable by construction: better at {c[pre + 'stable_wins']}, worse at "
            f"{c[pre + 'stable_losses']}",
            _outcome(int(c[pre + "deep_wins"]), int(c[pre + "n_budgets"]))))
    return rows


def claims_table(rows: list[ClaimRow]) -> str:
    """Return the claims as a Markdown table with links to the chapters."""
    lines = ["| claim of the abstract | tested in | experiment | measured | verdict |",
             "|---|---|---|---|---|"]
    for r in rows:
        where = f"{{ref}}`{CHAPTER_TITLES.get(r.chapter, r.chapter)} <{r.chapter}>`"
        lines.append(f"| {r.claim} | {where} | {r.experiment} | {r.measured} | "
                     f"**{r.verdict}** |")
    return "\n".join(lines)
