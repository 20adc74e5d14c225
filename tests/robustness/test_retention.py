"""Retention: purges delete old data in consistent batches, and the worker runs the configured default."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from tests.robustness.conftest import Reference
from tests.robustness.support import DEVICES, INFECTED, T0, WINDOW, consistency_problems
from typer.testing import CliRunner

from graphdb import open_store
from graphdb.model import DeviceScore
from graphdb.retention import purge_older_than, retention_every_from_env, retention_from_env
from graphdb.sqlite import SqliteStore
from ingest.pseudonym import Pseudonymiser
from iotgraph.cli import app as cli
from ml.worker import Worker

# The reference network has windows T0 ... T0 + 9 * 300; purging before T0 + 1500 drops the first five.
CUT = T0 + 5 * WINDOW


@pytest.fixture
def store_url(reference: Reference, tmp_path: Path) -> str:
    """A private copy of the reference ingest: ten windows, no scores."""
    path = tmp_path / "store.db"
    shutil.copy(reference.ingested_url.removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}"


def old_totals(reference: Reference) -> tuple[int, int]:
    """Flows and edges of the windows before CUT, from the uninterrupted reference run."""
    old = [stats for start, stats in reference.windows.items() if start < CUT]
    return sum(s.flows for s in old), sum(s.edges for s in old)


def test_purge_counts(store_url: str, reference: Reference) -> None:
    flows, edges = old_totals(reference)
    with open_store(store_url) as store:
        deleted = store.purge(CUT, batch_size=100)
        remaining = store.windows()
    assert deleted["windows"] == 5
    assert deleted["edges"] == edges
    assert deleted["flow_ids"] == flows
    assert [window.start for window in remaining] == [CUT + i * WINDOW for i in range(5)]


def test_purge_batches_each_consistent(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    observed: list[list[str]] = []
    original = SqliteStore._purge_windows

    def checked(self: SqliteStore, before: float, size: int, deleted: dict[str, int]) -> bool:
        more = original(self, before, size, deleted)
        # A second connection reads exactly what the transaction committed.
        with open_store(store_url) as reader:
            observed.append(consistency_problems(reader))
        return more

    monkeypatch.setattr(SqliteStore, "_purge_windows", checked)
    with open_store(store_url) as store:
        store.purge(CUT, batch_size=100)
    # Each window has more than 100 flows and edges, so each went in a transaction of its own.
    assert len(observed) == 6
    assert observed == [[]] * 6


def test_purge_big_window_alone(store_url: str) -> None:
    with open_store(store_url) as store:
        deleted = store.purge(CUT, batch_size=1)
        problems = consistency_problems(store)
    assert deleted["windows"] == 5
    assert problems == []


def test_purge_rejects_zero_batch(store_url: str) -> None:
    from graphdb import InvalidRequestError

    with open_store(store_url) as store, pytest.raises(InvalidRequestError, match="at least 1"):
        store.purge(CUT, batch_size=0)


def test_purge_drops_orphan_devices(store_url: str) -> None:
    with open_store(store_url) as store:
        deleted = store.purge(T0 + 10 * WINDOW)
        counts = store.counts()
    assert deleted["devices"] == 16
    assert counts.devices == 0


def test_purge_keeps_devices_with_windows(store_url: str) -> None:
    with open_store(store_url) as store:
        deleted = store.purge(CUT)
        infected = store.device(INFECTED)
    # Every device talks in every window, so all keep a window after the cut.
    assert deleted["devices"] == 0
    assert infected is not None


def test_purge_clears_latest_score(store_url: str) -> None:
    with open_store(store_url) as store:
        store.write_scores(T0, [DeviceScore(DEVICES[0], T0, 0.7, "m1", rank=1)], "m1", scored_at=T0 + 600)
        store.purge(CUT)
        device = store.device(DEVICES[0])
        history = store.score_history(DEVICES[0])
    assert device.anomaly_score is None
    assert device.anomaly_window is None
    assert history == []


def test_purge_old_jobs_only_finished(store_url: str) -> None:
    with open_store(store_url) as store:
        done = store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by="t", at=T0)
        store.claim_job("w", at=T0)
        store.finish_job(done.id, "done", at=T0 + 1)
        queued = store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by="t", at=T0 + 2)
        deleted = store.purge(CUT)
        left = [job.id for job in store.jobs()]
    assert deleted["jobs"] == 1
    assert left == [queued.id]


def test_purge_drops_pseudonyms_of_deleted_devices(tmp_path: Path, reference: Reference) -> None:
    from graphdb.load import load_files

    url = f"sqlite:///{tmp_path / 'store.db'}"
    pseudonymiser = Pseudonymiser(b"retention test key of 32 bytes!!")
    with open_store(url) as store:
        load_files(store, [reference.log], window="5m", pseudonymiser=pseudonymiser)
        before = store.resolve_pseudonym(pseudonymiser.pseudonym(INFECTED))
        deleted = store.purge(T0 + 10 * WINDOW)
        after = store.resolve_pseudonym(pseudonymiser.pseudonym(INFECTED))
    assert before == INFECTED
    assert deleted["pseudonyms"] == 16
    assert after is None


def test_purge_cli(store_url: str) -> None:
    result = CliRunner().invoke(
        cli, ["purge", "--older-than", "30d", "--now", str(CUT + 30 * 86400), "--batch-size", "100", "--store", store_url], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "5 windows" in result.stdout
    assert f"data before {CUT:.0f}" in result.stdout


def test_purge_cli_invalid_age(store_url: str) -> None:
    result = CliRunner().invoke(cli, ["purge", "--older-than", "soon", "--store", store_url])
    assert result.exit_code == 2
    assert "invalid duration 'soon'" in result.output


def test_purge_older_than_now(store_url: str) -> None:
    with open_store(store_url) as store:
        result = purge_older_than(store, 86400.0, now=CUT + 86400.0, batch_size=500)
    assert result.before == CUT
    assert result.deleted["windows"] == 5


@pytest.mark.parametrize(("value", "seconds"), [("30d", 2_592_000.0), ("12h", 43_200.0), ("off", None), ("", None)])
def test_retention_env(value: str, seconds: float | None) -> None:
    assert retention_from_env({"IOTGRAPH_RETENTION": value}) == seconds


def test_retention_env_invalid() -> None:
    with pytest.raises(ValueError, match="invalid IOTGRAPH_RETENTION='forever'"):
        retention_from_env({"IOTGRAPH_RETENTION": "forever"})


def test_retention_every_default() -> None:
    assert retention_every_from_env({}) == 3600.0


def test_worker_runs_retention(store_url: str, tmp_path: Path) -> None:
    # The reference windows are from 2023, so a 30-day limit counted from now covers them all.
    worker = Worker(store_url, models_dir=tmp_path, poll=0.05, heartbeat_every=0.1, stale_after=1.0, retention=30 * 86400.0, score=lambda *a, **k: [])
    handled = worker.run(once=True)
    with open_store(store_url) as store:
        counts = store.counts()
    assert handled == 0
    assert (counts.windows, counts.edges, counts.devices) == (0, 0, 0)


def test_worker_retention_interval(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    monkeypatch.setattr("graphdb.retention.purge_older_than", lambda store, age: calls.append(age) or _Result())
    worker = Worker(store_url, models_dir=tmp_path, poll=0.05, heartbeat_every=0.1, stale_after=1.0, retention=60.0, retention_every=3600.0)
    with open_store(store_url) as store:
        worker._purge_if_due(store)
        worker._purge_if_due(store)
    assert calls == [60.0]


def test_run_worker_reads_env(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ml.worker import run_worker

    monkeypatch.setenv("IOTGRAPH_RETENTION", "30d")
    started = time.time()
    run_worker(store_url, once=True, models_dir=tmp_path, handle_signals=False, poll=0.05, heartbeat_every=0.1, stale_after=1.0)
    with open_store(store_url) as store:
        windows = store.windows()
    assert windows == []
    assert time.time() - started < 60


class _Result:
    def summary(self) -> str:
        return "nothing"
