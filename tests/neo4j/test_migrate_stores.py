"""graphdb.migrate between two embedded stores: complete, idempotent, batched, with progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphdb import StoreConfigError
from graphdb.load import build_batch
from graphdb.migrate import migrate
from graphdb.model import DeviceScore, WindowSpec
from graphdb.sqlite import SqliteStore
from graphdb.store import GraphStore
from tests.contract.flows import T0, sample_flows

SPEC = WindowSpec(size=300.0, step=300.0)
CAMERA = "192.168.1.10"
INFECTED = "192.168.1.66"

pytestmark = pytest.mark.skipif(
    SqliteStore.iter_flow_ids is GraphStore.iter_flow_ids,
    reason="migration needs SqliteStore.iter_flow_ids to list the source's flow ids; SqliteStore does not implement it",
)


def scores(window: float, values: dict[str, float], version: str, at: float) -> list[DeviceScore]:
    ranked = sorted(values.items(), key=lambda item: -item[1])
    return [
        DeviceScore(device, window, value, version, rank=rank, predicted=value >= 0.5, scored_at=at, explanation={"z": value})
        for rank, (device, value) in enumerate(ranked, start=1)
    ]


@pytest.fixture
def source(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "source.db")
    store.set_window_spec(SPEC)
    store.upsert_batch(build_batch(sample_flows(), SPEC))
    store.write_scores(T0, scores(T0, {CAMERA: 0.2, INFECTED: 0.9}, "gcn-1", 10.0), "gcn-1", scored_at=10.0)
    store.write_scores(T0, scores(T0, {CAMERA: 0.3, INFECTED: 0.7}, "sage-1", 11.0), "sage-1", scored_at=11.0)
    store.write_scores(T0 + 300, scores(T0 + 300, {CAMERA: 0.1, INFECTED: 0.95}, "gcn-1", 12.0), "gcn-1", scored_at=12.0)
    store.label_device(INFECTED, "malicious", note="scans telnet", analyst="ana", at=20.0)
    store.enqueue_job(kind="rescore", window_start=T0, window_end=T0, model="gcn-1", requested_by="ana", at=21.0)
    return store


@pytest.fixture
def target(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "target.db")


def test_migrate_copies_counts(source: SqliteStore, target: SqliteStore) -> None:
    migrate(source, target, batch_size=2)
    copied, original = target.counts(), source.counts()
    assert (copied.flows, copied.devices, copied.windows, copied.edges, copied.scores) == (
        original.flows,
        original.devices,
        original.windows,
        original.edges,
        original.scores,
    )


def test_migrate_result_counts(source: SqliteStore, target: SqliteStore) -> None:
    result = migrate(source, target, batch_size=2)
    assert result["windows"] == 2
    assert result["edges"] == 6
    assert result["devices"] == 6
    assert result["scores"] == 6
    assert result["flow_ids"] == 8
    assert result["analyst_labels"] == 1
    assert result["jobs_skipped"] == 1


def test_migrate_twice_changes_nothing(source: SqliteStore, target: SqliteStore) -> None:
    migrate(source, target, batch_size=2)
    before = target.counts()
    second = migrate(source, target, batch_size=2)
    assert target.counts() == before
    assert second["windows_skipped"] == 2
    assert second.get("windows", 0) == 0
    assert second.get("flow_ids", 0) == 0
    assert second.get("analyst_labels", 0) == 0


def test_migrate_keeps_window_graph(source: SqliteStore, target: SqliteStore) -> None:
    migrate(source, target)
    for start in (T0, T0 + 300):
        assert target.export_window(start).edges.to_dict("records") == source.export_window(start).edges.to_dict("records")
        assert target.export_window(start).devices.to_dict("list") == source.export_window(start).devices.to_dict("list")


def test_migrate_keeps_windows(source: SqliteStore, target: SqliteStore) -> None:
    migrate(source, target)
    assert target.windows() == source.windows()


def test_migrate_keeps_devices(source: SqliteStore, target: SqliteStore) -> None:
    migrate(source, target, batch_size=4)
    assert target.list_devices(limit=100) == source.list_devices(limit=100)


def test_migrate_keeps_score_history(source: SqliteStore, target: SqliteStore) -> None:
    migrate(source, target)
    assert target.score_history(INFECTED) == source.score_history(INFECTED)


def test_migrate_keeps_suspicious(source: SqliteStore, target: SqliteStore) -> None:
    migrate(source, target)
    assert target.suspicious(T0) == source.suspicious(T0)


def test_migrate_flow_ids_rejected_after(source: SqliteStore, target: SqliteStore) -> None:
    migrate(source, target)
    assert target.new_flow_ids([f"f{i}" for i in range(1, 9)]) == set()


def test_migrate_other_window_spec(source: SqliteStore, target: SqliteStore) -> None:
    target.set_window_spec(WindowSpec(size=60.0, step=60.0))
    with pytest.raises(StoreConfigError, match="--window 60s"):
        migrate(source, target)


def test_migrate_reports_progress(source: SqliteStore, target: SqliteStore) -> None:
    seen: list[tuple[str, int, int | None]] = []
    migrate(source, target, batch_size=4, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert ("windows", 2, 2) in seen
    assert ("devices", 6, None) in seen
    assert ("flow_ids", 8, None) in seen


def test_cli_migrate(source: SqliteStore, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from iotgraph.cli import app

    result = CliRunner().invoke(app, ["migrate", "--from", source.url, "--to", f"sqlite:///{tmp_path / 'cli.db'}", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "2 windows" in result.output


def test_cli_migrate_same_store(source: SqliteStore) -> None:
    from typer.testing import CliRunner

    from iotgraph.cli import app

    result = CliRunner().invoke(app, ["migrate", "--from", source.url, "--to", source.url])
    assert result.exit_code == 2
    assert "same store" in result.output
