"""The public names of the ml package."""

from __future__ import annotations

import subprocess
import sys

import ml
from tests.conftest import REPO_ROOT


def test_all_sorted():
    assert ml.__all__ == sorted(ml.__all__)


def test_all_importable():
    missing = [name for name in ml.__all__ if not hasattr(ml, name)]
    assert missing == []


def test_registry_without_torch():
    # A fresh interpreter, because this test process has imported torch already.
    code = "import sys, ml.artifacts, ml.errors; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert result.stdout.strip() == "False"
