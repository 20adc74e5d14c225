"""Training from a store: both splits, the saved artifact, and data that cannot train a model."""

from __future__ import annotations

import pytest

from ml.artifacts import list_models
from ml.errors import TrainingDataError
from ml.training import train
from tests.ml.builders import T0, WINDOW, scanner_flows


def test_gcn_both_splits(make_store, tmp_path):
    store = make_store(scanner_flows(6))
    result = train(store, kind="gcn", models_dir=tmp_path, epochs=100, device="cpu", progress=False)
    assert result.metrics["random"].value("f1") == 1.0
    assert result.metrics["temporal"].windows == 2
    assert result.metrics["temporal"].anomalous == 2
    assert result.metrics["temporal"].value("recall") == 1.0


def test_artifact_saved_with_metrics(make_store, tmp_path):
    store = make_store(scanner_flows(6))
    result = train(store, kind="gcn", models_dir=tmp_path, epochs=20, device="cpu", progress=False)
    [info] = list_models(tmp_path)
    assert info.version == result.model_version
    assert info.metadata["training_windows"] == [T0 + k * WINDOW for k in range(6)]
    assert set(info.metrics) == {"random", "temporal"}
    assert info.metadata["evaluation"]["temporal"]["test_windows"] == [T0 + 4 * WINDOW, T0 + 5 * WINDOW]


def test_selected_windows_only(make_store, tmp_path):
    store = make_store(scanner_flows(6))
    result = train(store, kind="gae", windows=[T0, T0 + WINDOW], models_dir=tmp_path, epochs=5, device="cpu", progress=False)
    assert result.windows == [T0, T0 + WINDOW]
    assert result.metrics["temporal"].metrics["f1"].undefined == (
        "temporal split impossible: 2 window(s), at least 3 are needed (training, validation, test)"
    )


def test_gae_unlabelled_metrics_undefined(make_store, tmp_path):
    store = make_store(scanner_flows(4, labelled=False))
    result = train(store, kind="gae", models_dir=tmp_path, epochs=10, device="cpu", progress=False)
    assert result.metrics["random"].metrics["roc_auc"].undefined == "test split has no labelled device-windows"


def test_gcn_unlabelled_rejected(make_store, tmp_path):
    store = make_store(scanner_flows(4, labelled=False))
    with pytest.raises(TrainingDataError, match="gcn needs anomalous and normal device-windows"):
        train(store, kind="gcn", models_dir=tmp_path, epochs=10, device="cpu", progress=False)


def test_unknown_kind_rejected(make_store, tmp_path):
    store = make_store(scanner_flows(1))
    with pytest.raises(ValueError, match="unknown model kind 'graphormer'"):
        train(store, kind="graphormer", models_dir=tmp_path, device="cpu", progress=False)


def test_empty_store_rejected(sqlite_url, tmp_path):
    from graphdb import open_store

    with open_store(sqlite_url) as store:
        with pytest.raises(TrainingDataError, match="no windows to train on"):
            train(store, models_dir=tmp_path, device="cpu", progress=False)
