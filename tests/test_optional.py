"""Without torch, the numpy core works and the torch parts say what to install."""

import subprocess
import sys

import pytest

HIDE_TORCH = "import sys; sys.modules['torch'] = None; "  # import torch now fails


def _run(code):
    return subprocess.run([sys.executable, "-c", HIDE_TORCH + code], capture_output=True,
                          text=True)


def test_the_numpy_core_needs_no_torch():
    out = _run("import pdecore; print(pdecore.stability_limit(8) > 0)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize("module", ["pdecore.nets", "pdecore.train", "pdecore.experiments",
                                    "pdecore.nets.classifier"])
def test_a_torch_module_names_the_install_command(module):
    out = _run(f"import {module}")
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: pdecore."), last
    assert "pip install 'pdecore[nets]'" in last and "pip install -e '.[nets]'" in last
