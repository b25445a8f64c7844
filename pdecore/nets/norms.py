r"""Operator norms of convolutions and guaranteed upper bounds for them.

The stability of a symmetric block :math:`u - \tau W^\top \sigma(W u + b)` rests on
:math:`\tau L \|W\|_2^2 \le 2`, so a step computed from a bound needs a bound that is
never *below* the norm. This module holds every such quantity of the package:

- :func:`operator_norm`: :math:`\|W\|_2` of a 1D convolution without padding, exact
  (dense SVD) for small problems, the Fourier-symbol bound for large ones;
- :func:`norm_bound`: differentiable closed-form bounds of :math:`\|W\|_2^2` for 1D
  kernels on signals of any length (chapter 6's stable-by-construction blocks);
- :func:`conv2d_norm_bound`: the guaranteed, differentiable Fourier-symbol bound of a
  zero-padded 2D convolution (chapter 7's stable blocks);
- :func:`conv2d_operator_norm`: the exact 2D norm by Lanczos iteration, for checking.

The two blocks that are stable by construction, :class:`~pdecore.nets.DiffusionBlock`
(:func:`norm_bound`) and :class:`~pdecore.nets.SymmetricBlock2d` (:func:`conv2d_norm_bound`),
are compared side by side in :mod:`pdecore.nets.resnet`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import LinearOperator, eigsh

from .._validation import as_choice, as_int, as_positive
from ._checks import check_weight

__all__ = [
    "NORM_BOUNDS",
    "conv2d_norm_bound",
    "conv2d_operator_norm",
    "norm_bound",
    "operator_norm",
]

#: Ways to bound :math:`\|W\|_2^2` from above without an eigenvalue computation.
NORM_BOUNDS = ("autocorrelation", "young")


def operator_norm(weight: torch.Tensor, n: int) -> float:
    r"""Spectral norm :math:`\|W\|_2` of the convolution ``conv1d(., weight)`` on length ``n``.

    Exact (singular values of the dense matrix, float64) when :math:`C n \le 4096`.
    Larger problems get the Fourier-symbol bound of :func:`conv2d_norm_bound` (the valid
    convolution is a compression of the periodic one on :math:`n` points): never below
    the norm, and within a fraction of a percent of it for :math:`n \gg k`, so a step
    :math:`2/(L\|W\|_2^2)` computed from it is always stable.

    Parameters
    ----------
    weight : (C_out, C_in, k) tensor
        Convolution kernel.
    n : int
        Signal length (the norm depends on it through the boundary).

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import operator_norm
    >>> w = torch.tensor([[[-1.0, 1.0]]], dtype=torch.float64)
    >>> print(f"{operator_norm(w, 200) ** 2:.6f}")  # 4 sin^2(199 pi / 400)
    3.999753
    """
    check_weight(weight, 3, floating=False)
    n = as_int(n, "n", minimum=weight.shape[-1])
    w = weight.detach().to(device="cpu", dtype=torch.float64)
    c_in = w.shape[1]
    if c_in * n <= 4096:
        basis = torch.eye(c_in * n, dtype=torch.float64).view(c_in * n, c_in, n)
        matrix = F.conv1d(basis, w).reshape(c_in * n, -1).T
        return float(torch.linalg.matrix_norm(matrix, ord=2))
    # a 1 x k kernel on a 1 x n image without padding is this conv1d
    return float(conv2d_norm_bound(w[:, :, None, :], (1, n), 0))


def norm_bound(weight: torch.Tensor, method: str = "autocorrelation") -> torch.Tensor:
    r"""Differentiable upper bound :math:`B \ge \|W\|_2^2` of a 1D convolution's norm.

    For ``conv1d(., weight)`` without padding, on signals of any length:

    - ``"young"``: Young's inequality :math:`\|w * u\|_2 \le \|w\|_1\|u\|_2` for each
      pair of output and input channel, with Cauchy-Schwarz over the input channels,

      .. math:: B = \sum_{o, i} \|w_{o i}\|_1^2 ;

    - ``"autocorrelation"`` (tighter, never larger): the energy gain at frequency
      :math:`\xi` is at most :math:`S(\xi) = \sum_{o,i} |\hat w_{oi}(\xi)|^2
      = r_0 + 2\sum_{j \ge 1} r_j \cos(j\xi)` with the summed autocorrelations
      :math:`r_j = \sum_{o,i}\sum_t w_{oi,t}\, w_{oi,t+j}`, hence

      .. math:: B = r_0 + 2 \sum_{j=1}^{k-1} |r_j| .

    Both are exact for a single derivative stencil (:math:`B = 4` for :math:`(-1, 1)`,
    16 for :math:`(1, -2, 1)`, the limits :math:`N \to \infty` of the exact norms).

    Parameters
    ----------
    weight : (C_out, C_in, k) tensor
        Convolution kernel.
    method : {"autocorrelation", "young"}
        Which bound.

    Returns
    -------
    0-d tensor
        :math:`B`, in the dtype of ``weight``, with gradients.

    Raises
    ------
    TypeError
        If ``weight`` is not a floating-point tensor.
    ValueError
        If ``weight`` is not 3-D or ``method`` is unknown.

    See Also
    --------
    pdecore.nets.operator_norm : the exact norm (dense SVD or power iteration).

    Notes
    -----
    The dense matrix of the convolution without padding is a submatrix of the bi-infinite
    Toeplitz operator with symbol :math:`\hat w`, so its norm is at most
    :math:`\sup_\xi S(\xi)^{1/2}`; :math:`|\cos| \le 1` gives the autocorrelation bound,
    and :math:`|r_j| \le \sum |w_t||w_{t+j}|` shows it never exceeds Young's.
    Used in chapter 6 (:ref:`ch-learned-activations`).

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import norm_bound
    >>> d = torch.tensor([[[-1.0, 1.0]]])
    >>> print(f"{norm_bound(d):.1f} {norm_bound(d, 'young'):.1f}")
    4.0 4.0
    """
    check_weight(weight, 3)
    if as_choice(method, "method", NORM_BOUNDS) == "young":
        return (weight.abs().sum(-1) ** 2).sum()
    k = weight.shape[-1]
    w = weight.reshape(-1, k)
    r0 = (w * w).sum()
    if k == 1:
        return r0
    lags = torch.stack([(w[:, :-j] * w[:, j:]).sum() for j in range(1, k)])
    return r0 + 2.0 * lags.abs().sum()


def conv2d_norm_bound(
    weight: torch.Tensor, size: tuple[int, int], padding: int
) -> torch.Tensor:
    r"""Guaranteed, differentiable upper bound :math:`B \ge \|W\|_2` of a 2D convolution.

    ``conv2d(., weight, padding=padding)`` on :math:`H \times W` images is a compression
    of the *circular* convolution on the :math:`N_1 \times N_2` grid,
    :math:`N_1 = H + 2p`, :math:`N_2 = W + 2p`: zero-extend the input, convolve
    periodically, keep the valid outputs (no index wraps around because the grid holds
    the whole padded image). A compression cannot increase the norm, and the circular
    convolution is block-diagonalised by the discrete Fourier transform, so
    (Sedghi, Gupta and Long, 2019)

    .. math:: \|W\|_2 \le \max_{\omega \in \Omega_N}
              \bigl\|\hat K(\omega)\bigr\|_2, \qquad
              \hat K(\omega) = \sum_{a, b} w_{:, :, a, b}\,
              e^{-2\pi i (a \omega_1 / N_1 + b \omega_2 / N_2)} \in
              \mathbb{C}^{C_\text{out} \times C_\text{in}},

    the largest singular value over the :math:`N_1 N_2` frequencies (half of them for a
    real kernel, by conjugate symmetry), computed as the top eigenvalue of
    :math:`\hat K^H \hat K`. The result is multiplied by :math:`1 + 64\, m\,
    \varepsilon` (:math:`m = C k_1 k_2` terms per entry, :math:`\varepsilon` the
    machine epsilon of ``weight``'s dtype) to cover the rounding of the FFT, the product
    and the eigensolver, so it is an upper bound in floating point too. On random
    kernels it is within about 5 % of the exact norm (:func:`conv2d_operator_norm`) at
    7 x 7 and within 2 % at 14 x 14: only the boundary separates the two.

    The value is computed without gradients over all frequencies; the gradient is that
    of the largest singular value at the maximising frequency (the derivative of the
    bound wherever the maximum is attained once), so the cost is one batched Hermitian
    eigenvalue solve.

    Parameters
    ----------
    weight : (C_out, C_in, k1, k2) floating-point tensor
    size : (int, int)
        Image height and width :math:`H, W`.
    padding : int
        Zero padding :math:`p` of the convolution (``k // 2`` keeps the size).

    Returns
    -------
    0-d tensor
        :math:`B` in ``weight``'s dtype and device, with gradients.

    See Also
    --------
    conv2d_operator_norm : the exact norm (Lanczos, float64, no gradients).

    References
    ----------
    .. [1] H. Sedghi, V. Gupta, P. M. Long, "The singular values of convolutional layers",
       ICLR 2019.

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import conv2d_norm_bound, conv2d_operator_norm
    >>> w = torch.randn(4, 4, 3, 3, generator=torch.Generator().manual_seed(0),
    ...                 dtype=torch.float64)
    >>> bound, exact = float(conv2d_norm_bound(w, (14, 14), 1)), conv2d_operator_norm(
    ...     w, (14, 14), 1)
    >>> print(bound >= exact, round(bound / exact, 2))
    True 1.02
    """
    check_weight(weight, 4)
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise TypeError(f"size must be a pair (height, width), got {size!r}")
    height, width = (as_int(s, "size") for s in size)
    padding = as_int(padding, "padding", minimum=0)
    k1, k2 = weight.shape[2:]
    grid = (height + 2 * padding, width + 2 * padding)
    if grid[0] < k1 or grid[1] < k2:
        raise ValueError(f"size {size} with padding {padding} is smaller than the kernel "
                         f"{k1} x {k2}: the convolution has no output")
    with torch.no_grad():
        # Gram matrices K^H K at every frequency from four real batched products
        symbol = torch.fft.rfft2(weight, s=grid).permute(2, 3, 0, 1).flatten(0, 1)
        re, im = symbol.real.contiguous(), symbol.imag.contiguous()
        re_t, im_t = re.transpose(1, 2).contiguous(), im.transpose(1, 2).contiguous()
        gram = torch.complex(re_t @ re + im_t @ im, re_t @ im - im_t @ re)
        candidates = _candidate_frequencies(gram)
        top = torch.linalg.eigvalsh(gram[candidates])[:, -1]
        best = int(torch.argmax(top))
        index = int(candidates[best])
        vector = torch.linalg.eigh(gram[index])[1][:, -1]
        f1, f2 = divmod(index, grid[1] // 2 + 1)
        a = torch.arange(k1, device=weight.device, dtype=weight.dtype)[:, None]
        b = torch.arange(k2, device=weight.device, dtype=weight.dtype)[None, :]
        phases = torch.exp(-2j * torch.pi * (a * f1 / grid[0] + b * f2 / grid[1]))
    # ||K(w*) v|| with the top eigenvector v at the maximising frequency w*: by the
    # envelope theorem its gradient is that of the largest singular value there
    star = torch.einsum("oiab,ab->oi", weight.to(phases.dtype), phases)
    rayleigh = torch.linalg.vector_norm(star @ vector)
    eps = torch.finfo(weight.dtype).eps
    safety = 1.0 + 64.0 * max(weight.shape[0], weight.shape[1]) * k1 * k2 * eps
    value = (top[best].clamp_min(0.0) * safety).sqrt()
    # the value of the full search (the maximum, rounded up), the gradient of the maximiser
    return rayleigh + (value - rayleigh).detach()


def _candidate_frequencies(gram: torch.Tensor, slack: float = 1e-3) -> torch.Tensor:
    r"""Return the frequencies whose top eigenvalue can be the largest.

    For a Hermitian positive semidefinite :math:`G` with eigenvalues :math:`\lambda_i`,
    :math:`\|G^{8}\|_F = (\sum \lambda_i^{16})^{1/2}`, so

    .. math:: \Bigl(\frac{\|G^{8}\|_F^2}{\|G^{4}\|_F^2}\Bigr)^{1/8} \le
              \lambda_{\max}(G) \le \|G^{8}\|_F^{1/8}

    (the left side is a weighted mean of :math:`\lambda_i^8`). A frequency whose upper
    end is below the largest lower end cannot hold the maximum; ``slack`` absorbs the
    rounding. Only the others need an eigenvalue solve (usually a handful).
    """
    def square(re, im):  # (A + iB)^2 for Hermitian A + iB, in real products
        return re @ re - im @ im, re @ im + im @ re

    def frobenius(re, im):
        return (re.square() + im.square()).sum(dim=(-2, -1)).sqrt()

    re, im = gram.real.contiguous(), gram.imag.contiguous()
    scale = frobenius(re, im).amax().clamp_min(torch.finfo(re.dtype).tiny)
    re, im = square(re / scale, im / scale)  # every eigenvalue in [0, 1]: no overflow
    re, im = square(re, im)
    f4 = frobenius(re, im)
    f8 = frobenius(*square(re, im))
    upper = f8 ** 0.125
    lower = (f8 / f4.clamp_min(torch.finfo(f4.dtype).tiny)) ** 0.25
    keep = upper * (1 + slack) >= lower.max() * (1 - slack)
    return torch.nonzero(keep).flatten()


def conv2d_operator_norm(
    weight: torch.Tensor, size: tuple[int, int], padding: int, tol: float = 1e-10,
    seed: int = 0,
) -> float:
    r"""Spectral norm :math:`\|W\|_2` of ``conv2d(., weight, padding=padding)`` on ``size``.

    The largest eigenvalue of :math:`W^\top W` (``conv_transpose2d`` after ``conv2d``,
    float64) by Lanczos iteration (:func:`scipy.sparse.linalg.eigsh`), so no matrix is
    formed.

    Parameters
    ----------
    weight : (C_out, C_in, k, k) tensor
    size : (int, int)
        Image height and width.
    padding : int
        Zero padding of the convolution.
    tol : float
        Relative accuracy of the eigenvalue.
    seed : int
        Seed of the start vector.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import conv2d_operator_norm
    >>> w = torch.zeros(1, 1, 3, 3); w[0, 0, 1, 1] = 2.0   # 2 * identity
    >>> print(f"{conv2d_operator_norm(w, (8, 8), 1):.6f}")
    2.000000
    """
    check_weight(weight, 4, floating=False)
    height, width = (as_int(s, "size") for s in size)
    padding = as_int(padding, "padding", minimum=0)
    w = weight.detach().to(device="cpu", dtype=torch.float64)
    shape = (1, w.shape[1], height, width)
    n = w.shape[1] * height * width

    def wtw(x: np.ndarray) -> np.ndarray:
        v = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).view(shape)
        out = F.conv_transpose2d(F.conv2d(v, w, padding=padding), w, padding=padding)
        return out.reshape(-1).numpy()

    v0 = np.random.default_rng(as_int(seed, "seed", minimum=0)).standard_normal(n)
    if n == 1:
        return float(np.sqrt(max(wtw(v0)[0] / v0[0], 0.0)))
    op = LinearOperator((n, n), matvec=wtw, dtype=np.float64)
    top = eigsh(op, k=1, which="LA", tol=as_positive(tol, "tol"), v0=v0,
                return_eigenvectors=False)
    return float(np.sqrt(max(top[0], 0.0)))
