"""Fixtures for the torch tests.

The tensors here are tiny: torch's intra-op threads only add overhead, and on busy
cores (two test runs at once, or a notebook executing beside them) OpenMP's waiting
threads slow each small convolution by orders of magnitude (measured: 7 s versus 210 s
for this folder with two runs side by side on 2 cores). So every test here runs on one
thread; the previous setting is restored afterwards.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
