"""Scoring stored windows: every device scored, ranks, explanations and model checks."""

from __future__ import annotations

import json

import pytest

from ingest.features import FEATURES
from ml.artifacts import list_models
from ml.errors import FeatureMismatchError
from ml.scoring import score_windows
from ml.training import train
from tests.ml.builders import T0, WINDOW, scanner_flows

SCANNER = "10.0.0.100"


@pytest.fixture
def scored(make_store, tmp_path):
    store = make_store(scanner_flows(5))
    result = train(store, kind="gcn", models_dir=tmp_path, epochs=100, device="cpu", progress=False)
    summaries = score_windows(store, models_dir=tmp_path, explain_top_k=2, device="cpu", progress=False, scored_at=T0 + 9999)
    return store, result, summaries


def test_every_device_scored(scored):
    store, result, summaries = scored
    assert len(summaries) == 5
    for summary in summaries:
        graph = store.export_window(summary.window_start)
        scores = store.scores_for(graph.devices["id"].tolist(), summary.window_start)
        assert set(scores) == set(graph.devices["id"])
        assert all(0.0 <= score.score <= 1.0 for score in scores.values())
        assert all(score.model_version == result.model_version for score in scores.values())


def test_scanner_ranked_first(scored):
    store, _, summaries = scored
    for summary in summaries:
        [top] = store.suspicious(summary.window_start, limit=1)
        assert top.device_id == SCANNER
        assert top.rank == 1
        assert top.predicted is True


def test_summary_counts(scored):
    _, _, summaries = scored
    assert summaries[0].devices == 30
    assert summaries[0].predicted == 1
    assert summaries[0].top[0][0] == SCANNER


def test_explanations_top_k_only(scored):
    store, _, summaries = scored
    ranked = store.suspicious(summaries[0].window_start, limit=100)
    assert [score.explanation is not None for score in ranked[:3]] == [True, True, False]


def test_explanation_contents(scored):
    store, result, _ = scored
    explanation = store.explanation(SCANNER, T0 + WINDOW)
    reasons = explanation.reasons
    graph = store.export_window(T0 + WINDOW)
    peers = set(graph.edges.loc[graph.edges["src"] == SCANNER, "dst"])
    assert reasons["model_version"] == result.model_version
    assert len(reasons["features"]) == 5
    assert all(item["name"] in FEATURES for item in reasons["features"])
    assert len(reasons["neighbours"]) == 5
    assert all(item["id"] in peers for item in reasons["neighbours"])
    assert reasons["edges"][0]["src"] == SCANNER
    assert reasons["edges"][0]["malicious_flows"] == 1


def test_previous_values_from_earlier_window(scored):
    store, _, _ = scored
    reasons = store.explanation(SCANNER, T0 + WINDOW).reasons
    peers = next(item for item in reasons["features"] if item["name"] == "distinct_peers_out")
    assert reasons["previous_window"] == T0
    assert peers["value"] == pytest.approx(20)
    assert peers["median"] == 0.0
    assert peers["previous"] == pytest.approx(20)


def test_selected_window_and_previous(make_store, tmp_path):
    store = make_store(scanner_flows(3))
    train(store, kind="gcn", models_dir=tmp_path, epochs=30, device="cpu", progress=False)
    [summary] = score_windows(store, [T0 + 2 * WINDOW], models_dir=tmp_path, device="cpu", progress=False)
    reasons = store.explanation(SCANNER, T0 + 2 * WINDOW).reasons
    assert summary.window_start == T0 + 2 * WINDOW
    assert reasons["previous_window"] == T0 + WINDOW


def test_feature_mismatch_rejected(make_store, tmp_path):
    store = make_store(scanner_flows(3))
    train(store, kind="gcn", models_dir=tmp_path, epochs=5, device="cpu", progress=False)
    [info] = list_models(tmp_path)
    metadata = json.loads((info.path / "metadata.json").read_text())
    metadata["features"] = metadata["features"][:-1]
    (info.path / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(FeatureMismatchError, match="the model lacks: bytes_per_flow"):
        score_windows(store, models_dir=tmp_path, device="cpu", progress=False)
