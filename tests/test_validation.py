"""Common errors: every public function refuses bad signals and bad scalar arguments.

The pattern of pyamg's ``TestCommonRelaxation``: one table of public functions, one loop
over bad inputs. Wrong type or dtype is a ``TypeError``, wrong shape or value a
``ValueError``, and every message starts with the name of the bad argument.
"""

import dataclasses
import inspect
import numbers
import re

import numpy as np
import pytest

import pdecore
from pdecore._schemes import LATER, scheme_args
from pdecore._validation import (
    as_bool,
    as_choice,
    as_damping,
    as_int,
    as_order,
    as_positive,
    as_signal,
    as_vector,
)


def _public_functions():
    return {
        name: obj
        for name, obj in ((n, getattr(pdecore, n)) for n in pdecore.__all__)
        if inspect.isfunction(obj)
    }


def _starts_with(name):
    return rf"^{re.escape(name)}\b"


# --- functions that take a signal -------------------------------------------------

SIGNAL_ARGS = {"u", "v", "u0", "f"}


def _identity_step(u, k):
    return u


#: name -> (call with the signal, argument name, smallest admissible length)
SIGNAL_FUNCTIONS = {
    "explicit_step": (lambda x: pdecore.explicit_step(x, 0.1), "u", 2),
    "apply_derivative": (lambda x: pdecore.apply_derivative(x), "u", 2),
    "apply_adjoint": (lambda x: pdecore.apply_adjoint(x), "v", 1),
    "energy": (lambda x: pdecore.energy(x), "u", 2),
    "evolve": (lambda x: pdecore.evolve(x, _identity_step, 2), "u0", 1),
    "explicit_evolution": (lambda x: pdecore.explicit_evolution(x, 0.1, 2), "u0", 2),
    "add_noise": (lambda x: pdecore.add_noise(x, 0.1), "f", 1),
    "fed_evolution": (lambda x: pdecore.fed_evolution(x, 1.0, 0.25), "u0", 2),
    "fsi_evolution": (lambda x: pdecore.fsi_evolution(x, 1.0, 0.25), "u0", 2),
    "semi_implicit_step": (lambda x: pdecore.semi_implicit_step(x, 1.0), "u", 2),
    "semi_implicit_matrix_bands": (lambda x: pdecore.semi_implicit_matrix_bands(x, 1.0), "u", 2),
    "implicit_fixed_point_step": (
        lambda x: pdecore.implicit_fixed_point_step(x, 0.1, maxiter=2), "u", 2),
    "semi_implicit_jacobi": (lambda x: pdecore.semi_implicit_jacobi(x, 1.0, maxiter=2), "u", 2),
    "semi_implicit_multigrid_step": (
        lambda x: pdecore.semi_implicit_multigrid_step(x, 1.0), "u", 2),
}

#: the same with order=2, where it applies: one more point is needed
SIGNAL_FUNCTIONS_ORDER_2 = {
    "explicit_step": (lambda x: pdecore.explicit_step(x, 0.01, order=2), "u", 3),
    "apply_derivative": (lambda x: pdecore.apply_derivative(x, order=2), "u", 3),
    "energy": (lambda x: pdecore.energy(x, order=2), "u", 3),
    "explicit_evolution": (lambda x: pdecore.explicit_evolution(x, 0.01, 2, order=2), "u0", 3),
    "fed_evolution": (lambda x: pdecore.fed_evolution(x, 0.1, 0.06, order=2), "u0", 3),
    "fsi_evolution": (lambda x: pdecore.fsi_evolution(x, 0.1, 0.06, order=2), "u0", 3),
    "semi_implicit_step": (lambda x: pdecore.semi_implicit_step(x, 1.0, order=2), "u", 3),
}

BAD_SIGNAL_TYPES = {
    "complex": np.ones(6, dtype=complex),
    "bool": np.ones(6, dtype=bool),
    "strings": ["a", "b", "c", "d", "e", "f"],
    "one_string": "abcdef",
    "objects": [1.0, None, 2.0, 3.0, 4.0, 5.0],
    "ragged": [[1.0, 2.0, 3.0], [1.0, 2.0]],
    "dict": {"u": 1.0},
}

BAD_SIGNAL_VALUES = {
    "3-D": np.zeros((2, 3, 6)),
    "0-D": np.float64(1.0),
    "nan": np.array([0.0, 1.0, np.nan, 2.0, 3.0, 4.0]),
    "inf": np.array([0.0, 1.0, np.inf, 2.0, 3.0, 4.0]),
    "minus_inf": np.array([[0.0, 1.0, 2.0], [3.0, -np.inf, 4.0]]),
    "empty": np.array([]),
    "empty_batch": np.zeros((0, 6)),
}


def test_signal_table_covers_every_public_function():
    taking_a_signal = {
        name
        for name, fn in _public_functions().items()
        if next(iter(inspect.signature(fn).parameters)) in SIGNAL_ARGS
    }
    assert taking_a_signal == set(SIGNAL_FUNCTIONS)
    for name, (_, arg, _) in SIGNAL_FUNCTIONS.items():
        assert next(iter(inspect.signature(_public_functions()[name]).parameters)) == arg


class TestSignalGate:
    """``as_signal`` against the full tables of bad signals."""

    @pytest.mark.parametrize("bad", sorted(BAD_SIGNAL_TYPES))
    def test_wrong_type(self, bad):
        with pytest.raises(TypeError, match=_starts_with("u0")):
            as_signal(BAD_SIGNAL_TYPES[bad], "u0")

    @pytest.mark.parametrize("bad", sorted(BAD_SIGNAL_VALUES))
    def test_wrong_value(self, bad):
        with pytest.raises(ValueError, match=_starts_with("u0")):
            as_signal(BAD_SIGNAL_VALUES[bad], "u0")

    def test_messages_say_what_is_wrong(self):
        with pytest.raises(ValueError, match=r"shape \(2, 3, 6\)"):
            as_signal(BAD_SIGNAL_VALUES["3-D"])
        with pytest.raises(ValueError, match="NaN"):
            as_signal(BAD_SIGNAL_VALUES["nan"])
        with pytest.raises(TypeError, match="complex"):
            as_signal(BAD_SIGNAL_TYPES["complex"])

    @pytest.mark.parametrize("good", [[0, 1, 2], np.arange(3, dtype=np.float32),
                                      np.arange(3, dtype=np.int16), np.ones((2, 3))])
    def test_real_input_becomes_float64(self, good):
        out = as_signal(good)
        assert out.dtype == np.float64 and out.shape == np.shape(good)
        np.testing.assert_array_equal(out, np.asarray(good, dtype=np.float64))

    @pytest.mark.parametrize("n", [6, 5000])
    def test_huge_finite_values_pass_and_nan_does_not(self, n):
        huge = np.full((2, n), 1e308)  # its sum overflows: the fast check defers to the full
        row = huge[0]
        with np.errstate(over="ignore"):
            assert as_signal(row) is row and as_signal(huge) is huge
        bad = np.ones(n)
        bad[-1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            as_signal(bad)

    def test_a_float64_array_is_not_copied(self):
        u = np.linspace(0.0, 1.0, 6)
        assert as_signal(u) is u


class TestSignalArguments:
    """Every public function that takes a signal sends it through the gate."""

    @pytest.mark.parametrize("func", sorted(SIGNAL_FUNCTIONS))
    def test_other_real_inputs_give_the_same_result(self, func):
        call, _, min_length = SIGNAL_FUNCTIONS[func]
        expected = _numbers(call(np.arange(6.0)))
        np.testing.assert_array_equal(_numbers(call([0, 1, 2, 3, 4, 5])), expected)
        np.testing.assert_array_equal(_numbers(call(np.arange(6, dtype=np.float32))),
                                      expected)
        batch = call(np.arange(12.0).reshape(2, 6))
        assert np.isfinite(_numbers(getattr(batch, "u", batch))).all()

    @pytest.mark.parametrize("func", sorted(SIGNAL_FUNCTIONS))
    def test_bad_signal(self, func):
        call, arg, _ = SIGNAL_FUNCTIONS[func]
        with pytest.raises(TypeError, match=_starts_with(arg) + ".*complex"):
            call(BAD_SIGNAL_TYPES["complex"])
        with pytest.raises(ValueError, match=_starts_with(arg) + r".*shape \(2, 3, 6\)"):
            call(BAD_SIGNAL_VALUES["3-D"])
        with pytest.raises(ValueError, match=_starts_with(arg) + ".*NaN"):
            call(BAD_SIGNAL_VALUES["nan"])

    @pytest.mark.parametrize(
        "table, func",
        [("order 1", f) for f in sorted(SIGNAL_FUNCTIONS)]
        + [("order 2", f) for f in sorted(SIGNAL_FUNCTIONS_ORDER_2)],
    )
    def test_too_short(self, table, func):
        functions = SIGNAL_FUNCTIONS if table == "order 1" else SIGNAL_FUNCTIONS_ORDER_2
        call, arg, min_length = functions[func]
        assert np.isfinite(_numbers(call(np.arange(float(min_length))))).all()  # long enough
        with pytest.raises(ValueError, match=_starts_with(arg)):
            call(np.arange(float(min_length - 1)))
        with pytest.raises(ValueError, match=_starts_with(arg)):
            call(np.zeros((3, min_length - 1)))

    @pytest.mark.parametrize("func", sorted(SIGNAL_FUNCTIONS))
    def test_torch_tensor_is_refused(self, func):
        torch = pytest.importorskip("torch")
        call, arg, _ = SIGNAL_FUNCTIONS[func]
        with pytest.raises(TypeError, match=_starts_with(arg) + ".*torch"):
            call(torch.linspace(0.0, 1.0, 6, dtype=torch.float64))


# --- scalar arguments -------------------------------------------------------------

U = np.linspace(0.0, 1.0, 8)

#: public function -> keyword arguments of a valid call
VALID_CALLS = {
    "diffusivity": {"name": "perona_malik", "s2": 1.0},
    "flux": {"name": "perona_malik", "s": 1.0},
    "flux_derivative": {"name": "perona_malik", "s": 1.0},
    "potential": {"name": "perona_malik", "s": 1.0},
    "derivative_matrix": {"n": 8},
    "operator_norm_squared": {"n": 8},
    "stability_limit": {"n": 8},
    "apply_derivative": {"u": U},
    "apply_adjoint": {"v": U},
    "energy": {"u": U},
    "explicit_step": {"u": U, "tau": 0.1},
    "explicit_evolution": {"u0": U, "tau": 0.1, "n_steps": 2},
    "evolve": {"u0": U, "step": _identity_step, "n_steps": 2},
    "maxmin_limit": {},
    "add_noise": {"f": U, "sigma": 0.1},
    "piecewise_constant": {"n": 8},
    "piecewise_linear": {"n": 8},
    "scanline": {},
    "fed_step_sizes": {"n": 4, "tau_max": 0.5},
    "fed_cycle_length": {"T": 2.0, "tau_max": 0.5},
    "fed_schedule": {"T": 2.0, "tau_max": 0.5},
    "fed_evolution": {"u0": U, "T": 2.0, "tau_max": 0.5},
    "fsi_weights": {"n": 4},
    "fsi_schedule": {"T": 2.0, "tau_max": 0.5},
    "fsi_evolution": {"u0": U, "T": 2.0, "tau_max": 0.5},
    "semi_implicit_step": {"u": U, "tau": 1.0},
    "semi_implicit_matrix_bands": {"u": U, "tau": 1.0},
    "implicit_fixed_point_step": {"u": U, "tau": 0.1},
    "semi_implicit_jacobi": {"u": U, "tau": 1.0},
    "flux_lipschitz": {},
    "fixed_point_contraction": {"n": 8, "tau": 0.1},
    "multigrid_hierarchy": {"A": pdecore.Tridiagonal(U + 2.0, -U[1:])},
    "multigrid_solve": {"A": pdecore.Tridiagonal(U + 2.0, -U[1:]), "b": U},
    "convergence_factor": {"residual_norms": [1.0, 0.1]},
    "semi_implicit_multigrid_step": {"u": U, "tau": 1.0},
}

#: arguments that are not scalars (tested elsewhere in this file or in the modules)
OTHER_ARGS = {
    "u",
    "v",
    "u0",
    "f",
    "s",
    "s2",
    "name",
    "diffusivity",
    "out",
    "check_stability",
    "progress",
    "update",
    "A",
    "b",
    "x0",
    "cycle",
    "smoother",
    "interpolation",
    "residual_norms",
}

#: kinds of scalar argument: a positive float, a float >= 0, an int >= minimum, order, a
#: damping weight in (0, 1]
POSITIVE, NONNEGATIVE, ORDER, DAMPING = "positive", "nonnegative", "order", "damping"

SCALAR_ARGS = {
    ("diffusivity", "lam"): POSITIVE,
    ("flux", "lam"): POSITIVE,
    ("flux_derivative", "lam"): POSITIVE,
    ("potential", "lam"): POSITIVE,
    ("derivative_matrix", "n"): ("int", 2),
    ("derivative_matrix", "order"): ORDER,
    ("derivative_matrix", "h"): POSITIVE,
    ("operator_norm_squared", "n"): ("int", 2),
    ("operator_norm_squared", "order"): ORDER,
    ("operator_norm_squared", "h"): POSITIVE,
    ("stability_limit", "n"): ("int", 2),
    ("stability_limit", "order"): ORDER,
    ("stability_limit", "h"): POSITIVE,
    ("stability_limit", "g_max"): POSITIVE,
    ("apply_derivative", "order"): ORDER,
    ("apply_derivative", "h"): POSITIVE,
    ("apply_adjoint", "order"): ORDER,
    ("apply_adjoint", "h"): POSITIVE,
    ("energy", "lam"): POSITIVE,
    ("energy", "h"): POSITIVE,
    ("energy", "order"): ORDER,
    ("explicit_step", "tau"): POSITIVE,
    ("explicit_step", "lam"): POSITIVE,
    ("explicit_step", "h"): POSITIVE,
    ("explicit_step", "order"): ORDER,
    ("explicit_evolution", "tau"): POSITIVE,
    ("explicit_evolution", "n_steps"): ("int", 0),
    ("explicit_evolution", "lam"): POSITIVE,
    ("explicit_evolution", "h"): POSITIVE,
    ("explicit_evolution", "order"): ORDER,
    ("explicit_evolution", "save_every"): ("int", 0),
    ("evolve", "n_steps"): ("int", 0),
    ("evolve", "save_every"): ("int", 0),
    ("maxmin_limit", "h"): POSITIVE,
    ("maxmin_limit", "g_max"): POSITIVE,
    ("add_noise", "sigma"): NONNEGATIVE,
    ("add_noise", "seed"): ("int", 0),
    ("piecewise_constant", "n"): ("int", 2),
    ("piecewise_constant", "n_jumps"): ("int", 0),
    ("piecewise_constant", "seed"): ("int", 0),
    ("piecewise_constant", "batch"): ("int", 1, "optional"),
    ("piecewise_linear", "n"): ("int", 2),
    ("piecewise_linear", "n_kinks"): ("int", 0),
    ("piecewise_linear", "seed"): ("int", 0),
    ("piecewise_linear", "batch"): ("int", 1, "optional"),
    ("scanline", "row"): ("int", 0),
    ("scanline", "step"): ("int", 1),
    ("fed_step_sizes", "n"): ("int", 1),
    ("fed_step_sizes", "tau_max"): POSITIVE,
    ("fed_cycle_length", "T"): POSITIVE,
    ("fed_cycle_length", "tau_max"): POSITIVE,
    ("fed_cycle_length", "cycles"): ("int", 1),
    ("fed_schedule", "T"): POSITIVE,
    ("fed_schedule", "tau_max"): POSITIVE,
    ("fed_schedule", "cycles"): ("int", 1),
    ("fed_evolution", "T"): POSITIVE,
    ("fed_evolution", "tau_max"): POSITIVE,
    ("fed_evolution", "cycles"): ("int", 1),
    ("fed_evolution", "lam"): POSITIVE,
    ("fed_evolution", "h"): POSITIVE,
    ("fed_evolution", "order"): ORDER,
    ("fed_evolution", "save_every"): ("int", 0),
    ("fsi_weights", "n"): ("int", 1),
    ("fsi_schedule", "T"): POSITIVE,
    ("fsi_schedule", "tau_max"): POSITIVE,
    ("fsi_schedule", "cycles"): ("int", 1),
    ("fsi_evolution", "T"): POSITIVE,
    ("fsi_evolution", "tau_max"): POSITIVE,
    ("fsi_evolution", "cycles"): ("int", 1),
    ("fsi_evolution", "lam"): POSITIVE,
    ("fsi_evolution", "h"): POSITIVE,
    ("fsi_evolution", "order"): ORDER,
    ("fsi_evolution", "save_every"): ("int", 0),
    ("semi_implicit_step", "tau"): POSITIVE,
    ("semi_implicit_step", "lam"): POSITIVE,
    ("semi_implicit_step", "h"): POSITIVE,
    ("semi_implicit_step", "order"): ORDER,
    ("semi_implicit_matrix_bands", "tau"): POSITIVE,
    ("semi_implicit_matrix_bands", "lam"): POSITIVE,
    ("semi_implicit_matrix_bands", "h"): POSITIVE,
    ("semi_implicit_matrix_bands", "order"): ORDER,
    ("implicit_fixed_point_step", "tau"): POSITIVE,
    ("implicit_fixed_point_step", "lam"): POSITIVE,
    ("implicit_fixed_point_step", "h"): POSITIVE,
    ("implicit_fixed_point_step", "order"): ORDER,
    ("implicit_fixed_point_step", "tol"): POSITIVE,
    ("implicit_fixed_point_step", "maxiter"): ("int", 1),
    ("semi_implicit_jacobi", "tau"): POSITIVE,
    ("semi_implicit_jacobi", "lam"): POSITIVE,
    ("semi_implicit_jacobi", "h"): POSITIVE,
    ("semi_implicit_jacobi", "omega"): DAMPING,
    ("semi_implicit_jacobi", "tol"): POSITIVE,
    ("semi_implicit_jacobi", "maxiter"): ("int", 1),
    ("multigrid_hierarchy", "min_size"): ("int", 2),
    ("multigrid_hierarchy", "max_levels"): ("int", 1, "optional"),
    ("multigrid_solve", "tol"): NONNEGATIVE,
    ("multigrid_solve", "maxiter"): ("int", 0),
    ("multigrid_solve", "pre"): ("int", 0),
    ("multigrid_solve", "post"): ("int", 0),
    ("multigrid_solve", "omega"): DAMPING,
    ("multigrid_solve", "min_size"): ("int", 2),
    ("semi_implicit_multigrid_step", "tau"): POSITIVE,
    ("semi_implicit_multigrid_step", "lam"): POSITIVE,
    ("semi_implicit_multigrid_step", "h"): POSITIVE,
    ("semi_implicit_multigrid_step", "tol"): NONNEGATIVE,
    ("semi_implicit_multigrid_step", "maxiter"): ("int", 0),
    ("semi_implicit_multigrid_step", "pre"): ("int", 0),
    ("semi_implicit_multigrid_step", "post"): ("int", 0),
    ("semi_implicit_multigrid_step", "omega"): DAMPING,
    ("semi_implicit_multigrid_step", "min_size"): ("int", 2),
    ("flux_lipschitz", "lam"): POSITIVE,
    ("fixed_point_contraction", "n"): ("int", 2),
    ("fixed_point_contraction", "tau"): POSITIVE,
    ("fixed_point_contraction", "lam"): POSITIVE,
    ("fixed_point_contraction", "h"): POSITIVE,
    ("fixed_point_contraction", "order"): ORDER,
}

NAN = float("nan")


def _bad_values(kind):
    """(value, expected exception) pairs: the full table for one kind of scalar."""
    wrong_type = [(True, TypeError), ("1", TypeError), (1j, TypeError)]
    if kind[-1] != "optional":
        wrong_type.append((None, TypeError))
    if kind in (POSITIVE, DAMPING):
        above_one = [(1.5, ValueError)] if kind == DAMPING else []
        return wrong_type + above_one + [
            (0.0, ValueError),
            (0, ValueError),
            (-1.0, ValueError),
            (NAN, ValueError),
            (np.inf, ValueError),
            (np.array([0.1, 0.2]), TypeError),
        ]
    if kind == NONNEGATIVE:
        return wrong_type + [(-1e-3, ValueError), (NAN, ValueError), (np.inf, ValueError)]
    if kind == ORDER:
        return wrong_type + [
            (0, ValueError),
            (-1, ValueError),
            (3, ValueError),
            (NAN, TypeError),
            (1.0, TypeError),
        ]
    minimum = kind[1]
    return wrong_type + [
        (minimum - 1, ValueError),
        (-5, ValueError),
        (NAN, TypeError),
        (2.0, TypeError),
    ]


def _representative(kind):
    """One bad value that only this kind refuses (0 passes as >= 0, 3 as an int, ...)."""
    if kind == POSITIVE:
        return 0.0
    if kind == NONNEGATIVE:
        return -1e-3
    if kind == ORDER:
        return 3
    if kind == DAMPING:
        return 1.5  # positive, but above 1
    return kind[1] - 1  # an int one below its minimum


#: the gate's helper for each kind of scalar argument, called with the name "x"
GATE = {
    POSITIVE: lambda v: as_positive(v, "x"),
    NONNEGATIVE: lambda v: as_positive(v, "x", allow_zero=True),
    ORDER: as_order,
    DAMPING: lambda v: as_damping(v, "x"),
    **{("int", m): (lambda v, m=m: as_int(v, "x", minimum=m)) for m in (0, 1, 2)},
}

GATE_CASES = [
    pytest.param(kind, value, exc, id=f"{kind}-{value!r}")
    for kind in GATE
    for value, exc in _bad_values(kind)
]


def _numbers(result) -> np.ndarray:
    """Every number in a result (arrays, scalars, sparse matrices, records, lists) as one
    flat float64 array, so that two results can be compared and checked for finiteness."""
    if isinstance(result, (bool, str, type(None))) or callable(result):
        return np.empty(0)
    if hasattr(result, "toarray"):
        result = result.toarray()
    if isinstance(result, (np.ndarray, numbers.Real)):
        return np.asarray(result, dtype=np.float64).ravel()
    if dataclasses.is_dataclass(result):
        result = [getattr(result, f.name) for f in dataclasses.fields(result)]
    elif hasattr(result, "__dict__"):
        result = list(vars(result).values())
    return np.concatenate([np.empty(0)] + [_numbers(item) for item in result])


class TestGate:
    """Each helper of ``pdecore._validation`` against its full table of bad values."""

    @pytest.mark.parametrize("kind, value, exc", GATE_CASES)
    def test_bad_value(self, kind, value, exc):
        name = "order" if kind == ORDER else "x"
        with pytest.raises(exc, match=_starts_with(name)):
            GATE[kind](value)

    @pytest.mark.parametrize("value", [0.5, np.float64(0.5), np.array(0.5), np.float32(0.5)])
    def test_real_scalars_become_python_floats(self, value):
        out = as_positive(value, "x")
        assert type(out) is float and out == 0.5
        assert as_positive(0.0, "x", allow_zero=True) == 0.0

    @pytest.mark.parametrize("value", [8, np.int64(8), np.int32(8), np.uint8(8)])
    def test_integers_become_python_ints(self, value):
        out = as_int(value, "x", minimum=8)
        assert type(out) is int and out == 8
        assert as_order(np.int64(2)) == 2 and type(as_order(np.int64(2))) is int

    @pytest.mark.parametrize("bad", ["STEP", "", None, 1, ["step"], np.array([1, 2])])
    def test_choice(self, bad):
        assert as_choice("step", "update", ("cycle", "step")) == "step"
        with pytest.raises(ValueError, match=r"^update must be one of 'cycle', 'step'; got "):
            as_choice(bad, "update", ("cycle", "step"))

    @pytest.mark.parametrize("value, choices", [
        (True, (1, 2)), (1, (True, False)), (0, (False, True)), (np.bool_(True), (0, 1)),
        (1.0, (True, False)),
    ])
    def test_choice_keeps_bools_and_numbers_apart(self, value, choices):
        # 1 == True in Python; a switch given 1, or a count given True, is a mistake
        with pytest.raises(ValueError, match=r"^x must be one of "):
            as_choice(value, "x", choices)
        assert as_choice(np.bool_(False), "x", (True, False)) is np.bool_(False)
        assert as_choice(2, "x", (1, 2)) == 2

    @pytest.mark.parametrize("bad, exc", [
        (np.ones(7), ValueError), (np.ones((1, 8)), ValueError), (np.ones(9), ValueError),
        (np.full(8, np.nan), ValueError), (["a"] * 8, TypeError), (np.ones(8, complex), TypeError),
    ])
    def test_vector(self, bad, exc):
        good = np.arange(8.0)
        assert as_vector(good, "b", 8) is good
        with pytest.raises(exc, match=_starts_with("b")):
            as_vector(bad, "b", 8)

    @pytest.mark.parametrize("bad", ["yes", "True", 1, 0, None, np.array([True])])
    def test_bool(self, bad):
        assert as_bool(True, "reverse") is True and as_bool(np.False_, "reverse") is False
        with pytest.raises(TypeError, match=r"^reverse must be True or False"):
            as_bool(bad, "reverse")

    def test_scheme_args_checks_in_a_fixed_order(self):
        # every argument bad: the first of diffusivity, order, tau, lam, h, u is reported
        args = {"u": [np.nan] * 3, "tau": 0.0, "diffusivity": "pm2", "lam": -1.0, "h": 0.0,
                "order": 3}
        good = {"u": U, "tau": 0.1, "diffusivity": "pm", "lam": 2.0, "h": 0.5, "order": 2}
        for name in ["diffusivity", "order", "tau", "lam", "h", "u"]:
            pattern = "^unknown diffusivity" if name == "diffusivity" else _starts_with(name)
            with pytest.raises(ValueError, match=pattern):
                scheme_args(**args)
            args[name] = good[name]
        u, tau, d, lam, h, order = scheme_args(**args)
        assert (u is U, tau, d.name, lam, h, order) == (True, 0.1, "perona_malik", 2.0, 0.5, 2)
        with pytest.raises(ValueError, match="^u0 needs at least 3 grid points"):
            scheme_args(U[:2], 0.1, "pm", 1.0, 1.0, 2, name="u0")
        skipped = scheme_args(LATER, LATER, "linear", 1.0, 1.0, 1)
        assert skipped[:2] == (LATER, LATER)

    def test_value_is_printed(self):
        with pytest.raises(ValueError, match=r"lam=-2\.5"):
            pdecore.flux("linear", 1.0, -2.5)
        with pytest.raises(ValueError, match=r"n=1"):
            pdecore.derivative_matrix(1)
        with pytest.raises(ValueError, match=r"got 3"):
            pdecore.derivative_matrix(8, order=3)


def test_scalar_table_covers_every_public_function():
    # every argument of every public function is either a listed scalar or a known
    # non-scalar, so a new public function or argument fails here until it is listed
    found = {
        (name, arg)
        for name, fn in _public_functions().items()
        for arg in inspect.signature(fn).parameters
        if arg not in OTHER_ARGS and (name, arg) != ("evolve", "step")
    }
    assert found == set(SCALAR_ARGS)
    assert set(VALID_CALLS) == set(_public_functions()) - {"get_diffusivity"}


@pytest.mark.parametrize("func", sorted(VALID_CALLS))
def test_valid_calls_return_finite_numbers(func):
    # the baseline of the bad-value tests below: the call fails only for the bad value
    found = _numbers(getattr(pdecore, func)(**VALID_CALLS[func]))
    assert found.size > 0 and np.isfinite(found).all()


class TestScalarArguments:
    """Every scalar argument of every public function goes through the gate."""

    @pytest.mark.parametrize("func, arg", sorted(SCALAR_ARGS))
    def test_bad_scalar(self, func, arg):
        kind = SCALAR_ARGS[(func, arg)]
        call = getattr(pdecore, func)
        for value, exc in [(_representative(kind), ValueError), ("1", TypeError)]:
            with pytest.raises(exc, match=_starts_with(arg)):
                call(**{**VALID_CALLS[func], arg: value})
        if kind[-1] == "optional":
            call(**{**VALID_CALLS[func], arg: None})

    @pytest.mark.parametrize(
        "func, arg", sorted(k for k, v in SCALAR_ARGS.items() if v in (POSITIVE, DAMPING))
    )
    def test_numpy_scalars_give_the_same_result(self, func, arg):
        call = getattr(pdecore, func)
        expected = _numbers(call(**{**VALID_CALLS[func], arg: 0.5}))
        for value in (np.float64(0.5), np.array(0.5)):
            np.testing.assert_array_equal(
                _numbers(call(**{**VALID_CALLS[func], arg: value})), expected)

    @pytest.mark.parametrize(
        "func", ["derivative_matrix", "stability_limit", "piecewise_constant", "piecewise_linear"]
    )
    def test_numpy_integers_give_the_same_result(self, func):
        call = getattr(pdecore, func)
        np.testing.assert_array_equal(
            _numbers(call(**{**VALID_CALLS[func], "n": np.int64(8)})),
            _numbers(call(**{**VALID_CALLS[func], "n": 8})))


# --- diffusivity names and the step callable --------------------------------------

DIFFUSIVITY_CALLS = {
    "diffusivity": lambda d: pdecore.diffusivity(d, 1.0),
    "flux": lambda d: pdecore.flux(d, 1.0),
    "flux_derivative": lambda d: pdecore.flux_derivative(d, 1.0),
    "potential": lambda d: pdecore.potential(d, 1.0),
    "get_diffusivity": pdecore.get_diffusivity,
    "energy": lambda d: pdecore.energy(U, d),
    "explicit_step": lambda d: pdecore.explicit_step(U, 0.1, d),
    "explicit_evolution": lambda d: pdecore.explicit_evolution(U, 0.1, 2, d),
    "fed_evolution": lambda d: pdecore.fed_evolution(U, 1.0, 0.25, diffusivity=d),
    "fsi_evolution": lambda d: pdecore.fsi_evolution(U, 1.0, 0.25, diffusivity=d),
    "semi_implicit_step": lambda d: pdecore.semi_implicit_step(U, 1.0, d),
    "semi_implicit_matrix_bands": lambda d: pdecore.semi_implicit_matrix_bands(U, 1.0, d),
    "implicit_fixed_point_step": lambda d: pdecore.implicit_fixed_point_step(U, 0.1, d, maxiter=2),
    "semi_implicit_jacobi": lambda d: pdecore.semi_implicit_jacobi(U, 1.0, d),
    "semi_implicit_multigrid_step": lambda d: pdecore.semi_implicit_multigrid_step(U, 1.0, d),
    "flux_lipschitz": lambda d: pdecore.flux_lipschitz(d),
    "fixed_point_contraction": lambda d: pdecore.fixed_point_contraction(8, 0.1, d),
}


def test_diffusivity_table_covers_every_public_function():
    found = {
        name
        for name, fn in _public_functions().items()
        if {"diffusivity", "name"} & set(inspect.signature(fn).parameters)
    }
    assert found == set(DIFFUSIVITY_CALLS)


@pytest.mark.parametrize("func", sorted(DIFFUSIVITY_CALLS))
def test_unknown_diffusivity_name(func):
    with pytest.raises(ValueError, match="unknown diffusivity 'perona-malik'") as info:
        DIFFUSIVITY_CALLS[func]("perona-malik")
    for name in pdecore.DIFFUSIVITIES:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("func", sorted(DIFFUSIVITY_CALLS))
@pytest.mark.parametrize("bad", [1, None, 1.5])
def test_diffusivity_of_wrong_type(func, bad):
    with pytest.raises(TypeError, match="^diffusivity must be"):
        DIFFUSIVITY_CALLS[func](bad)


def test_step_must_be_callable():
    with pytest.raises(TypeError, match="^step must be callable"):
        pdecore.evolve(U, "explicit", 3)


@pytest.mark.parametrize("func", ["fed_evolution", "fsi_evolution"])
@pytest.mark.parametrize("bad", ["cycles", "", "STEP", None])
def test_unknown_update_mode(func, bad):
    with pytest.raises(ValueError, match="^update must be one of") as info:
        getattr(pdecore, func)(**VALID_CALLS[func], update=bad)
    assert "'cycle'" in str(info.value) and "'step'" in str(info.value)


@pytest.mark.parametrize("call", [
    lambda v: pdecore.explicit_step(np.linspace(0, 1, 16), 0.1, "perona_malik", lam=v),
    lambda v: pdecore.semi_implicit_step(np.linspace(0, 1, 16), 0.1, "perona_malik", h=v),
    lambda v: pdecore.energy(np.linspace(0, 1, 16), "charbonnier", lam=v),
    lambda v: pdecore.stability_limit(16, 1, h=v),
])
@pytest.mark.parametrize("value", [1e-200, 1e200])
def test_extreme_scales_are_refused_by_name(call, value):
    with pytest.raises(ValueError, match=r"(lam|h) must lie in \[1e-30, 1e\+30\]"):
        call(value)
