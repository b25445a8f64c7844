"""Tests for pdecore.diffusivities: g, the flux Phi, Phi' and the potential Psi."""

import math

import numpy as np
import pytest
import scipy.integrate
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import pdecore
from pdecore.diffusivities import ALIASES, Diffusivity

NAMES = ["linear", "perona_malik", "exponential", "charbonnier", "weickert"]
WEICKERT_C = 3.31488

lams = st.floats(0.01, 100.0)
gradients = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


def test_registry_holds_the_spec_table():
    assert sorted(pdecore.DIFFUSIVITIES) == sorted(NAMES)
    # monotone flags as in SPEC.md section 1
    expected = {
        "linear": True,
        "perona_malik": False,
        "exponential": False,
        "charbonnier": True,
        "weickert": False,
    }
    assert {k: d.monotone for k, d in pdecore.DIFFUSIVITIES.items()} == expected
    assert all(d.g_max == 1.0 for d in pdecore.DIFFUSIVITIES.values())


# --- known values, worked out by hand --------------------------------------------


@pytest.mark.parametrize("lam", [0.3, 1.0, 2.0])
def test_known_values(lam):
    lam2 = lam**2
    assert float(pdecore.diffusivity("linear", 123.0, lam)) == 1.0
    assert float(pdecore.diffusivity("perona_malik", lam2, lam)) == pytest.approx(0.5)
    assert float(pdecore.diffusivity("exponential", 2 * lam2, lam)) == pytest.approx(math.exp(-1))
    assert float(pdecore.diffusivity("charbonnier", 3 * lam2, lam)) == pytest.approx(0.5)
    assert float(pdecore.diffusivity("weickert", 0.0, lam)) == 1.0
    assert float(pdecore.diffusivity("weickert", lam2, lam)) == pytest.approx(
        1 - math.exp(-WEICKERT_C)
    )
    # flux: PM at s = lam is lam/2; linear is the identity
    assert float(pdecore.flux("perona_malik", lam, lam)) == pytest.approx(lam / 2)
    assert float(pdecore.flux("linear", -2.5, lam)) == -2.5
    # closed-form potentials at s = lam
    assert float(pdecore.potential("linear", lam, lam)) == pytest.approx(lam2 / 2)
    assert float(pdecore.potential("perona_malik", lam, lam)) == pytest.approx(
        lam2 / 2 * math.log(2)
    )
    assert float(pdecore.potential("exponential", lam, lam)) == pytest.approx(
        lam2 * (1 - math.exp(-0.5))
    )
    assert float(pdecore.potential("charbonnier", lam, lam)) == pytest.approx(
        lam2 * (math.sqrt(2) - 1)
    )


@pytest.mark.parametrize("name", NAMES)
def test_scalar_input_gives_a_scalar(name):
    # Regression: the in-place g implementations failed on 0-d input.
    for fn in (pdecore.diffusivity, pdecore.flux, pdecore.flux_derivative, pdecore.potential):
        value = fn(name, 1.0, 1.0)
        assert np.ndim(value) == 0
        assert np.isfinite(float(value))


@pytest.mark.parametrize("name", NAMES)
def test_matches_the_formula_of_the_spec(name, reference_g):
    lam = 0.7
    s = np.linspace(-6.0, 6.0, 241)
    g_ref = reference_g[name](s**2, lam)
    assert_allclose(pdecore.diffusivity(name, s**2, lam), g_ref, rtol=1e-13, atol=1e-300)
    assert_allclose(pdecore.flux(name, s, lam), g_ref * s, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", NAMES)
def test_shape_is_kept(name):
    s = np.arange(12.0).reshape(3, 4) - 5
    for fn in (pdecore.flux, pdecore.flux_derivative, pdecore.potential):
        assert fn(name, s, 2.0).shape == (3, 4)
    assert pdecore.diffusivity(name, s**2, 2.0).shape == (3, 4)
    assert pdecore.flux(name, [1, 2, 3]).dtype == np.float64  # ints accepted


@pytest.mark.parametrize("lam", [0.3, 1.0])
@pytest.mark.parametrize("name", NAMES)
def test_in_place_evaluation_is_bitwise_the_fresh_one(name, lam):
    # g(s2, lam, out=s2), as the explicit step calls it, skips the exact product s2 * 1.0
    # when lam = 1: the values must not change in any bit
    s2 = np.random.default_rng(0).standard_normal(50) ** 2 * 4.0
    g = pdecore.DIFFUSIVITIES[name].g
    work = s2.copy()
    assert g(work, lam, work) is work
    np.testing.assert_array_equal(work, g(s2, lam))
    np.testing.assert_array_equal(work, pdecore.diffusivity(name, s2, lam))


@pytest.mark.parametrize("lam", [0.5, 1.0, 4.0])
@pytest.mark.parametrize("name", ["perona_malik", "exponential", "weickert"])
def test_flux_maximum_is_at_lambda(name, lam):
    # Phi'(lam) = 0 for PM and exponential exactly; for Weickert the constant 3.31488
    # is chosen so that the flux maximum sits at s = lam.
    assert abs(float(pdecore.flux_derivative(name, lam, lam))) < 1e-5
    s = np.linspace(0.0, 3 * lam, 30001)
    s_max = s[np.argmax(pdecore.flux(name, s, lam))]
    assert s_max == pytest.approx(lam, rel=1e-3)


def test_weickert_flux_maximum_moves_with_the_constant():
    # The constant matters: with C = 1 the maximum would be elsewhere (falsifiability).
    lam = 1.0
    s = np.linspace(0.01, 3.0, 30001)
    flux_c1 = s * (1 - np.exp(-1.0 / s**8))
    assert abs(s[np.argmax(flux_c1)] - lam) > 0.05


# --- properties (hypothesis) ------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@given(s=gradients, lam=lams)
def test_flux_is_odd_and_in_the_sector(name, s, lam):
    phi = float(pdecore.flux(name, s, lam))
    assert float(pdecore.flux(name, -s, lam)) == -phi
    if s != 0:
        ratio = phi / s
        assert 0.0 <= ratio <= 1.0
    g = float(pdecore.diffusivity(name, s * s, lam))
    assert 0.0 <= g <= 1.0


@pytest.mark.parametrize("name", NAMES)
@given(s=gradients, lam=lams)
def test_potential_is_even_and_nonnegative(name, s, lam):
    psi = float(pdecore.potential(name, s, lam))
    assert psi >= 0.0
    assert float(pdecore.potential(name, -s, lam)) == pytest.approx(psi, rel=1e-14)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lam", [0.2, 1.0, 3.0])
def test_value_at_zero(name, lam):
    assert float(pdecore.flux(name, 0.0, lam)) == 0.0
    assert float(pdecore.potential(name, 0.0, lam)) == 0.0
    assert float(pdecore.diffusivity(name, 0.0, lam)) == 1.0
    assert float(pdecore.flux_derivative(name, 0.0, lam)) == pytest.approx(1.0)


# --- derivatives and integrals, checked numerically ------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lam", [0.3, 1.0, 2.5])
def test_flux_derivative_matches_finite_difference(name, lam):
    s = np.linspace(-5 * lam, 5 * lam, 201)
    eps = 1e-6 * lam
    fd = (pdecore.flux(name, s + eps, lam) - pdecore.flux(name, s - eps, lam)) / (2 * eps)
    assert_allclose(pdecore.flux_derivative(name, s, lam), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lam", [0.3, 1.0, 2.5])
def test_potential_derivative_is_the_flux(name, lam):
    s = np.linspace(-8 * lam, 8 * lam, 161)
    eps = 1e-5 * lam
    fd = (pdecore.potential(name, s + eps, lam) - pdecore.potential(name, s - eps, lam)) / (2 * eps)
    assert_allclose(fd, pdecore.flux(name, s, lam), rtol=1e-6, atol=1e-7 * lam)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lam", [0.1, 1.0, 3.0])
def test_potential_equals_quadrature(name, lam):
    # up to |s| = 100 lam: far beyond the flux maximum, where the Weickert flux has
    # dropped to nearly zero and a fixed quadrature rule on [0, s] would miss its hump
    for ratio in [1e-3, 0.3, 0.9, 1.0, 1.7, 4.0, 20.0, -7.0, 100.0]:
        s = ratio * lam
        points = [math.copysign(lam, s)] if abs(s) > lam else None
        exact, _ = scipy.integrate.quad(
            lambda t: float(pdecore.flux(name, t, lam)),
            0.0,
            s,
            points=points,
            limit=200,
            epsabs=1e-14,
            epsrel=1e-12,
        )
        assert float(pdecore.potential(name, s, lam)) == pytest.approx(
            exact, rel=1e-9, abs=1e-14
        ), f"s = {ratio} lam"


@pytest.mark.parametrize("name", NAMES)
def test_monotone_flag_agrees_with_flux_derivative(name):
    lam = 1.3
    s = np.linspace(0.0, 20 * lam, 4001)
    min_slope = pdecore.flux_derivative(name, s, lam).min()
    monotone = pdecore.DIFFUSIVITIES[name].monotone
    if monotone:
        assert min_slope >= 0.0
    else:
        assert min_slope < -1e-3  # a real backward-diffusion region, not roundoff


@pytest.mark.parametrize("name", ["linear", "perona_malik", "exponential", "charbonnier"])
def test_flux_is_one_lipschitz(name):
    # premise of the descent lemma used in test_explicit (energy decrease at tau=1/4)
    s = np.linspace(-30.0, 30.0, 6001)
    assert np.abs(pdecore.flux_derivative(name, s, 1.0)).max() <= 1.0 + 1e-12


# --- name handling, callables -----------------------------------------------------


def _pm(s2, lam):
    return 1.0 / (1.0 + s2 / lam**2)


def test_callable_is_accepted():
    s = np.linspace(-4, 4, 81)
    assert_allclose(pdecore.flux(_pm, s, 0.8), pdecore.flux("perona_malik", s, 0.8))
    assert_allclose(pdecore.diffusivity(_pm, s**2, 0.8), 1 / (1 + s**2 / 0.64))
    # flux derivative by finite differences, potential by quadrature, for callables
    assert_allclose(
        pdecore.flux_derivative(_pm, s, 0.8),
        pdecore.flux_derivative("perona_malik", s, 0.8),
        atol=1e-7,
    )
    assert_allclose(
        pdecore.potential(_pm, s, 0.8), pdecore.potential("perona_malik", s, 0.8), rtol=1e-10
    )
    u = np.linspace(0, 1, 10) ** 2
    assert_allclose(
        pdecore.explicit_step(u, 0.2, _pm, lam=0.1),
        pdecore.explicit_step(u, 0.2, "perona_malik", lam=0.1),
        rtol=1e-14,
    )
    d = pdecore.get_diffusivity(_pm)
    assert isinstance(d, Diffusivity)
    assert d.name == "_pm"


def test_diffusivity_instance_is_accepted():
    d = pdecore.DIFFUSIVITIES["charbonnier"]
    assert pdecore.get_diffusivity(d) is d
    assert_allclose(pdecore.flux(d, [3.0], 4.0), [3.0 / math.sqrt(1 + 9 / 16)])


@pytest.mark.parametrize(
    "alias, target", [("pm", "perona_malik"), ("perona_malik_exp", "exponential")]
)
def test_aliases(alias, target):
    assert ALIASES[alias] == target
    assert pdecore.get_diffusivity(alias) is pdecore.DIFFUSIVITIES[target]
    assert_allclose(pdecore.flux(alias, [0.5, 2.0]), pdecore.flux(target, [0.5, 2.0]))


@pytest.mark.parametrize(
    "fn", [pdecore.diffusivity, pdecore.flux, pdecore.flux_derivative, pdecore.potential]
)
def test_unknown_name_lists_the_valid_names(fn):
    with pytest.raises(ValueError, match="unknown diffusivity 'tukey'") as info:
        fn("tukey", 1.0, 1.0)
    for name in NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [3, None, 2.5, ["perona_malik"]])
def test_non_string_non_callable_is_a_type_error(bad):
    with pytest.raises(TypeError, match="diffusivity must be a name"):
        pdecore.get_diffusivity(bad)


# --- bad lam and bad gradients ----------------------------------------------------

FUNCTIONS = [pdecore.diffusivity, pdecore.flux, pdecore.flux_derivative, pdecore.potential]


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("lam", [0.0, -1.0, float("nan"), float("inf"), -np.inf])
def test_bad_lam_value(fn, lam):
    with pytest.raises(ValueError, match=r"^lam must be"):
        fn("perona_malik", 1.0, lam)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("lam", ["1.0", True, None, 1j, [1.0]])
def test_bad_lam_type(fn, lam):
    with pytest.raises(TypeError, match=r"^lam must be a real number"):
        fn("perona_malik", 1.0, lam)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("s", [np.ones(3, complex), np.ones(3, bool), ["a", "b"], [1, None]])
def test_bad_gradient_dtype(fn, s):
    with pytest.raises(TypeError, match=r"^s2? must hold real numbers"):
        fn("charbonnier", s, 1.0)


@pytest.mark.parametrize("fn", [pdecore.flux, pdecore.flux_derivative, pdecore.potential])
def test_nan_gradient(fn):
    with pytest.raises(ValueError, match=r"^s contains NaN"):
        fn("perona_malik", [0.0, np.nan], 1.0)


@pytest.mark.parametrize("s2", [[1.0, -0.5], [np.nan]])
def test_squared_gradient_must_be_nonnegative(s2):
    with pytest.raises(ValueError, match=r"^s2 must be >= 0"):
        pdecore.diffusivity("perona_malik", s2, 1.0)


def test_a_callable_s_potential_stays_within_ten_times_its_input_memory():
    import tracemalloc

    s = np.linspace(-5, 5, 2**18)  # 2 MB
    tracemalloc.start()
    try:
        psi = pdecore.potential(lambda s2, lam: np.ones_like(s2), s)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(psi, s**2 / 2, rtol=1e-12)  # Psi of g = 1 is s^2 / 2
    assert peak < 10 * s.nbytes
