"""``iotgraph watch`` from the command line: scoring with a saved model, no model, bad options and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphdb import open_store
from graphdb.load import load_files
from iotgraph.cli import app
from tests.watch.support import HEADER, T0, T1, T2, tsv_line

REPO = Path(__file__).resolve().parents[2]
CAMERA, PLUG, GATEWAY, INFECTED = "192.168.1.10", "192.168.1.11", "192.168.1.1", "192.168.1.66"


def three_windows() -> str:
    """A log of three windows: a camera and a plug ask DNS, and an infected device scans in the second."""
    lines = [HEADER]
    for base, tag in ((T0, "a"), (T1, "b"), (T2, "c")):
        lines += [tsv_line(base + 5, f"{tag}1", CAMERA, GATEWAY), tsv_line(base + 9, f"{tag}2", PLUG, GATEWAY)]
    lines += [tsv_line(T1 + 20 + i, f"s{i}", INFECTED, f"192.168.1.{100 + i}", label="malicious") for i in range(5)]
    lines.append(tsv_line(T2 + 250, "last", CAMERA, GATEWAY))
    return "".join(lines)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GCN autoencoder trained for a few epochs on the same three windows."""
    from ml.training import train

    folder = tmp_path_factory.mktemp("trained")
    log = folder / "conn.log"
    log.write_text(three_windows())
    with open_store(f"sqlite:///{folder / 'train.db'}") as store:
        load_files(store, [log], window="5m")
        train(store, kind="gae", epochs=5, models_dir=folder / "models", progress=False)
    return folder / "models"


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, ["watch", *args])


def test_once_scores_complete_windows(tmp_path: Path, models: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(three_windows())
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = invoke(str(log), "--once", "--store", url, "--models", str(models), "--device", "cpu")

    assert result.exit_code == 0, result.output
    with open_store(url) as store:
        statuses = [window.status for window in store.windows()]
    assert statuses == ["scored", "scored", "open"]


def test_once_stores_scores(tmp_path: Path, models: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(three_windows())
    url = f"sqlite:///{tmp_path / 'store.db'}"
    invoke(str(log), "--once", "--store", url, "--models", str(models), "--device", "cpu")

    with open_store(url) as store:
        scored = {score.device_id for score in store.suspicious(T1, limit=100)}
    assert INFECTED in scored


def test_once_without_model(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(three_windows())
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = invoke(str(log), "--once", "--store", url, "--models", str(tmp_path / "none"))

    assert result.exit_code == 0, result.output
    assert "2 window(s) closed, 0 scoring(s)" in " ".join(result.output.split())


def test_unknown_model_rejected(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER)
    result = invoke(str(log), "--once", "--model", "gcn-19990101T000000-abcdef", "--models", str(tmp_path))

    assert result.exit_code == 2
    assert "not found" in " ".join(result.output.split())


def test_invalid_lateness_rejected(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER)
    result = invoke(str(log), "--once", "--lateness", "soon", "--store", f"sqlite:///{tmp_path / 'store.db'}")

    assert result.exit_code == 2
    assert "invalid --lateness" in " ".join(result.output.split())


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 5, "a1"))
    command = [sys.executable, "-m", "iotgraph.cli", "watch", str(log), "--poll", "100ms",
               "--store", f"sqlite:///{tmp_path / 'store.db'}", "--models", str(tmp_path / "models")]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True, env={**os.environ, "IOTGRAPH_LOG_LEVEL": "INFO"})
    deadline = time.monotonic() + 60
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        while time.monotonic() < deadline and not store_has_flow(store):
            time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert "watch stopped: 1 batch(es), 1 new flows" in stderr


def store_has_flow(store) -> bool:
    try:
        return store.counts().flows > 0
    except Exception:  # noqa: BLE001  # the watch may still be creating the schema
        return False
