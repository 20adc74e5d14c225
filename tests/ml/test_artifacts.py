"""Saving, listing and loading models, and rejecting models trained on other features."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ingest.features import FEATURES
from ml.artifacts import MODELS_ENV, list_models, load_model, models_dir, save_model
from ml.errors import FeatureMismatchError, ModelNotFoundError
from ml.models import GAEDetector, GCNDetector
from tests.ml.builders import regular_windows, scanner_windows


@pytest.fixture(scope="module")
def gcn():
    return GCNDetector(device="cpu", progress=False, epochs=30).fit(scanner_windows(3))


@pytest.fixture(scope="module")
def gae():
    return GAEDetector(device="cpu", progress=False, epochs=30).fit(regular_windows(3))


def test_version_id_format(gcn, tmp_path):
    info = save_model(gcn, directory=tmp_path, at=1_796_415_300.0)
    assert re.fullmatch(r"gcn-20261204T201500-[0-9a-f]{6}", info.version)


def test_metadata_contents(gcn, tmp_path):
    info = save_model(gcn, directory=tmp_path, metrics={"random": {}})
    metadata = json.loads((info.path / "metadata.json").read_text())
    assert metadata["kind"] == "gcn"
    assert metadata["features"] == list(FEATURES)
    assert metadata["hyperparameters"]["hidden_channels"] == 16
    assert metadata["label_rule"] == "originator"
    assert len(metadata["training_windows"]) == 3
    assert metadata["metrics"] == {"random": {}}
    assert "torch_version" in metadata
    assert "pyg_version" in metadata


def test_gcn_round_trip_scores(gcn, tmp_path):
    info = save_model(gcn, directory=tmp_path)
    loaded, loaded_info = load_model(info.version, directory=tmp_path, device="cpu")
    graph = scanner_windows(1, seed=5)[0]
    assert loaded_info.version == info.version
    assert loaded.threshold_ == gcn.threshold_
    assert np.allclose(loaded.decision_function(graph), gcn.decision_function(graph))


def test_gae_round_trip_scores(gae, tmp_path):
    info = save_model(gae, directory=tmp_path)
    loaded, _ = load_model(info.version, directory=tmp_path, device="cpu")
    graph = regular_windows(2, outlier_window=1)[1]
    assert np.allclose(loaded.decision_function(graph), gae.decision_function(graph))
    assert np.allclose(loaded.reference_errors_, gae.reference_errors_)


def test_latest_by_kind(gcn, gae, tmp_path):
    first = save_model(gcn, directory=tmp_path, at=1000.0)
    second = save_model(gae, directory=tmp_path, at=2000.0)
    assert [info.version for info in list_models(tmp_path)] == [second.version, first.version]
    assert load_model("latest", directory=tmp_path, device="cpu")[1].version == second.version
    assert load_model("latest:gcn", directory=tmp_path, device="cpu")[1].version == first.version


def test_unknown_version_rejected(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model 'gcn-1' not found"):
        load_model("gcn-1", directory=tmp_path)


def test_empty_registry_rejected(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no saved gae model"):
        load_model("latest:gae", directory=tmp_path)


def test_feature_mismatch_rejected(gcn, tmp_path):
    info = save_model(gcn, directory=tmp_path)
    metadata_file = info.path / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["features"] = [name for name in FEATURES if name != "peer_entropy"] + ["syn_share"]
    metadata_file.write_text(json.dumps(metadata))
    with pytest.raises(FeatureMismatchError) as caught:
        load_model(info.version, directory=tmp_path)
    assert str(caught.value) == (
        f"model {info.version} was trained on other features than this version computes "
        "(features this version computes but the model lacks: peer_entropy; "
        "features the model expects but this version does not compute: syn_share); "
        "train a new model with `iotgraph train`"
    )


def test_reordered_features_rejected(gcn, tmp_path):
    info = save_model(gcn, directory=tmp_path)
    metadata_file = info.path / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["features"] = list(reversed(FEATURES))
    metadata_file.write_text(json.dumps(metadata))
    with pytest.raises(FeatureMismatchError, match="same features in a different order"):
        load_model(info.version, directory=tmp_path)


def test_unreadable_folder_skipped(gcn, tmp_path):
    (tmp_path / "broken").mkdir()
    info = save_model(gcn, directory=tmp_path)
    assert [found.version for found in list_models(tmp_path)] == [info.version]


def test_models_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(MODELS_ENV, str(tmp_path))
    assert models_dir() == tmp_path
