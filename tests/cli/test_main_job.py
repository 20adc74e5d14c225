"""The main job through the CLI: simulate, ingest, train, score, top, plot, on the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphdb import open_store
from iotgraph.cli import app
from tests.conftest import FIXTURES_DIR

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def scored_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("mainjob")
    log = folder / "conn.log"
    url = f"sqlite:///{folder / 'store.db'}"
    models = folder / "models"

    assert invoke("simulate", "--out", str(log), "--devices", "12", "--hours", "2", "--seed", "3").exit_code == 0
    assert invoke("ingest", str(log), "--store", url, "--window", "10m").exit_code == 0
    trained = invoke("train", "--model", "gcn", "--epochs", "30", "--store", url, "--models", str(models), "--json")
    assert trained.exit_code == 0, trained.output
    assert invoke("score", "--store", url, "--models", str(models), "--model", "latest:gcn").exit_code == 0
    return url, models


def test_train_json_metrics(tmp_path: Path, scored_store) -> None:
    url, models = scored_store
    result = invoke("train", "--model", "gae", "--epochs", "5", "--store", url, "--models", str(models), "--json")
    payload = json.loads(result.output)
    assert payload["model_version"].startswith("gae-")
    assert set(payload["metrics"]) >= {"random", "temporal"}


def test_scores_cover_every_device(scored_store) -> None:
    url, _ = scored_store
    with open_store(url) as store:
        for window in store.windows():
            graph = store.export_window(window.start)
            scores = store.scores_for(graph.devices["id"].tolist(), window.start)
            assert set(scores) == set(graph.devices["id"])
            assert all(0.0 <= s.score <= 1.0 for s in scores.values())


def test_top_json_fields(scored_store) -> None:
    url, _ = scored_store
    result = invoke("top", "--store", url, "--format", "json", "--limit", "3")
    rows = json.loads(result.output)
    assert len(rows) == 3
    assert {"device", "window_start", "score", "label"} <= set(rows[0])
    assert rows[0]["score"] >= rows[1]["score"] >= rows[2]["score"]


def test_top_table(scored_store) -> None:
    url, _ = scored_store
    result = invoke("top", "--store", url, "--limit", "3")
    assert result.exit_code == 0
    assert "most suspicious devices" in result.output


def test_plot_writes_png(scored_store, tmp_path: Path) -> None:
    url, _ = scored_store
    out = tmp_path / "window.png"
    result = invoke("plot", "--store", url, "--out", str(out))
    assert result.exit_code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_neighbourhood(scored_store, tmp_path: Path) -> None:
    url, _ = scored_store
    top = json.loads(invoke("top", "--store", url, "--format", "json", "--limit", "1").output)[0]
    out = tmp_path / "device.png"
    result = invoke("plot", "--store", url, "--device", top["device"], "--hops", "2", "--out", str(out))
    assert result.exit_code == 0
    assert out.stat().st_size > 10_000


def test_windows_listing(scored_store) -> None:
    url, _ = scored_store
    result = invoke("windows", "--store", url)
    assert result.exit_code == 0
    assert "scored" in result.output


def test_score_unknown_model(scored_store) -> None:
    url, models = scored_store
    result = invoke("score", "--store", url, "--models", str(models), "--model", "gcn-19700101T000000-000000")
    assert result.exit_code == 2


def test_ingest_unknown_format_rejected(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\nthis is not a flow log\n")
    result = invoke("ingest", str(bad), "--store", url)
    assert result.exit_code == 2
    assert "notes.txt" in result.output
    with open_store(url) as store:
        assert store.counts().flows == 0


def test_ingest_empty_file_rejected(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    result = invoke("ingest", str(empty), "--store", url)
    assert result.exit_code == 2
    assert "empty" in result.output


def test_ingest_bad_lines_reported(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    bad_dir = FIXTURES_DIR / "ingest" / "bad"
    truncated = next(bad_dir.glob("*truncated*"))
    result = invoke("ingest", str(truncated), "--store", url)
    assert result.exit_code == 0
    assert "skipped" in result.output
    assert "line " in result.output


def test_ingest_window_change_rejected(tmp_path: Path, scored_store) -> None:
    url, _ = scored_store
    log = tmp_path / "more.log"
    invoke("simulate", "--out", str(log), "--devices", "5", "--hours", "0.2", "--seed", "9")
    result = invoke("ingest", str(log), "--store", url, "--window", "5m")
    assert result.exit_code == 2
    assert "--window 600s" in result.output
