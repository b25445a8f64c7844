"""Determinism: a real training computation, run twice, gives the same numbers bit for bit.

``make test`` already re-executes every quick chapter with nbval and compares the cells
tagged ``nbval-check-output`` with papermill's run. This file checks the library below
the chapters, at full precision rather than rounded: the same call twice in one process
(after different global seeds, so nothing may depend on the global RNG), and once in a
fresh interpreter (so nothing may depend on state left by an earlier call).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch

from pdecore.experiments import classification, denoising

#: E6 (chapter 6) at a toy size: two families, two blocks, two epochs
DENOISING = {"families": ["trainable", "standard"], "budget": 60, "depth": 2, "n": 32,
             "n_train": 16, "n_test": 8, "epochs": 2, "seed": 3}


def _denoising_numbers(rows) -> dict:
    """Every number a chapter would show, as exact hex strings."""
    out = {}
    for r in rows:
        out[r.family] = {
            "test_rmse": float(r.test_rmse).hex(),
            "rmse_by_kind": {k: float(v).hex() for k, v in sorted(r.rmse_by_kind.items())},
            "norm_ratio": float(r.norm_ratio).hex(),
            "train_loss": [float(v).hex() for v in r.history.train_loss],
            "val_loss": [float(v).hex() for v in r.history.val_loss],
            "params": r.params,
        }
    return out


def _run_denoising(global_seed: int):
    torch.manual_seed(global_seed)
    np.random.seed(global_seed)
    return denoising.denoising_experiment(**DENOISING)


def test_denoising_experiment_is_bitwise_reproducible_in_one_process():
    first, second = _run_denoising(1), _run_denoising(12345)
    assert _denoising_numbers(first) == _denoising_numbers(second)
    for a, b in zip(first, second, strict=True):
        for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values(),
                                strict=True):
            assert torch.equal(p, q), name


def test_denoising_experiment_is_bitwise_reproducible_in_a_fresh_interpreter():
    script = textwrap.dedent(f"""
        import json, torch
        torch.set_num_threads(1)
        from pdecore.experiments import denoising
        import tests.test_determinism as t
        rows = denoising.denoising_experiment(**{DENOISING!r})
        print(json.dumps(t._denoising_numbers(rows)))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True, cwd=Path(__file__).parents[1])
    fresh = json.loads(out.stdout.strip().splitlines()[-1])
    assert fresh == _denoising_numbers(_run_denoising(0))


def test_classification_experiment_is_bitwise_reproducible():
    gen = np.random.default_rng(0)
    X = gen.random((12, 1, 8, 8), dtype=np.float32)
    y = np.arange(12, dtype=np.int64) % 3
    data = classification.ImageData("toy", X, y, X[:6].copy(), y[:6].copy())

    def run(global_seed):
        torch.manual_seed(global_seed)
        rows = classification.classification_experiment(
            data, widths=[4], families=["standard", "symmetric_half"], blocks=(1,), epochs=2,
            batch_size=4, noise_levels=(0.1,), seed=5, threads=1)
        return [(r.family, r.params, float(r.test_accuracy).hex(),
                 {k: float(v).hex() for k, v in r.noise_accuracy.items()},
                 [float(v).hex() for v in r.history.train_loss]) for r in rows]

    assert run(0) == run(99)
