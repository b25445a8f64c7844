"""pdecore.families: one entry per family the experiments compare, shown alike everywhere."""

import pytest
from matplotlib.colors import is_color_like

from pdecore import DIFFUSIVITIES
from pdecore.experiments import classification, denoising
from pdecore.families import FAMILIES, Family, get_family

EXPERIMENT_FAMILIES = {*denoising.FAMILIES, *denoising.CLASSICAL, *classification.FAMILIES}


def test_every_family_of_the_experiments_and_every_diffusivity_has_an_entry():
    assert EXPERIMENT_FAMILIES | set(DIFFUSIVITIES) <= set(FAMILIES)
    assert all(key == f.name for key, f in FAMILIES.items())


def test_labels_and_phrases_tell_the_families_apart():
    labels = [f.label for f in FAMILIES.values()]
    phrases = [f.phrase for f in FAMILIES.values()]
    assert len(set(labels)) == len(labels) and len(set(phrases)) == len(phrases)
    assert all(p.startswith("the ") for p in phrases)  # they stand inside a sentence
    assert all(f.description for f in FAMILIES.values())


def test_colours_are_valid_and_distinct_where_fixed():
    colours = [f.colour for f in FAMILIES.values() if f.colour is not None]
    assert all(is_color_like(c) for c in colours)
    assert len(set(colours)) == len(colours)
    # chapter 6 draws every one of its families and classical diffusions in its own colour
    assert all(get_family(f).colour for f in (*denoising.FAMILIES, *denoising.CLASSICAL))


def test_the_texts_that_chapters_glue_are_kept():
    """Glued verdicts of chapters 6 and 7 are built from these; they must not drift."""
    assert get_family("trainable").phrase == "the learned nonmonotone flux"
    assert get_family("perona_malik").phrase == "the fixed Perona-Malik flux"
    assert get_family("standard").label == "standard"
    assert get_family("symmetric_stable").label == "symmetric, twice as deep, stable"
    assert get_family("charbonnier").description == "fixed, monotone"


def test_aliases_and_unknown_names():
    assert get_family("pm") is FAMILIES["perona_malik"]
    assert get_family("perona_malik_exp") is FAMILIES["exponential"]
    assert get_family("my_net") == Family("my_net", "my_net", "my_net", "my_net", None)


@pytest.mark.parametrize("bad", [None, 3, ["trainable"], b"relu"])
def test_a_name_must_be_a_string(bad):
    with pytest.raises(TypeError, match="name"):
        get_family(bad)
