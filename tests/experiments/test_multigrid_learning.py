import numpy as np
import pytest
import torch

import pdecore
from pdecore.experiments.multigrid_learning import (
    learning_data,
    learning_experiment,
    vcycle_errors,
    vcycles_to_match,
)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_learning_data_targets_are_semi_implicit_steps():
    d = learning_data(3, 40, tau=5.0, seed=2)
    assert d.X.shape == (3, 2, 40) and d.y.shape == (3, 1, 40)
    assert np.all((d.lam >= 0.05) & (d.lam <= 0.5))
    assert np.all(d.X[:, 1] == d.lam[:, None])
    u = pdecore.semi_implicit_step(d.X[1, 0], 5.0, "perona_malik", d.lam[1])
    assert np.allclose(d.y[1, 0], u, atol=1e-14)
    with pytest.raises(ValueError, match="lam_range"):
        learning_data(3, 40, lam_range=(0.5, 0.1))


def test_tiny_run_returns_rows_with_decreasing_finite_losses():
    rows = learning_experiment([600], n=32, n_train=32, n_test=8, epochs=6, levels=3,
                               batch_size=8, seed=0)
    assert [r.kind for r in rows] == ["multigrid", "standard"]
    for r in rows:
        assert abs(r.params - 600) <= 0.3 * 600
        losses = np.array(r.history.train_loss)
        assert np.isfinite(losses).all() and np.isfinite(r.history.val_loss).all()
        assert losses[-1] < losses[0]
        assert np.isfinite(r.test_rmse) and r.test_rmse > 0
    with pytest.raises(ValueError, match="kinds"):
        learning_experiment([600], kinds=("resnet",), n=32, n_train=4, n_test=4, epochs=1)


def test_vcycle_errors_match_multigrid_solve():
    d = learning_data(2, 64, seed=1)
    errors = vcycle_errors(d, 4)
    assert np.all(np.diff(errors) < 0)
    k = 3
    sq = 0.0
    for f, u, lam in zip(d.X[:, 0], d.y[:, 0], d.lam, strict=True):
        A = pdecore.Tridiagonal.from_bands(
            pdecore.semi_implicit_matrix_bands(f, d.tau, "perona_malik", lam))
        x, _ = pdecore.multigrid_solve(A, f, tol=0, maxiter=k, smoother="jacobi",
                                       interpolation="linear")
        sq += np.sum((x - u) ** 2)
    assert errors[k] == pytest.approx(np.sqrt(sq / d.y.size), rel=1e-10)
    assert vcycles_to_match(errors[2], d, 4) == 2
    assert vcycles_to_match(0.0, d, 2) is None
