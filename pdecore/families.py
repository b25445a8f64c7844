"""The network families of the book as they read in figures, tables and sentences.

Chapters 6 and 7 compare families of networks under one name each: ``"trainable"``,
``"perona_malik"``, ``"standard"`` (:mod:`pdecore.experiments.denoising`),
``"symmetric_deep"`` (:mod:`pdecore.experiments.classification`), ... The registry
:data:`FAMILIES` maps each name to a :class:`Family` with its short label, its phrase in a
sentence, a description and its colour, so that the figures (:mod:`pdecore.plotting`),
the experiments' tables and verdicts, and the chapters name a family alike. The names
themselves are the experiments' (and the results files' keys); only what is shown lives
here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diffusivities import ALIASES

__all__ = ["FAMILIES", "Family", "get_family"]


@dataclass(frozen=True)
class Family:
    """How one network family is shown.

    Attributes
    ----------
    name : str
        Registry key, the name the experiments use.
    label : str
        Short name for legends, axis ticks and table cells, e.g. ``"learned flux"``.
    phrase : str
        The family in a sentence, e.g. ``"the learned nonmonotone flux"``.
    description : str
        What its blocks are, for the table column next to the name.
    colour : str or None
        Its matplotlib colour in the figures of chapter 6; ``None`` where figures colour
        the families by position (chapter 7).
    """

    name: str
    label: str
    phrase: str
    description: str
    colour: str | None = None


#: The registry: each family name maps to its :class:`Family`.
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        # E6, denoising (chapter 6): the activation of a stable diffusion network
        Family("trainable", "learned flux", "the learned nonmonotone flux",
               "learned flux per block, free", "C0"),
        Family("trainable_monotone", "learned monotone flux", "the trainable monotone flux",
               "learned flux per block, monotone", "C2"),
        Family("linear", "linear", "the linear flux", "fixed, monotone", "C4"),
        Family("charbonnier", "Charbonnier", "the Charbonnier flux", "fixed, monotone", "C5"),
        Family("relu", "ReLU", "the ReLU", "fixed, monotone", "C8"),
        Family("perona_malik", "Perona-Malik", "the fixed Perona-Malik flux",
               "fixed, nonmonotone", "C1"),
        Family("exponential", "exponential", "the fixed exponential flux",
               "fixed, nonmonotone", "C6"),
        Family("weickert", "Weickert", "the fixed Weickert flux", "fixed, nonmonotone", "C9"),
        # both experiments: the unconstrained residual network
        Family("standard", "standard", "the standard ResNet", "standard ResNet, ReLU", "C3"),
        # E5, image classification (chapter 7): symmetric residual classifiers
        Family("symmetric_half", "symmetric, same architecture",
               "the symmetric network of the same architecture",
               "symmetric blocks, the same architecture"),
        Family("symmetric_deep", "symmetric, twice as deep",
               "the twice-as-deep symmetric network",
               "symmetric blocks, twice the blocks per stage"),
        Family("symmetric_stable", "symmetric, twice as deep, stable",
               "the stable twice-as-deep symmetric network",
               "twice as deep, stable by construction"),
        Family("symmetric_wide", "symmetric, wider", "the wider symmetric network",
               "symmetric blocks, width fitted to the budget"),
    ]
}


def get_family(name: str) -> Family:
    """Look up how the family ``name`` is shown.

    Parameters
    ----------
    name : str
        A key of :data:`FAMILIES` or a diffusivity alias (``"pm"``). A name without an
        entry (a family a user adds) is shown as itself, without a fixed colour.

    Returns
    -------
    Family

    Raises
    ------
    TypeError
        If ``name`` is not a string.

    See Also
    --------
    pdecore.get_diffusivity : the registry of the diffusivities themselves.

    Examples
    --------
    >>> from pdecore.families import get_family
    >>> print(get_family("trainable").label, "|", get_family("pm").phrase)
    learned flux | the fixed Perona-Malik flux
    >>> print(get_family("my_net"))
    Family(name='my_net', label='my_net', phrase='my_net', description='my_net', colour=None)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a family name (str), got {type(name).__name__} "
                        f"{name!r}")
    key = ALIASES.get(name, name)
    return FAMILIES.get(key) or Family(name, name, name, name)
