"""Shared fixtures: seeded generator, test signals, hand-written diffusivities, devices.

Also registers and loads the deterministic hypothesis profile used by every property
test (``derandomize=True``, so a run is reproducible and needs no example database), and
runs every test on one torch thread.
"""

import numpy as np
import pytest
from hypothesis import settings

import pdecore

try:
    import torch
except ImportError:  # the numpy core is tested without torch too
    torch = None

settings.register_profile(
    "pdecore",
    derandomize=True,
    max_examples=50,
    deadline=None,
    database=None,
    print_blob=True,
)
settings.load_profile("pdecore")

SEED = 20220731

#: Relative tolerances by dtype (the numerics are float64 only; float32 is for nets).
EPS = {np.float32: 1e-5, np.float64: 1e-12}

WEICKERT_C = 3.31488

#: Torch devices the device-agnostic tests run on: the CPU always, CUDA where present.
DEVICES = ["cpu"] + (["cuda"] if torch is not None and torch.cuda.is_available() else [])


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run each test on one torch thread (the previous setting is restored afterwards).

    The tensors in the tests are tiny: intra-op threads only add overhead, and on busy
    cores (two test workers, or a notebook executing beside them) OpenMP's waiting
    threads slow each small convolution by orders of magnitude (measured: 7 s versus
    210 s for tests/nets with two runs side by side on 2 cores).
    """
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=DEVICES)
def device(request):
    """Each available torch device in turn."""
    return request.param


@pytest.fixture
def rng():
    """A fresh, seeded generator per test."""
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def signals():
    """Named 1D test signals of different character (all float64, length >= 20)."""
    gen = np.random.default_rng(SEED)
    n = 40
    x = np.linspace(0.0, 1.0, n)
    return {
        "step": np.r_[np.zeros(n // 2), np.ones(n // 2)],
        "noisy_ramp": x + 0.05 * gen.standard_normal(n),
        "alternating": (-1.0) ** np.arange(24),
        "spike": np.eye(1, 21, 10).ravel(),
        "noisy_steps": pdecore.piecewise_constant(50, 4, seed=1) + 0.03 * gen.standard_normal(50),
        "scanline": pdecore.scanline(step=8) / 255.0,
    }


@pytest.fixture(params=["step", "noisy_ramp", "alternating", "spike", "noisy_steps", "scanline"])
def signal(request, signals):
    """Each test signal in turn."""
    return signals[request.param]


@pytest.fixture(scope="session")
def reference_g():
    """The diffusivities g(s^2; lam) of SPEC.md section 1, written out independently."""
    return {
        "linear": lambda s2, lam: np.ones_like(s2),
        "perona_malik": lambda s2, lam: 1.0 / (1.0 + s2 / lam**2),
        "exponential": lambda s2, lam: np.exp(-s2 / (2.0 * lam**2)),
        "charbonnier": lambda s2, lam: 1.0 / np.sqrt(1.0 + s2 / lam**2),
        "weickert": _weickert_reference,
    }


def _weickert_reference(s2, lam):
    s2 = np.asarray(s2, dtype=float)
    with np.errstate(divide="ignore", under="ignore"):
        ratio8 = (s2 / lam**2) ** 4  # (s / lam)^8
        return np.where(ratio8 == 0.0, 1.0, -np.expm1(-WEICKERT_C / ratio8))  # 1 - exp(.)
