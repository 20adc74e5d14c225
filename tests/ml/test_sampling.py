"""Neighbour-sampled training and scoring, the full-batch fallback, and CPU threads by graph size."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import ml.sampling as sampling
from ingest.features import device_window_labels
from ml.device import SINGLE_THREAD_EDGES, torch_threads_for
from ml.metrics import evaluate
from ml.models import GAEDetector, GCNDetector
from ml.sampling import SamplingMode, SamplingOptions, as_options, fit_detector, sampling_available, scores_from_data, should_sample
from ml.splits import random_node_split
from tests.ml.builders import scanner_windows

needs_sampler = pytest.mark.skipif(
    not sampling_available(), reason="needs torch-sparse or pyg-lib for NeighborLoader (make sampling); neither is installed"
)


@pytest.fixture(autouse=True)
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampling, "_warned_missing", False)


def test_mode_from_name() -> None:
    assert as_options("on").mode is SamplingMode.ON


def test_default_mode_auto() -> None:
    assert as_options(None).mode is SamplingMode.AUTO


def test_invalid_mode_rejected() -> None:
    with pytest.raises(ValueError, match="invalid sampling mode 'sometimes'"):
        as_options("sometimes")


def test_invalid_fan_out_rejected() -> None:
    with pytest.raises(ValueError, match="invalid num_neighbors"):
        SamplingOptions(num_neighbors=(10, 0))


def test_off_never_samples() -> None:
    assert not should_sample(SamplingOptions(mode="off"), num_nodes=10**9, supported=True, what="scoring")


def test_auto_small_graph_full_batch() -> None:
    assert not should_sample(SamplingOptions(mode="auto"), num_nodes=sampling.AUTO_SAMPLING_NODES, supported=True, what="scoring")


def test_unsupported_kind_full_batch(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ml.sampling")

    assert not should_sample(SamplingOptions(mode="on"), num_nodes=10, supported=False, what="training")
    assert "has no sampled version" in caplog.text


def test_missing_sampler_falls_back(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(sampling, "sampling_available", lambda: False)

    assert not should_sample(SamplingOptions(mode="on"), num_nodes=10, supported=True, what="scoring")
    assert "neighbour sampling needs torch-sparse or pyg-lib" in caplog.text


def test_missing_sampler_warns_once(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(sampling, "sampling_available", lambda: False)
    for _ in range(3):
        should_sample(SamplingOptions(mode="on"), num_nodes=10, supported=True, what="scoring")

    assert caplog.text.count("neighbour sampling needs") == 1


def test_missing_sampler_scores_full_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampling, "sampling_available", lambda: False)
    graphs = scanner_windows(2)
    detector = GCNDetector(device="cpu", progress=False, epochs=5).fit(graphs)
    data = detector.prepare(graphs[0])

    expected = detector.scores_from_data(data)[0]
    assert scores_from_data(detector, data, sampling="on")[0] == pytest.approx(expected)


def test_gcn_family_trains_sampled() -> None:
    assert sampling.trains_sampled(GCNDetector(device="cpu", progress=False))


def test_gae_trains_full_batch() -> None:
    assert not sampling.trains_sampled(GAEDetector(device="cpu", progress=False))


def test_gae_scores_sampled() -> None:
    assert sampling.scores_sampled(GAEDetector(device="cpu", progress=False))


@needs_sampler
def test_one_batch_of_all_nodes_matches_full_batch() -> None:
    # With every device a seed and every neighbour kept, the batch is the whole graph.
    graphs = scanner_windows(2)
    detector = GCNDetector(device="cpu", progress=False, epochs=20).fit(graphs)
    data = detector.prepare(graphs[0])
    options = SamplingOptions(mode="on", batch_size=data.num_nodes, num_neighbors=(-1, -1))

    expected = detector.scores_from_data(data)[0]
    assert scores_from_data(detector, data, sampling=options)[0] == pytest.approx(expected, abs=1e-5)


@needs_sampler
def test_small_batches_score_every_node() -> None:
    graphs = scanner_windows(2)
    detector = GAEDetector(device="cpu", progress=False, epochs=5).fit(graphs)
    data = detector.prepare(graphs[0])
    scores, raw = scores_from_data(detector, data, sampling=SamplingOptions(mode="on", batch_size=3, num_neighbors=(2, 2)))

    assert len(scores) == data.num_nodes
    assert len(raw) == data.num_nodes
    assert ((scores >= 0) & (scores <= 1)).all()


@needs_sampler
def test_sampled_training_learns_scanners() -> None:
    torch.manual_seed(0)
    graphs = scanner_windows(10)
    labels = np.concatenate([device_window_labels(g.devices, g.edges).to_numpy() for g in graphs])
    split = random_node_split(labels, seed=0)
    detector = GCNDetector(device="cpu", progress=False, epochs=40)
    options = SamplingOptions(mode="on", batch_size=32, num_neighbors=(10, 10))
    fit_detector(detector, graphs, train_mask=split.train, val_mask=split.validation, sampling=options)
    scores = detector.decision_function_batch(graphs)
    result = evaluate(labels[split.test], scores[split.test], threshold=detector.threshold_, split="random")

    assert result.metrics["pr_auc"].value > 0.9


@needs_sampler
def test_sampled_training_restores_loop() -> None:
    graphs = scanner_windows(2)
    detector = GCNDetector(device="cpu", progress=False, epochs=2)
    fit_detector(detector, graphs, sampling=SamplingOptions(mode="on", batch_size=8))

    assert "_train" not in vars(detector)


def test_small_graph_one_thread() -> None:
    with torch_threads_for(SINGLE_THREAD_EDGES - 1) as threads:
        assert threads == 1
        assert torch.get_num_threads() == 1


def test_threads_restored() -> None:
    before = torch.get_num_threads()
    with torch_threads_for(10):
        pass

    assert torch.get_num_threads() == before


def test_large_graph_keeps_threads() -> None:
    before = torch.get_num_threads()
    with torch_threads_for(SINGLE_THREAD_EDGES) as threads:
        assert threads == before
