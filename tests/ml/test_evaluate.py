"""Evaluation: metrics, model names, simulated inputs and the evaluate command on small simulated networks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from iotgraph.cli import app
from ml.evaluate import DEFAULT_MODELS, EVALUATION_METRICS, model_spec, precision_at_fpr
from ml.evaluate_data import parse_simulation
from tests.ml.builders import scanner_flows

# Small enough for seconds per model: about 1,500 device-windows in 6 windows.
SIMULATION = "sim:devices=12,hours=1,attacks=mirai,seed=2,infected_fraction=0.5"
OTHER_SIMULATION = "sim:devices=12,hours=1,attacks=mirai,seed=5,infected_fraction=0.5"
FAST = ["--window", "10m", "--epochs", "5"]


def test_precision_at_fpr_by_hand():
    labels = np.array([1, 1] + [0] * 100)
    scores = np.array([0.9, 0.5, 0.8] + [0.1] * 99)
    # At threshold 0.5 both anomalous items and one benign item (FPR 1 %) are flagged.
    assert precision_at_fpr(labels, scores).value == pytest.approx(2 / 3)


def test_precision_at_fpr_undefined_reasons():
    assert precision_at_fpr(np.array([0, 0]), np.array([0.1, 0.2])).undefined == "test split has only benign items"
    unreachable = precision_at_fpr(np.array([1, 0, 0]), np.array([0.1, 0.9, 0.8]))
    assert unreachable.value is None
    assert "false-positive rate of at most 1%" in unreachable.undefined


def test_model_spec_names():
    spec = model_spec("gcn@window")
    history = model_spec("baseline-history")
    assert (spec.kind, spec.feature_scaling, spec.graph) == ("gcn", "window", True)
    assert (history.kind, dict(history.options), history.graph) == ("baseline", {"component": "history"}, False)
    with pytest.raises(ValueError, match="unknown model kind 'rnn'"):
        model_spec("rnn")


def test_parse_simulation():
    config = parse_simulation("sim:devices=30,hours=2.5,attacks=mirai+lateral,seed=4")
    assert (config.devices, config.hours, config.attacks, config.seed) == (30, 2.5, ("mirai", "lateral"), 4)
    with pytest.raises(ValueError, match="invalid simulation setting 'size=3'"):
        parse_simulation("sim:size=3")
    with pytest.raises(ValueError, match="unknown attack 'worm'"):
        parse_simulation("sim:attacks=worm")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    report, curves = folder / "report.md", folder / "pr.png"
    result = CliRunner().invoke(
        app, ["evaluate", SIMULATION, *FAST, "--format", "json", "--report", str(report), "--pr-curves", str(curves)]
    )
    return result, report, curves


def test_evaluate_json_every_metric(evaluated):
    result, _, _ = evaluated
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    rows = document["results"]
    assert sorted({(row["model"], row["split"]) for row in rows}) == sorted(
        (name, split) for name in DEFAULT_MODELS for split in ("temporal", "random")
    )
    for row in rows:
        for level in ("device", "edge"):
            metrics = row[level]["metrics"]
            assert sorted(metrics) == sorted(EVALUATION_METRICS)
            for entry in metrics.values():
                assert entry["value"] is not None or entry["undefined"]


def test_evaluate_graph_models_scored(evaluated):
    result, _, _ = evaluated
    rows = json.loads(result.stdout)["results"]
    gcn = next(row for row in rows if row["model"] == "gcn" and row["split"] == "temporal")
    assert gcn["device"]["metrics"]["roc_auc"]["value"] is not None
    assert gcn["train_seconds"] > 0


def test_evaluate_optional_models_skipped_with_reason(evaluated):
    result, _, _ = evaluated
    rows = json.loads(result.stdout)["results"]
    dominant = next(row for row in rows if row["model"] == "dominant")
    if dominant["skipped"] is None:
        pytest.skip("pygod and torch_sparse are installed here, so dominant ran")
    assert "sampling extra" in dominant["skipped"]


def test_evaluate_report_and_curves(evaluated):
    _, report, curves = evaluated
    text = report.read_text()
    assert "## sim:devices=12" in text
    assert "Best graph model against best flat model" in text
    assert curves.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_transfer():
    result = CliRunner().invoke(
        app, ["evaluate", "--train", SIMULATION, "--test", OTHER_SIMULATION, *FAST, "--models", "gcn,gbt@window", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    assert [(row["model"], row["split"], row["trained_on"], row["dataset"]) for row in rows] == [
        ("gcn", "transfer", SIMULATION, OTHER_SIMULATION),
        ("gbt@window", "transfer", SIMULATION, OTHER_SIMULATION),
    ]


def test_evaluate_matrix_table():
    result = CliRunner().invoke(app, ["evaluate", "--matrix", SIMULATION, OTHER_SIMULATION, *FAST, "--models", "sage"])
    assert result.exit_code == 0, result.output
    assert "sage, device level: ROC-AUC / PR-AUC" in result.stdout
    assert "sage, edge level: ROC-AUC / PR-AUC" in result.stdout


def test_evaluate_matrix_needs_two_inputs():
    result = CliRunner().invoke(app, ["evaluate", "--matrix", SIMULATION])
    assert result.exit_code == 2
    assert "--matrix needs at least 2 inputs" in result.output


def test_evaluate_unknown_model():
    result = CliRunner().invoke(app, ["evaluate", SIMULATION, "--models", "gcn,rnn"])
    assert result.exit_code == 2
    assert "unknown model kind 'rnn'" in result.output


def test_evaluate_store(make_store, sqlite_url):
    make_store(scanner_flows(5))
    result = CliRunner().invoke(
        app, ["evaluate", "--store", sqlite_url, "--models", "gbt,baseline", "--splits", "temporal", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    assert [(row["model"], row["device"]["windows"]) for row in rows] == [("gbt", 1), ("baseline", 1)]
