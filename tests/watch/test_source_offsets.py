"""Read positions of followed logs, written with the batch they cover: SQLite, and what the Neo4j store sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from graphdb import GraphStore, open_store
from graphdb.errors import DuplicateFlowError
from graphdb.load import build_batch
from graphdb.model import SourceOffset, WindowSpec
from graphdb.neo4j_config import Neo4jConfig
from graphdb.neo4j_store import Neo4jStore
from tests.contract.flows import sample_flows
from tests.neo4j.stub_driver import StubDriver

SPEC = WindowSpec(size=300.0, step=300.0)
HEADER = {"separator": "\t", "unset": "-", "empty": "(empty)", "fields": ["ts", "uid"], "three_space_columns": False}


def offset(position: int, *, path: str = "/logs/conn.log") -> SourceOffset:
    return SourceOffset(
        path=path, device=64768, inode=1234, offset=position, line=9, format="zeek", header=HEADER, max_ts=1_700_000_000.5, updated_at=5.0
    )


@pytest.fixture
def store(sqlite_url: str) -> Iterator[GraphStore]:
    opened = open_store(sqlite_url)
    opened.set_window_spec(SPEC)
    yield opened
    opened.close()


def test_sqlite_none_stored(store: GraphStore) -> None:
    assert store.source_offsets() == {}


def test_sqlite_round_trip(store: GraphStore) -> None:
    batch = build_batch(sample_flows(), SPEC)
    batch.source_offsets = [offset(512)]
    store.upsert_batch(batch)

    assert store.source_offsets() == {"/logs/conn.log": offset(512)}


def test_sqlite_later_batch_replaces(store: GraphStore) -> None:
    flows = sample_flows()
    first, second = build_batch(flows.iloc[:2], SPEC), build_batch(flows.iloc[2:], SPEC)
    first.source_offsets = [offset(100)]
    second.source_offsets = [offset(900)]
    store.upsert_batch(first)
    store.upsert_batch(second)

    assert store.source_offsets()["/logs/conn.log"].offset == 900


def test_sqlite_rejected_batch_keeps_offset(store: GraphStore) -> None:
    batch = build_batch(sample_flows(), SPEC)
    batch.source_offsets = [offset(100)]
    store.upsert_batch(batch)
    again = build_batch(sample_flows(), SPEC)
    again.source_offsets = [offset(900)]

    with pytest.raises(DuplicateFlowError):
        store.upsert_batch(again)
    assert store.source_offsets()["/logs/conn.log"].offset == 100


def test_sqlite_offsets_survive_reopen(sqlite_url: str) -> None:
    with open_store(sqlite_url) as first:
        first.set_window_spec(SPEC)
        batch = build_batch(sample_flows(), SPEC)
        batch.source_offsets = [offset(512)]
        first.upsert_batch(batch)

    with open_store(sqlite_url) as reopened:
        assert reopened.source_offsets()["/logs/conn.log"].header == HEADER


def echo_edges(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Return edges_upsert records as Neo4j does for new edges: one per row, with no histograms stored before."""
    histograms = ("protocols_json", "dst_ports_json", "conn_states_json", "services_json", "attacks_json")
    return [{"src": row["src"], "dst": row["dst"], "window_start": row["window_start"], **dict.fromkeys(histograms)} for row in params["rows"]]


@pytest.fixture
def driver() -> StubDriver:
    return StubDriver()


@pytest.fixture
def neo4j_store(driver: StubDriver) -> Neo4jStore:
    config = Neo4jConfig(uri="neo4j://127.0.0.1:7687", user="neo4j", password="test-password", database="iot", batch_size=100)
    opened = Neo4jStore(config, driver=driver)
    driver.reset()
    return opened


def test_neo4j_offsets_in_batch_transaction(neo4j_store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges
    batch = build_batch(sample_flows(), SPEC)
    batch.source_offsets = [offset(512)]
    neo4j_store.upsert_batch(batch)
    calls = driver.named("source_offsets_upsert")

    assert len(calls) == 1
    assert calls[0].transaction == driver.named("flow_ids_create")[0].transaction
    assert calls[0].params["rows"][0]["key"] == "source_offset:/logs/conn.log"


def test_neo4j_reads_offsets(neo4j_store: Neo4jStore, driver: StubDriver) -> None:
    stored = json.dumps({"path": "/logs/conn.log", "device": 64768, "inode": 1234, "offset": 512, "line": 9, "format": "zeek",
                         "header": HEADER, "max_ts": 1_700_000_000.5, "updated_at": 5.0})  # fmt: skip
    driver.responses["source_offsets_get"] = lambda params: [{"key": "source_offset:/logs/conn.log", "value": stored}]

    assert neo4j_store.source_offsets() == {"/logs/conn.log": offset(512)}
    assert driver.named("source_offsets_get")[0].params == {"prefix": "source_offset:"}


def test_neo4j_batch_without_offsets_sends_none(neo4j_store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges
    neo4j_store.upsert_batch(build_batch(sample_flows(), SPEC))

    assert driver.named("source_offsets_upsert") == []
