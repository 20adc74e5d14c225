"""``iotgraph train`` for every kind, ``iotgraph models list|show|delete`` and scoring with latest:<kind>."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from iotgraph.cli import app
from tests.ml.builders import scanner_flows

runner = CliRunner()


@pytest.fixture
def trained(make_store, sqlite_url, tmp_path):
    make_store(scanner_flows(4))
    models = tmp_path / "models"
    for kind in ("gbt", "baseline"):
        result = runner.invoke(
            app, ["train", "--model", kind, "--epochs", "5", "--device", "cpu", "--json", "--store", sqlite_url, "--models", str(models)]
        )
        assert result.exit_code == 0, result.output
    return sqlite_url, models


def test_models_list_json(trained):
    _, models = trained
    result = runner.invoke(app, ["models", "list", "--format", "json", "--models", str(models)])
    rows = json.loads(result.stdout)
    assert [(row["kind"], row["latest"]) for row in rows] == [("baseline", True), ("gbt", True)]
    assert rows[1]["pr_auc"]["random"] is not None


def test_models_show_latest_kind(trained):
    _, models = trained
    result = runner.invoke(app, ["models", "show", "latest:gbt", "--format", "json", "--models", str(models)])
    metadata = json.loads(result.stdout)
    assert metadata["kind"] == "gbt"
    assert metadata["feature_scaling"] == "global"


def test_score_latest_kind(trained):
    store, models = trained
    result = runner.invoke(app, ["score", "--model", "latest:baseline", "--device", "cpu", "--store", store, "--models", str(models)])
    assert result.exit_code == 0, result.output
    assert "scored 4 window(s) with baseline-" in result.stdout


def test_score_rejects_feature_mismatch(trained):
    store, models = trained
    [folder] = [path for path in models.iterdir() if path.name.startswith("gbt-")]
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["features"] = [name for name in metadata["features"] if name != "peer_entropy"] + ["tls_share"]
    (folder / "metadata.json").write_text(json.dumps(metadata))

    result = runner.invoke(app, ["score", "--model", "latest:gbt", "--store", store, "--models", str(models)])
    shown = runner.invoke(app, ["models", "show", "latest:gbt", "--models", str(models)])
    # Rich wraps long messages at the terminal width.
    message = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "features this version computes but the model lacks: peer_entropy" in message
    assert "features the model expects but this version does not compute: tls_share" in message
    assert "no: model gbt-" in " ".join(shown.stdout.split())


def test_models_delete(trained):
    _, models = trained
    deleted = runner.invoke(app, ["models", "delete", "latest:gbt", "--yes", "--models", str(models)])
    listed = runner.invoke(app, ["models", "list", "--format", "json", "--models", str(models)])
    assert deleted.exit_code == 0, deleted.output
    assert [row["kind"] for row in json.loads(listed.stdout)] == ["baseline"]


def test_models_show_unknown(trained):
    _, models = trained
    result = runner.invoke(app, ["models", "show", "gcn-20000101T000000-000000", "--models", str(models)])
    assert result.exit_code == 2
    assert "not found" in " ".join(result.output.split())


@pytest.mark.parametrize("kind", ["sage", "gat", "iforest", "gbt-nbr", "gbt-edge", "edge"])
def test_train_every_kind(kind, make_store, sqlite_url, tmp_path):
    make_store(scanner_flows(3))
    result = runner.invoke(
        app, ["train", "--model", kind, "--epochs", "5", "--device", "cpu", "--store", sqlite_url, "--models", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert f"saved model {kind}-" in result.stdout


def test_train_pygod_needs_sampling_extra(make_store, sqlite_url, tmp_path):
    from ml.models.pygod_detectors import unavailable_reason

    if unavailable_reason() is None:
        pytest.skip("pygod and torch_sparse are installed here")
    make_store(scanner_flows(3))
    result = runner.invoke(app, ["train", "--model", "dominant", "--store", sqlite_url, "--models", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'iotgraph[sampling]'" in " ".join(result.output.split())
