"""Train and score both detectors on the IoT-23 capture 34-1 (one Mirai-infected device)."""

from __future__ import annotations

import pytest

from graphdb import open_store
from graphdb.load import load_files
from ml.scoring import score_windows
from ml.training import train
from tests.conftest import dataset_path

CAPTURE_34_1 = "iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"
INFECTED = "192.168.1.195"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gcn", "gae"])
def test_capture_34_1_scored(kind, sqlite_url, tmp_path):
    path = dataset_path(CAPTURE_34_1)
    with open_store(sqlite_url) as store:
        # Hour windows keep both fits and the scoring of all 25 windows well under a minute.
        load_files(store, [path], window="1h")
        result = train(store, kind=kind, models_dir=tmp_path, device="cpu", progress=False)
        summaries = score_windows(store, model=result.model_version, models_dir=tmp_path, device="cpu", progress=False)

        windows = store.windows()
        assert len(summaries) == len(windows) == 25
        for window in windows:
            graph = store.export_window(window.start)
            scores = store.scores_for(graph.devices["id"].tolist(), window.start)
            assert set(scores) == set(graph.devices["id"])
            assert all(0.0 <= score.score <= 1.0 for score in scores.values())
        assert result.metrics["temporal"].windows == 5
        assert result.metrics["temporal"].value("roc_auc") is not None


def test_capture_34_1_gcn_ranks_infected_first(sqlite_url, tmp_path):
    path = dataset_path(CAPTURE_34_1)
    with open_store(sqlite_url) as store:
        load_files(store, [path], window="1h")
        train(store, kind="gcn", models_dir=tmp_path, device="cpu", progress=False)
        busiest = max(store.windows(), key=lambda window: window.flows).start
        score_windows(store, [busiest], models_dir=tmp_path, device="cpu", progress=False)
        [top] = store.suspicious(busiest, limit=1)
        assert top.device_id == INFECTED
