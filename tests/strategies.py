"""Hypothesis strategies shared by the property tests of several modules.

Random signals, contrasts and diffusivity names for the schemes; random SPD tridiagonal
systems :math:`I + \\tau D^\\top \\operatorname{diag}(g) D` (jumps included) for multigrid.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pdecore

NAMES = ["linear", "perona_malik", "exponential", "charbonnier", "weickert"]

signals = arrays(np.float64, st.integers(3, 40), elements=st.floats(-100.0, 100.0))
lams = st.floats(0.05, 20.0)
names = st.sampled_from(NAMES)


def scale(u):
    """1 + max |u|: the size that rounding tolerances are relative to."""
    return 1.0 + np.abs(u).max()


#: Parameters of an FED or FSI run (:func:`run_cycles`).
fed_params = {
    "u": signals,
    "lam": lams,
    "name": names,
    "cycles": st.integers(1, 4),
    "order": st.sampled_from([1, 2]),
    "fraction": st.floats(0.1, 1.0),
    "time_fraction": st.floats(0.3, 1.0),
}


def run_cycles(scheme, u, lam, name, cycles, order, fraction, time_fraction, steps):
    """Run ``cycles`` cycles of at most ``steps`` steps each (T chosen accordingly)."""
    if u.size <= order:
        u = np.r_[u, 0.0, 1.0]
    tau = fraction * pdecore.stability_limit(u.size, order)
    T = time_fraction * cycles * tau * (steps * steps + steps) / 3.0
    ev = getattr(pdecore, scheme)(u, T, tau, cycles, name, lam, order=order, save_every=1)
    return u, ev


def assert_mass_kept(scheme, u, lam, name, cycles, order, fraction, time_fraction, steps):
    """FED or FSI (``scheme``, a pdecore function name) keeps the mean of ``u``."""
    u, ev = run_cycles(scheme, u, lam, name, cycles, order, fraction, time_fraction, steps)
    assert abs(ev.u.sum() - u.sum()) <= 1e-10 * scale(u) * u.size


def assert_cycle_norms_never_grow(scheme, u, lam, name, cycles, order, fraction,
                                  time_fraction, steps):
    """The norm at the ends of FED or FSI cycles never increases (g frozen per cycle)."""
    u, ev = run_cycles(scheme, u, lam, name, cycles, order, fraction, time_fraction, steps)
    n = (ev.states.shape[0] - 1) // cycles  # steps per cycle
    assert n <= steps
    at_cycle_ends = np.linalg.norm(ev.states[::n], axis=-1)
    assert at_cycle_ends.size == cycles + 1
    assert np.all(np.diff(at_cycle_ends) <= 1e-10 * at_cycle_ends[0] + 1e-300)


@st.composite
def spd_systems(draw):
    """A random matrix I + tau D^T diag(g) D (g >= 0, jumps included) and a right side."""
    n = draw(st.integers(5, 300))
    g = draw(arrays(np.float64, n - 1, elements=st.floats(0.0, 1.0)))
    g = np.where(draw(arrays(np.bool_, n - 1)), g, g * 1e-4)  # diffusivity jumps
    tau = draw(st.floats(1e-2, 1e4))
    w = tau * g
    diag = np.ones(n)
    diag[:-1] += w
    diag[1:] += w
    b = draw(arrays(np.float64, n, elements=st.floats(-1.0, 1.0)))
    return pdecore.Tridiagonal(diag, -w), b


def cycle_property_tests(scheme, max_steps):
    """The two hypothesis tests of whole FED or FSI cycles, for a scheme's test module.

    ``max_steps`` is the longest cycle tested (see the module that uses it).
    """
    from hypothesis import given

    @given(**fed_params, steps=st.integers(1, 40))
    def test_cycles_preserve_mass(u, lam, name, cycles, order, fraction, time_fraction,
                                  steps):
        assert_mass_kept(scheme, u, lam, name, cycles, order, fraction, time_fraction,
                         steps)

    @given(**fed_params, data=st.data())
    def test_cycle_ends_never_increase_the_norm(u, lam, name, cycles, order, fraction,
                                                time_fraction, data):
        steps = data.draw(st.integers(1, max_steps), label="steps")
        assert_cycle_norms_never_grow(scheme, u, lam, name, cycles, order, fraction,
                                      time_fraction, steps)

    return test_cycles_preserve_mass, test_cycle_ends_never_increase_the_norm
