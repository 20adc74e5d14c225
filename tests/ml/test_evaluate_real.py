"""``iotgraph evaluate`` on the IoT-23 capture 34-1 (one Mirai-infected device), every model at both levels."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from iotgraph.cli import app
from ml.evaluate import DEFAULT_MODELS, EVALUATION_METRICS
from tests.conftest import dataset_path

CAPTURE_34_1 = "iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"


@pytest.fixture(scope="module")
def rows():
    path = dataset_path(CAPTURE_34_1)
    # Hour windows: 25 windows, of which the temporal split tests the last 5.
    result = CliRunner().invoke(app, ["evaluate", str(path), "--window", "1h", "--epochs", "30", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["results"]


def test_capture_every_model_every_metric(rows):
    assert sorted({row["model"] for row in rows}) == sorted(DEFAULT_MODELS)
    for row in rows:
        for level in ("device", "edge"):
            assert sorted(row[level]["metrics"]) == sorted(EVALUATION_METRICS)


def test_capture_temporal_test_windows(rows):
    gcn = next(row for row in rows if row["model"] == "gcn" and row["split"] == "temporal")
    assert gcn["device"]["windows"] == 5
    assert gcn["device"]["anomalous"] >= 1
    assert gcn["edge"]["anomalous"] >= 1


def test_capture_edge_models_score_edges(rows):
    for name in ("edge", "gbt-edge"):
        row = next(row for row in rows if row["model"] == name and row["split"] == "temporal")
        assert row["edge"]["metrics"]["roc_auc"]["value"] > 0.9
