"""Choice of the torch device."""

from __future__ import annotations

import pytest
import torch

from ml.device import resolve_device
from ml.errors import DeviceUnavailableError


def test_cpu():
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_matches_cuda_availability():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA; this one has a CUDA device")
def test_cuda_missing_rejected():
    with pytest.raises(DeviceUnavailableError, match="use --device cpu or auto"):
        resolve_device("cuda")


def test_invalid_rejected():
    with pytest.raises(ValueError, match="invalid device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; torch found none")
def test_cuda_scores_match_cpu():
    from ml.models import GCNDetector
    from tests.ml.builders import scanner_windows

    graphs = scanner_windows(3)
    on_cpu = GCNDetector(device="cpu", progress=False, epochs=20).fit(graphs)
    on_cuda = GCNDetector(device="cuda", progress=False, epochs=20).fit(graphs)
    assert on_cuda.decision_function(graphs[0]) == pytest.approx(on_cpu.decision_function(graphs[0]), abs=1e-3)
