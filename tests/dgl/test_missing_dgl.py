"""Without DGL, asking for a DGL export or model fails with the steps to install it."""

from __future__ import annotations

import json
import time

import pytest
import torch
from typer.testing import CliRunner

from ingest.features import FEATURES
from iotgraph.cli import app
from ml.dgl_export import DGLUnavailableError, to_dgl
from ml.errors import ModelError
from ml.models import make_detector
from tests.dgl.support import DGL_IMPORT_ERROR
from tests.ml.builders import edge, window_graph

pytestmark = pytest.mark.skipif(DGL_IMPORT_ERROR is None, reason="needs an environment without dgl; found dgl importable")


def saved_dgl_sage_model(folder) -> None:
    """Write a registry entry of kind dgl-sage, as the DGL environment's `iotgraph train` would."""
    version = "dgl-sage-20261204T201500-ab12cd"
    model = folder / version
    model.mkdir(parents=True)
    metadata = {
        "format": 1,
        "version": version,
        "kind": "dgl-sage",
        "created_at": time.time(),
        "features": list(FEATURES),
        "hyperparameters": {"hidden_channels": 16, "aggregator": "mean", "epochs": 1},
    }
    (model / "metadata.json").write_text(json.dumps(metadata))
    torch.save({}, model / "model.pt")


def test_to_dgl_names_install_steps():
    with pytest.raises(DGLUnavailableError, match="make test-dgl"):
        to_dgl(window_graph([edge("10.0.0.2", "10.0.0.3")]))


def test_make_detector_names_install_steps():
    with pytest.raises(DGLUnavailableError, match=r"DGL 2\.1\.0 needs torch 2\.2\.1"):
        make_detector("dgl-sage")


def test_error_is_model_and_import_error():
    assert issubclass(DGLUnavailableError, ModelError)
    assert issubclass(DGLUnavailableError, ImportError)


def test_score_command_names_install_steps(sqlite_url, tmp_path):
    saved_dgl_sage_model(tmp_path / "models")
    outcome = CliRunner().invoke(
        app, ["score", "--model", "latest:dgl-sage", "--store", sqlite_url, "--models", str(tmp_path / "models")]
    )
    message = " ".join(outcome.output.split())
    assert outcome.exit_code == 2
    assert "cannot import dgl" in message
    assert "make test-dgl" in message
