r"""Test signals: a real scan line, generated piecewise signals, seeded noise.

Chapter 1 (:ref:`ch-diffusion`) diffuses a scan line through a photograph with added
Gaussian noise; later chapters train on generated piecewise-constant and (chapter 6,
:ref:`ch-learned-activations`) continuous piecewise-linear signals.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_int, as_positive, as_signal

__all__ = ["add_noise", "piecewise_constant", "piecewise_linear", "scanline"]


def scanline(row: int = 400, *, step: int = 1) -> np.ndarray:
    r"""Return one row of the *Grace Hopper* photograph as a 1D signal.

    The image (600 x 512 pixels, public domain, U.S. Navy) ships with matplotlib as
    sample data, so the signal is real and needs no download. Grey values are the mean
    of the RGB channels, in :math:`[0, 255]`.

    Parameters
    ----------
    row : int
        Image row, ``0 <= row < 600``.
    step : int
        Keep every ``step``-th pixel (``step=1``: 512 samples).

    Returns
    -------
    ndarray, shape (ceil(512 / step),), float64

    Examples
    --------
    >>> import pdecore
    >>> f = pdecore.scanline()
    >>> print(f.shape, f.min() >= 0, f.max() <= 255)
    (512,) True True
    """
    import matplotlib.cbook
    import matplotlib.pyplot as plt

    row = as_int(row, "row", minimum=0)
    step = as_int(step, "step", minimum=1)
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        image = plt.imread(fh, format="jpg")
    if row >= image.shape[0]:
        raise ValueError(f"row must be < {image.shape[0]} (image height), got row={row}")
    return image[row, ::step, :3].astype(np.float64).mean(axis=-1)


def add_noise(f: object, sigma: float, seed: int = 0) -> np.ndarray:
    r"""Return :math:`f + \eta` with i.i.d. Gaussian :math:`\eta \sim N(0, \sigma^2)`.

    Parameters
    ----------
    f : (N,) or (B, N) array_like
        Clean signal(s); not modified.
    sigma : float
        Noise standard deviation, ``>= 0``.
    seed : int
        Seed of :func:`numpy.random.default_rng` (the same seed gives the same noise).

    Returns
    -------
    ndarray, float64, same shape as ``f``

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> g = pdecore.add_noise(np.zeros(10000), 2.0, seed=1)
    >>> print(f"{g.std():.1f}")
    2.0
    """
    f = as_signal(f, "f", min_length=1)
    sigma = as_positive(sigma, "sigma", allow_zero=True)
    seed = as_int(seed, "seed", minimum=0)
    return f + sigma * np.random.default_rng(seed).standard_normal(f.shape)


def piecewise_constant(
    n: int, n_jumps: int = 5, *, batch: int | None = None, seed: int = 0
) -> np.ndarray:
    r"""Generate piecewise-constant signals with values in :math:`[0, 1]`.

    Jump positions are drawn uniformly among the interior grid points (distinct), the
    levels uniformly in :math:`[0, 1]`.

    Parameters
    ----------
    n : int
        Number of grid points.
    n_jumps : int
        Number of jumps per signal, ``0 <= n_jumps < n``.
    batch : int, optional
        If given, return ``batch`` signals of shape ``(batch, n)``.
    seed : int
        Random seed.

    Returns
    -------
    ndarray, shape (n,) or (batch, n)

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> f = pdecore.piecewise_constant(100, 3, seed=0)
    >>> print(np.count_nonzero(np.diff(f)))
    3
    """
    n = as_int(n, "n", minimum=2)
    n_jumps = as_int(n_jumps, "n_jumps", minimum=0)
    if n_jumps >= n:
        raise ValueError(f"n_jumps must be < n={n}, got n_jumps={n_jumps}")
    rng = np.random.default_rng(as_int(seed, "seed", minimum=0))
    count = 1 if batch is None else as_int(batch, "batch")
    out = np.empty((count, n))
    for b in range(count):
        cuts = np.sort(rng.choice(np.arange(1, n), size=n_jumps, replace=False))
        levels = rng.uniform(0.0, 1.0, n_jumps + 1)
        # distinct neighbouring levels so that every cut is a real jump
        while n_jumps and np.any(np.diff(levels) == 0):  # pragma: no cover
            levels = rng.uniform(0.0, 1.0, n_jumps + 1)
        out[b] = np.repeat(levels, np.diff(np.concatenate([[0], cuts, [n]])))
    return out[0] if batch is None else out


def piecewise_linear(
    n: int, n_kinks: int = 5, *, batch: int | None = None, seed: int = 0
) -> np.ndarray:
    r"""Generate continuous piecewise-linear signals with values in :math:`[0, 1]`.

    The signal interpolates linearly between values :math:`v_0, \ldots, v_{K+1}` drawn
    uniformly in :math:`[0, 1]` at the knots :math:`0 = x_0 < x_1 < \ldots < x_K <
    x_{K+1} = n - 1`, where the :math:`K` = ``n_kinks`` interior knots are distinct grid
    points drawn uniformly among :math:`1, \ldots, n - 2`:

    .. math:: f_i = v_j + (v_{j+1} - v_j)\,\frac{i - x_j}{x_{j+1} - x_j}, \qquad
       x_j \le i \le x_{j+1}.

    The signals are continuous (no jumps: those are :func:`piecewise_constant`'s); the
    slope changes at every interior knot (almost surely), so the second difference
    :math:`f_{i-1} - 2 f_i + f_{i+1}` is nonzero exactly there. Values stay in
    :math:`[0, 1]` because each is a convex combination of two knot values.

    Parameters
    ----------
    n : int
        Number of grid points, ``>= 2``.
    n_kinks : int
        Number of interior knots (kinks) per signal, ``0 <= n_kinks <= n - 2``.
    batch : int, optional
        If given, return ``batch`` signals of shape ``(batch, n)``.
    seed : int
        Random seed.

    Returns
    -------
    ndarray, shape (n,) or (batch, n), float64

    Raises
    ------
    TypeError
        If ``n``, ``n_kinks``, ``batch`` or ``seed`` is not an integer.
    ValueError
        If ``n < 2``, ``n_kinks < 0``, ``n_kinks > n - 2``, ``batch < 1`` or ``seed < 0``.

    See Also
    --------
    piecewise_constant : the signals with jumps.

    Notes
    -----
    Used in chapter 6 (:ref:`ch-learned-activations`), where denoising networks must keep
    jumps sharp without turning ramps into staircases.

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> f = pdecore.piecewise_linear(100, 3, seed=0)
    >>> print(np.count_nonzero(np.abs(np.diff(f, 2)) > 1e-12), f.min() >= 0, f.max() <= 1)
    3 True True
    """
    n = as_int(n, "n", minimum=2)
    n_kinks = as_int(n_kinks, "n_kinks", minimum=0)
    if n_kinks > n - 2:
        raise ValueError(f"n_kinks must be <= n - 2 = {n - 2} (interior grid points), "
                         f"got n_kinks={n_kinks}")
    rng = np.random.default_rng(as_int(seed, "seed", minimum=0))
    count = 1 if batch is None else as_int(batch, "batch")
    grid = np.arange(n, dtype=np.float64)
    out = np.empty((count, n))
    for b in range(count):
        inner = np.sort(rng.choice(np.arange(1, n - 1), size=n_kinks, replace=False))
        knots = np.concatenate([[0], inner, [n - 1]]).astype(np.float64)
        values = rng.uniform(0.0, 1.0, n_kinks + 2)
        out[b] = np.interp(grid, knots, values)
    return out[0] if batch is None else out
