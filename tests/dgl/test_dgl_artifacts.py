"""A dgl-sage model saved, loaded and used by scoring, the ``score`` command and the worker."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from graphdb.model import JobStatus
from iotgraph.cli import app
from ml.artifacts import load_model, save_model
from ml.models import DGLSAGEDetector
from ml.scoring import score_windows
from ml.training import train
from ml.worker import Worker
from tests.dgl.support import requires_dgl
from tests.ml.builders import scanner_windows

pytestmark = [pytest.mark.dgl, requires_dgl]

SCANNER = "10.0.0.100"
EPOCHS = 60


def test_round_trip_same_scores(tmp_path):
    detector = DGLSAGEDetector(epochs=EPOCHS, aggregator="pool", progress=False, device="cpu")
    detector.fit(scanner_windows(2))
    info = save_model(detector, directory=tmp_path)

    loaded, loaded_info = load_model("latest:dgl-sage", directory=tmp_path, device="cpu")
    window = scanner_windows(3, seed=5)[2]
    assert loaded_info.version == info.version
    assert isinstance(loaded, DGLSAGEDetector)
    assert loaded.get_params() == detector.get_params()
    assert loaded.threshold_ == detector.threshold_
    assert np.array_equal(loaded.decision_function(window), detector.decision_function(window))


def test_metadata_records_kind_and_torch(tmp_path):
    detector = DGLSAGEDetector(epochs=5, progress=False, device="cpu").fit(scanner_windows(1))
    info = save_model(detector, directory=tmp_path)
    assert info.version.startswith("dgl-sage-")
    assert info.metadata["kind"] == "dgl-sage"
    assert info.metadata["hyperparameters"]["aggregator"] == "mean"
    assert info.metadata["torch_version"] == torch.__version__


def test_train_and_score_store(scanner_store, tmp_path):
    result = train(scanner_store, kind="dgl-sage", models_dir=tmp_path, epochs=EPOCHS, device="cpu", progress=False)
    summaries = score_windows(scanner_store, model="latest:dgl-sage", models_dir=tmp_path, device="cpu", progress=False)

    assert len(summaries) == 4
    for window in scanner_store.windows():
        [top] = scanner_store.suspicious(window.start, limit=1)
        assert top.device_id == SCANNER
        assert top.model_version == result.model_version


def test_score_command_latest_dgl_sage(scanner_store, sqlite_url, tmp_path):
    result = train(scanner_store, kind="dgl-sage", models_dir=tmp_path, epochs=EPOCHS, device="cpu", progress=False)

    outcome = CliRunner().invoke(
        app, ["score", "--model", "latest:dgl-sage", "--window", "latest", "--store", sqlite_url, "--models", str(tmp_path)]
    )
    latest = scanner_store.windows()[-1].start
    [top] = scanner_store.suspicious(latest, limit=1)
    assert outcome.exit_code == 0, outcome.output
    assert top.device_id == SCANNER
    assert top.model_version == result.model_version


def test_worker_runs_dgl_sage_job(scanner_store, sqlite_url, tmp_path):
    result = train(scanner_store, kind="dgl-sage", models_dir=tmp_path, epochs=EPOCHS, device="cpu", progress=False)
    job = scanner_store.enqueue_job(
        kind="rescore", window_start=None, window_end=None, model="latest:dgl-sage", requested_by="test", at=time.time()
    )

    handled = Worker(sqlite_url, models_dir=tmp_path, device="cpu", poll=0.1).run(once=True)
    first = scanner_store.windows()[0].start
    [top] = scanner_store.suspicious(first, limit=1)
    assert handled == 1
    assert scanner_store.job(job.id).status == JobStatus.DONE.value
    assert top.model_version == result.model_version
