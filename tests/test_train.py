import numpy as np
import pytest
import torch
from torch import nn

from pdecore.train import History, accuracy, count_parameters, evaluate, fit


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def regression(n=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    w = torch.tensor([[1.0], [-2.0], [0.5], [3.0]], dtype=torch.float64)
    return X, X @ w + 0.1


def linear(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(4, 1).double()


def test_fit_decreases_loss_on_linear_regression():
    X, y = regression()
    net = linear()
    h = fit(net, X, y, epochs=60, batch_size=16, lr=0.05, seed=0, val=regression(32, 1))
    assert isinstance(h, History) and h.epochs == 60 and len(h.val_loss) == 60
    assert h.train_loss[-1] < 1e-3 * h.train_loss[0]
    assert h.val_loss[-1] < 1e-3
    assert evaluate(net, X, y) < 1e-3
    assert h.train_accuracy == [] and h.val_accuracy == []


def test_fit_is_deterministic():
    X, y = regression()
    h1 = fit(linear(), X, y, epochs=5, batch_size=10, lr=0.01, seed=3)
    h2 = fit(linear(), X, y, epochs=5, batch_size=10, lr=0.01, seed=3)
    h3 = fit(linear(), X, y, epochs=5, batch_size=10, lr=0.01, seed=4)
    assert h1.train_loss == h2.train_loss
    assert h1.train_loss != h3.train_loss


def test_fit_does_not_touch_global_rng_and_restores_threads():
    X, y = regression()
    net = linear()
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    fit(net, X, y, epochs=1, batch_size=32, lr=0.01, seed=1, threads=1)
    assert torch.equal(torch.rand(1), expected)
    assert torch.get_num_threads() == 1


def test_fit_accepts_numpy_and_casts_to_model_dtype():
    X, y = regression()
    net = nn.Linear(4, 1)  # float32
    h = fit(net, X.numpy(), y.numpy(), epochs=2, batch_size=32, lr=0.01, seed=0)
    assert np.isfinite(h.train_loss).all()


def test_cross_entropy_reports_accuracy():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 2, generator=g)
    labels = (X[:, 0] > 0).long()
    torch.manual_seed(0)
    net = nn.Linear(2, 2)
    h = fit(net, X, labels, loss="cross_entropy", epochs=30, batch_size=20, lr=0.05, seed=0,
            val=(X, labels))
    assert len(h.train_accuracy) == 30 and len(h.val_accuracy) == 30
    assert h.val_accuracy[-1] > 0.95
    assert accuracy(net, X, labels) == pytest.approx(h.val_accuracy[-1])


def test_count_parameters_matches_manual_count():
    net = nn.Sequential(nn.Conv1d(2, 3, 5), nn.ReLU(), nn.Linear(7, 4))
    assert count_parameters(net) == (2 * 3 * 5 + 3) + (7 * 4 + 4)
    net[0].weight.requires_grad_(False)
    assert count_parameters(net) == 3 + 7 * 4 + 4
    net.register_buffer("fixed", torch.ones(10))
    assert count_parameters(net) == 3 + 7 * 4 + 4


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": 1.5}, TypeError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"seed": -1}, ValueError, "seed"),
        ({"loss": "hinge"}, ValueError, "cross_entropy"),
        ({"loss": 3}, TypeError, "loss"),
        ({"threads": 0}, ValueError, "threads"),
        ({"val": (1,)}, ValueError, "val"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, error, match):
    X, y = regression(8)
    args = {"epochs": 1, "batch_size": 4, "lr": 0.01, "seed": 0} | kwargs
    with pytest.raises(error, match=match):
        fit(linear(), X, y, **args)


def test_fit_rejects_bad_data():
    X, y = regression(8)
    kw = {"epochs": 1, "batch_size": 4, "lr": 0.01, "seed": 0}
    with pytest.raises(TypeError, match="model"):
        fit(lambda x: x, X, y, **kw)
    with pytest.raises(TypeError, match="inputs"):
        fit(linear(), [[1.0]], y, **kw)
    with pytest.raises(ValueError, match="same number of samples"):
        fit(linear(), X, y[:5], **kw)
    bad = X.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fit(linear(), bad, y, **kw)
    with pytest.raises(ValueError, match="non-empty"):
        fit(linear(), X[:0], y[:0], **kw)
    with pytest.raises(TypeError, match="class labels"):
        fit(linear(), X, y, loss="cross_entropy", **kw)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(linear(), X, y, batch_size=0)


def test_a_diverging_fit_stops_naming_epoch_and_batch_and_keeps_finite_weights():
    X, y = regression()
    net = linear()
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch \d+"):
        fit(net, X, y, epochs=3, batch_size=16, lr=1e300, seed=0)
    assert all(torch.isfinite(p).all() for p in net.parameters())


class _NanOnMarker(nn.Module):
    """A linear model whose output is NaN for inputs carrying the marker value 1000."""

    def __init__(self):
        super().__init__()
        self.lin = linear()

    def forward(self, x):
        out = self.lin(x)
        return torch.where((x == 1000).any(dim=1, keepdim=True), float("nan"), out)


def test_a_loss_that_turns_nan_mid_training_is_caught():
    X, y = regression()
    X[40, 0] = 1000.0
    net = _NanOnMarker()
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch [2-8]"):
        fit(net, X, y, epochs=2, batch_size=16, lr=1e-2, seed=0)
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_broadcasting_targets_are_refused():
    X, y = regression()
    with pytest.raises(ValueError, match="shape of the model's output"):
        fit(linear(), X, y[:, 0], epochs=1, batch_size=16, lr=1e-2, seed=0)


def test_class_labels_outside_the_outputs_are_refused():
    X = torch.randn(20, 3)
    with pytest.raises(ValueError, match=r"labels 0\.\.1 .* got labels 0\.\.2"):
        fit(nn.Linear(3, 2), X, torch.arange(20) % 3, loss="cross_entropy", epochs=1,
            batch_size=20, lr=1e-2, seed=0)


def test_a_model_without_trainable_parameters_is_refused():
    X, y = regression()
    net = linear().requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit(net, X, y, epochs=1, batch_size=16, lr=1e-2, seed=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_clear_error():
    X, y = regression()
    with pytest.raises(ValueError, match="no CUDA device"):
        fit(linear(), X, y, epochs=1, batch_size=16, lr=1e-2, seed=0,
            device="cuda")
