"""Experiment E5 on tiny fabricated data: families, budgets, determinism, gains, verdicts."""

import gzip
import json
import struct

import numpy as np
import pytest
import torch

from pdecore.archive import read_archive
from pdecore.experiments import classification as c
from pdecore.nets import ResNetClassifier
from pdecore.train import History, accuracy


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _toy(n=48, size=8, seed=0):
    """Two classes that differ by the brightness of the left half: learnable quickly."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = 0.3 * rng.random((n, 1, size, size), dtype=np.float32)
    X[y == 1, :, :, : size // 2] += 0.6
    return c.ImageData("toy", X, y, X[:16], y[:16])


def _write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fmnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 30), ("t10k", 20)):
        images = rng.integers(0, 256, (count, 28, 28))
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(count) % 10)
    return tmp_path


def test_load_images_draws_seeded_subsets(fmnist_dir):
    a = c.load_images("fashion_mnist", fmnist_dir, n_train=10, n_test=5, seed=3)
    b = c.load_images("fashion_mnist", fmnist_dir, n_train=10, n_test=5, seed=3)
    full = c.load_images("fashion_mnist", fmnist_dir)
    assert a.X_train.shape == (10, 1, 28, 28) and a.X_test.shape == (5, 1, 28, 28)
    assert full.X_train.shape[0] == 30 and full.X_test.shape[0] == 20
    np.testing.assert_array_equal(a.X_train, b.X_train)
    # every subset image is one of the full set's images, with its own label
    flat = full.X_train.reshape(30, -1)
    for img, lab in zip(a.X_train, a.y_train, strict=True):
        hit = np.nonzero((flat == img.reshape(1, -1)).all(axis=1))[0]
        assert hit.size == 1 and full.y_train[hit[0]] == lab
    assert (a.in_channels, a.classes) == (1, 10)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"dataset": "mnist"}, ValueError, "dataset"),
    ({"dataset": "cifar10"}, ValueError, "root"),
    ({"n_train": 0}, ValueError, "n_train"),
    ({"n_test": 1.5}, TypeError, "n_test"),
])
def test_load_images_bad_arguments(kwargs, exc, match, tmp_path):
    with pytest.raises(exc, match=match):
        c.load_images(**{"root": None, **kwargs})


def test_load_images_missing_files_say_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install"):
        c.load_images("fashion_mnist", tmp_path)


def test_families_have_the_promised_budgets():
    budget = c.build_family("standard", 8).parameters()
    n_std = sum(p.numel() for p in budget)
    n = {f: sum(p.numel() for p in c.build_family(f, 8).parameters()) for f in c.FAMILIES}
    assert n["symmetric_deep"] == n_std
    assert 0.5 * n_std < n["symmetric_half"] < 0.6 * n_std
    assert abs(n["symmetric_wide"] - n_std) < 0.1 * n_std


def test_build_family_is_seeded_and_keeps_the_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = c.build_family("symmetric_deep", 4, seed=5)
    after = torch.rand(1)
    b = c.build_family("symmetric_deep", 4, seed=5)
    assert torch.equal(before, after)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_experiment_rows_learn_and_are_deterministic():
    data = _toy()
    kw = {"widths": [4], "blocks": (1,), "epochs": 10, "batch_size": 16, "lr": 1e-2,
          "noise_levels": [0.0, 0.5]}
    rows = c.classification_experiment(data, **kw)
    again = c.classification_experiment(data, **kw)
    assert [r.family for r in rows] == list(c.CONFIGS["quick"]["families"])
    for r, s in zip(rows, again, strict=True):
        assert r.history.batch_loss == s.history.batch_loss
        assert r.test_accuracy == s.test_accuracy
        assert r.test_accuracy == pytest.approx(accuracy(r.model, data.X_test, data.y_test))
        assert r.noise_accuracy[0.0] == r.test_accuracy
        assert len(r.history.batch_loss) == 10 * 3  # three batches of 16 per epoch
    best = max(r.test_accuracy for r in rows)
    assert best > 0.8  # the toy classes are separable by brightness


def test_experiment_bad_arguments():
    with pytest.raises(TypeError, match="data"):
        c.classification_experiment((np.zeros(3), np.zeros(3)))
    with pytest.raises(ValueError, match="families"):
        c.classification_experiment(_toy(), families=["resnet"])
    with pytest.raises(ValueError, match="noise_levels"):
        c.classification_experiment(_toy(), noise_levels=[-0.1])


def test_noisy_accuracy_changes_with_noise_and_is_reproducible():
    data = _toy()
    net = ResNetClassifier("symmetric", 4, (1,))
    a = c.noisy_accuracy(net, data.X_test, data.y_test, 5.0, seed=1)
    b = c.noisy_accuracy(net, data.X_test, data.y_test, 5.0, seed=1)
    assert a == b
    assert c.noisy_accuracy(net, data.X_test, data.y_test, 0.0) == accuracy(
        net, data.X_test, data.y_test)


def test_block_gains_of_a_contracting_symmetric_network():
    net = ResNetClassifier("symmetric", 3, (2,)).double()
    with torch.no_grad():
        for blk in net.residual_blocks():
            blk.weight.mul_(0.2)
    size = (4, 4)  # an 8x8 image is pooled to 4x4 before the first stage
    assert (c.stability_ratios(net, (8, 8)) <= 1).all()
    ratio, gain = c.block_gains(net, torch.rand(8, 1, 8, 8, dtype=torch.float64))
    assert ratio.shape == gain.shape == (2,)
    assert (gain <= 1 + 1e-9).all()
    ratios = [blk.stability_ratio(size) for blk in net.residual_blocks()]
    np.testing.assert_allclose(c.stability_ratios(net, (8, 8)), ratios)


def test_stability_ratios_are_empty_for_standard_blocks():
    assert c.stability_ratios(ResNetClassifier("standard", 3, (1,)), (8, 8)).size == 0
    with pytest.raises(TypeError, match="model"):
        c.stability_ratios(torch.nn.Linear(2, 2), (8, 8))
    with pytest.raises(TypeError, match="model"):
        c.block_gains(torch.nn.Linear(2, 2), np.zeros((1, 1, 8, 8)))


def _row(width, family, acc, seed=0, noise=None):
    return c.ClassifierRow(family, width, width, (2, 2), 100, acc,
                           {0.1: acc / 2 if noise is None else noise}, History(), 1.0, None,
                           seed)


def _seeded(width, family, accs):
    return [_row(width, family, a, seed) for seed, a in enumerate(accs)]


@pytest.mark.parametrize(("deep8", "deep16", "wins", "losses", "word"), [
    ((0.85, 0.86, 0.84), (0.76, 0.75, 0.77), 2, 0, "more accurate than the standard one at "
                                                   "every budget"),
    ((0.70, 0.71, 0.69), (0.60, 0.61, 0.62), 0, 2, "less accurate"),
    ((0.85, 0.86, 0.84), (0.80, 0.60, 0.71), 1, 0, "more accurate at 1, less accurate at 0"),
    ((0.90, 0.70, 0.81), (0.80, 0.60, 0.71), 0, 0, "could not be told apart"),
])
def test_compare_at_budgets_applies_the_paired_rule(deep8, deep16, wins, losses, word):
    std8, std16 = (0.80, 0.81, 0.79), (0.70, 0.71, 0.72)
    rows = (_seeded(8, "standard", std8) + _seeded(8, "symmetric_deep", deep8)
            + _seeded(16, "standard", std16) + _seeded(16, "symmetric_deep", deep16)
            + _seeded(8, "symmetric_half", (0.5, 0.5, 0.5)))
    out = c.compare_at_budgets(rows)
    assert out["budgets"] == 2 and out["seeds"] == 3
    assert (out["deep_wins"], out["deep_losses"]) == (wins, losses)
    assert (out["half_wins"], out["half_losses"]) == (0, 1)
    gaps = np.subtract(deep8 + deep16, std8 + std16)
    assert out["mean_gap_deep"] == pytest.approx(gaps.mean())
    assert out["sd_gap_deep"] == pytest.approx(gaps.std(ddof=1))
    assert np.isnan(out["mean_gap_stable"])
    assert word in out["text"]


def test_one_seed_decides_nothing():
    out = c.compare_at_budgets([_row(8, "standard", 0.5), _row(8, "symmetric_deep", 0.9)])
    assert out["deep_wins"] == out["deep_losses"] == 0 and "one seed" in out["text"]


def test_results_table_has_a_line_per_budget_and_family_with_the_spread():
    rows = _seeded(8, "standard", (0.8, 0.8)) + _seeded(8, "symmetric_deep", (0.84, 0.86))
    lines = c.results_table(rows).splitlines()
    assert len(lines) == 4 and "noise 0.1" in lines[0] and "MMACs" in lines[0]
    assert "85.00 ± 1.41" in lines[3] and lines[3].rstrip(" |").endswith("2")


def test_the_experiment_runs_on_fabricated_cifar10_batches(tmp_path):
    import pickle

    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (6, 3072), dtype=np.uint8),
                 b"labels": list(np.arange(6) % 10)}
        with open(tmp_path / name, "wb") as fh:
            pickle.dump(batch, fh)
    data = c.load_images("cifar10", tmp_path, n_train=20)
    assert data.X_train.shape == (20, 3, 32, 32) and data.in_channels == 3
    rows = c.classification_experiment(data, widths=[2], families=["symmetric_half"],
                                       blocks=(1,), noise_levels=[0.1])
    assert rows[0].model.in_channels == 3 and 0.0 <= rows[0].test_accuracy <= 1.0
    assert c.stability_ratios(rows[0].model, data.X_test.shape[2:]).shape == (1,)


def test_most_robust_counts_budget_winners_under_noise():
    rows = [_row(8, "standard", 0.8), _row(8, "symmetric_deep", 0.7),
            _row(16, "standard", 0.6), _row(16, "symmetric_deep", 0.9)]
    # _row stores noise accuracy 0.1 -> acc / 2, so the ranking follows the clean one
    assert c.most_robust(rows, 0.0) == {"standard": 1, "symmetric_deep": 1}
    assert c.most_robust(rows, 0.1) == {"standard": 1, "symmetric_deep": 1}
    rows[0] = _row(8, "standard", 0.8, noise=0.1)
    assert c.most_robust(rows, 0.1) == {"standard": 0, "symmetric_deep": 2}
    with pytest.raises(ValueError, match="sigma"):
        c.most_robust(rows, 0.5)
    with pytest.raises(TypeError, match="rows"):
        c.most_robust([1], 0.1)


def test_run_carries_its_inputs_and_states_numbers_from_its_rows():
    data = _toy()
    res = c.run("quick", data=data, seed=1, widths=(2,), blocks=(1,), epochs=1,
                families=("standard", "symmetric_half", "symmetric_deep"))
    # the configuration's seeds (0, 1), shifted by seed=1
    assert res.config["widths"] == (2,) and res.seeds == (1, 2) and res.data is data
    assert sorted({r.seed for r in res.rows}) == [1, 2] and len(res.rows) == 6
    nums = res.numbers()
    by = {(r.family, r.seed): r for r in res.rows}
    assert nums["n_budgets"] == 1 and nums["n_train"] == 48 and nums["widths"] == "2"
    assert nums["n_seeds"] == 2 and nums["seeds_text"] == "1, 2"
    gaps = [100 * (by["symmetric_deep", s].test_accuracy - by["standard", s].test_accuracy)
            for s in (1, 2)]
    assert nums["mean_gap_deep"] == pytest.approx(np.mean(gaps))
    assert nums["acc_standard_2"] == pytest.approx(
        50 * (by["standard", 1].test_accuracy + by["standard", 2].test_accuracy))
    assert nums["macs_standard_2"] == by["standard", 1].macs > 0
    assert nums["deep_wins"] + nums["deep_losses"] <= 1
    assert "mean_gap_stable" not in nums  # family not run: no NaN in the results file
    assert nums["std_gain_max"] == pytest.approx(float(res.gains["standard"][1].max()))
    ratios = np.concatenate([res.stability["symmetric_half"],
                             res.stability["symmetric_deep"]])
    assert nums["n_sym_blocks"] == ratios.size == 3
    assert nums["n_stable"] == int((ratios <= 1).sum())
    with pytest.raises(ValueError, match="unknown settings"):
        c.run("quick", data=data, width=2)


def test_paper_runner_is_resumable_and_its_archive_gives_the_tables(fmnist_dir, tmp_path):
    tiny = dict(c.CONFIGS["quick"], seeds=(0, 1), n_train=20, n_test=10, epochs=3,
                widths=(2,), families=("standard", "symmetric_deep"), blocks=(1,))
    folder = tmp_path / "archive"
    jobs = c.paper_jobs(tiny)
    assert list(jobs) == ["e5-standard-w2-s0", "e5-symmetric_deep-w2-s0",
                          "e5-standard-w2-s1", "e5-symmetric_deep-w2-s1"]
    ran = c.run_paper(folder, tiny, data_root=fmnist_dir, progress=False)
    assert ran == list(jobs) and c.run_paper(folder, tiny, data_root=fmnist_dir,
                                             progress=False) == []
    archive = read_archive(folder, tiny)
    rows = c.archive_rows(archive)
    assert [(r.family, r.seed) for r in rows] == [
        ("standard", 0), ("symmetric_deep", 0), ("standard", 1), ("symmetric_deep", 1)]
    assert all(len(r.history.val_accuracy) == 3 for r in rows)
    # a record holds what the same job gives when run directly (same seed, same data)
    direct = c.run_job("standard", 2, 1, tiny, data_root=fmnist_dir)
    record = archive.current["e5-standard-w2-s1"]
    assert record["test_accuracy"] == direct["test_accuracy"]
    assert record["parameters"] == direct["parameters"] == rows[2].params
    assert "standard" in c.results_table(rows)
    gains = c.plateau(rows)["gains"]
    mean = np.mean([[r.history.val_accuracy for r in rows if r.family == "standard"]],
                   axis=1)[0]
    assert gains[(2, "standard")] == pytest.approx(mean[-1] - mean[0])
    with pytest.raises(TypeError, match="archive"):
        c.archive_rows(rows)
    nums = c.paper_numbers(archive, tiny)
    assert nums["paper_complete"] == 1 and nums["paper_runs"] == nums["paper_jobs"] == 4
    assert nums["paper_n_train"] == 20 and nums["paper_n_seeds"] == 2
    assert nums["paper_verdict_text"] == c.compare_at_budgets(rows)["text"]
    assert "CPUs" in nums["paper_machines"]
    (folder / "e5-standard-w2-s1.json").unlink()
    partial = c.paper_numbers(read_archive(folder, tiny), tiny)
    hours = sum(json.loads(p.read_text())["wall_time_s"] for p in folder.glob("e5-*.json"))
    assert partial == {"paper_runs": 3, "paper_jobs": 4, "paper_complete": 0,
                       "paper_hours": pytest.approx(hours / 3600)}


def test_the_committed_paper_archive_matches_the_paper_configuration():
    """A changed CONFIGS["paper"] must mark the committed archive stale, not mix it in."""
    if not c.PAPER_DIR.is_dir() or not any(c.PAPER_DIR.glob("*.json")):
        pytest.skip("no paper-scale archive committed yet (make paper)")
    required = ["family", "width", "seed", "n_train", "parameters", "macs_per_sample",
                "test_accuracy", "test_accuracy_per_epoch", "wall_time_s"]
    archive = read_archive(c.PAPER_DIR, c.CONFIGS["paper"], required)
    assert archive.stale == [], "records of another configuration: rerun make paper"
    assert set(archive.current) <= set(c.paper_jobs("paper"))


def test_learning_curves_plot_the_seed_mean_per_budget():
    import matplotlib

    matplotlib.use("Agg")
    from pdecore.plotting import plot_learning_curves

    rows = []
    for seed, curve in enumerate([(0.5, 0.6, 0.7), (0.7, 0.8, 0.9)]):
        for width in (8, 16):
            row = _row(width, "standard", curve[-1], seed)
            row.history.val_accuracy[:] = curve
            rows.append(row)
    fig = plot_learning_curves(rows)
    assert len(fig.axes) == 2
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [60, 70, 80])


def test_experiment_is_bitwise_reproducible_after_any_global_seed():
    gen = np.random.default_rng(0)
    X = gen.random((12, 1, 8, 8), dtype=np.float32)
    y = np.arange(12, dtype=np.int64) % 3
    data = c.ImageData("toy", X, y, X[:6].copy(), y[:6].copy())

    def run(global_seed):
        torch.manual_seed(global_seed)
        rows = c.classification_experiment(
            data, widths=[4], families=["standard", "symmetric_half"], blocks=(1,), epochs=2,
            batch_size=4, noise_levels=(0.1,), seed=5, threads=1)
        return [(r.family, r.params, float(r.test_accuracy).hex(),
                 {k: float(v).hex() for k, v in r.noise_accuracy.items()},
                 [float(v).hex() for v in r.history.train_loss]) for r in rows]

    assert run(0) == run(99)
