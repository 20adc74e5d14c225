"""What Neo4jStore sends to Neo4j: statements, parameters, transactions and database.

The driver here is a recording stub (tests/neo4j/stub_driver.py); the
statements' meaning is checked by tools/cypher-check and, with a running
Neo4j, by tests/contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import cypher
from graphdb.errors import DuplicateFlowError, InvalidRequestError, NotFoundError, SchemaVersionError
from graphdb.load import build_batch
from graphdb.model import EDGE_COLUMNS, DeviceScore, EdgeScore, SourceOffset, WindowSpec
from graphdb.neo4j_config import Neo4jConfig
from graphdb.neo4j_store import Neo4jStore, clear_database
from tests.contract.flows import T0, sample_flows
from tests.neo4j.stub_driver import StubDriver

SPEC = WindowSpec(size=300.0, step=300.0)
CONFIG = Neo4jConfig(uri="neo4j://127.0.0.1:7687", user="neo4j", password="test-password", database="iot", batch_size=3)


def echo_edges(stored: dict[str, str | None] | None = None):
    """Return edges_upsert records as Neo4j would: one per row, with the histograms stored before."""

    def respond(params: dict[str, Any]) -> list[dict[str, Any]]:
        names = ("protocols_json", "dst_ports_json", "conn_states_json", "services_json", "attacks_json")
        return [
            {"src": row["src"], "dst": row["dst"], "window_start": row["window_start"], **{n: (stored or {}).get(n) for n in names}}
            for row in params["rows"]
        ]

    return respond


def in_turn(*answers: list[dict[str, Any]]):
    """Return successive record lists on successive calls, then no records."""
    remaining: Iterator[list[dict[str, Any]]] = iter(answers)
    return lambda params: next(remaining, [])


def job_props(job_id: str, status: str) -> dict[str, Any]:
    return {"id": job_id, "kind": "rescore", "status": status, "requested_at": 5.0}


@pytest.fixture
def driver() -> StubDriver:
    return StubDriver()


@pytest.fixture
def store(driver: StubDriver) -> Neo4jStore:
    opened = Neo4jStore(CONFIG, driver=driver)
    driver.reset()
    return opened


def test_open_creates_schema(driver: StubDriver) -> None:
    Neo4jStore(CONFIG, driver=driver)
    schema_calls = driver.named("schema")
    assert len(schema_calls) == len(cypher.split_statements(cypher.load("schema")))
    assert driver.named("meta_put_if_absent")[0].params == {"rows": [{"key": "schema_version", "value": 1}]}


def test_open_newer_schema_rejected(driver: StubDriver) -> None:
    driver.responses["meta_put_if_absent"] = lambda params: [{"key": "schema_version", "value": 2}]
    with pytest.raises(SchemaVersionError, match="schema version 2"):
        Neo4jStore(CONFIG, driver=driver)


def test_upsert_batch_one_transaction(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges()
    summary = store.upsert_batch(build_batch(sample_flows(), SPEC))

    assert driver.transactions == ["write"]
    assert {call.transaction for call in driver.calls} == {1}
    assert summary.flows == 8
    assert summary.windows == 2


def test_upsert_batch_statement_order(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges()
    store.upsert_batch(build_batch(sample_flows(), SPEC))
    order = list(dict.fromkeys(call.name for call in driver.calls))
    assert order == [
        "flow_ids_known",
        "flow_ids_create",
        "devices_upsert",
        "edges_upsert",
        "edges_set_histograms",
        "windows_upsert",
        "windows_refresh_sizes",
    ]


def test_upsert_batch_chunks_rows(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges()
    store.upsert_batch(build_batch(sample_flows(), SPEC))
    # 8 flow ids in batches of 3; 6 edges in batches of 3.
    assert [len(call.params["rows"]) for call in driver.named("flow_ids_create")] == [3, 3, 2]
    assert [len(call.params["rows"]) for call in driver.named("edges_upsert")] == [3, 3]


def test_upsert_batch_window_rows(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges()
    store.upsert_batch(build_batch(sample_flows(), SPEC))
    rows = driver.named("windows_upsert")[0].params["rows"]
    assert rows == [
        {"start": T0, "end": T0 + 300, "flows": 5},
        {"start": T0 + 300, "end": T0 + 600, "flows": 3},
    ]


def test_upsert_batch_flow_windows(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges()
    store.upsert_batch(build_batch(sample_flows(), SPEC))
    rows = [row for call in driver.named("flow_ids_create") for row in call.params["rows"]]
    assert rows[0] == {"id": "f1", "window_start": T0}
    assert rows[7] == {"id": "f8", "window_start": T0 + 300}


def test_upsert_histograms_merge_stored(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges({"protocols_json": '{"tcp":3}', "dst_ports_json": '{"443":1,"80":2}'})
    store.upsert_batch(build_batch(sample_flows(), SPEC))
    rows = [row for call in driver.named("edges_set_histograms") for row in call.params["rows"]]
    camera_cloud = next(r for r in rows if r["src"] == "192.168.1.10" and r["dst"] == "52.1.1.1" and r["window_start"] == T0)
    # Stored tcp 3 + this batch's 2 flows; port 443 stored once + 2 now, port 80 stored twice.
    assert camera_cloud["protocols_json"] == '{"tcp":5}'
    assert camera_cloud["dst_ports_json"] == '{"443":3,"80":2}'
    assert camera_cloud["protocols"] == ["tcp"]
    assert camera_cloud["dst_ports"] == [443, 80]


def test_upsert_histograms_new_edge(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["edges_upsert"] = echo_edges()
    store.upsert_batch(build_batch(sample_flows(), SPEC))
    rows = [row for call in driver.named("edges_set_histograms") for row in call.params["rows"]]
    scan = next(r for r in rows if r["src"] == "192.168.1.66" and r["dst"] == "192.168.1.10")
    assert scan["conn_states_json"] == '{"S0":1}'
    assert scan["attacks_json"] == '{"PartOfAHorizontalPortScan":1}'


def test_upsert_known_flow_rejected(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["flow_ids_known"] = lambda params: [{"id": "f1"}] if "f1" in params["ids"] else []
    with pytest.raises(DuplicateFlowError) as raised:
        store.upsert_batch(build_batch(sample_flows(), SPEC))
    assert raised.value.count == 1
    assert driver.named("flow_ids_create") == []


def test_upsert_repeated_flow_rejected(store: Neo4jStore, driver: StubDriver) -> None:
    batch = build_batch(sample_flows(), SPEC)
    batch.flow_ids[1] = batch.flow_ids[0]
    with pytest.raises(DuplicateFlowError) as raised:
        store.upsert_batch(batch)
    assert raised.value.count == 1


def test_upsert_edge_without_device(store: Neo4jStore, driver: StubDriver) -> None:
    with pytest.raises(InvalidRequestError, match="missing from the batch's devices"):
        store.upsert_batch(build_batch(sample_flows(), SPEC))


def test_write_scores_one_transaction(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["window_exists"] = lambda params: [{"found": 1}]
    driver.responses["scores_write"] = lambda params: [{"scored": len(params["rows"])}]
    scores = [DeviceScore(device_id=f"10.0.0.{i}", window_start=T0, score=i / 10, model_version="gcn-1", rank=i) for i in range(5)]
    store.write_scores(T0, scores, "gcn-1", edge_scores=[EdgeScore("10.0.0.1", "10.0.0.2", 0.7)], scored_at=9.0)

    assert driver.transactions == ["write"]
    assert [call.name for call in driver.calls] == [
        "window_exists",
        "scores_write",
        "scores_write",
        "edge_scores_write",
        "window_mark_scored",
    ]


def test_write_scores_rows(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["window_exists"] = lambda params: [{"found": 1}]
    score = DeviceScore("10.0.0.9", T0, 0.91, "gcn-1", rank=1, predicted=True, explanation={"top": ["flows_out"]})
    store.write_scores(T0, [score], "gcn-1", scored_at=9.0)
    call = driver.named("scores_write")[0]
    assert call.params["rows"] == [
        {"device_id": "10.0.0.9", "score": 0.91, "rank": 1, "predicted": True, "explanation": '{"top": ["flows_out"]}'}
    ]
    assert call.params["high_risk"] == 0.8
    assert call.params["medium_risk"] == 0.5


def test_write_scores_unknown_window(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["window_exists"] = lambda params: [{"found": 0}]
    with pytest.raises(NotFoundError, match="scores were not written"):
        store.write_scores(T0, [], "gcn-1", scored_at=9.0)
    assert driver.named("scores_write") == []


def test_claim_job_after_lost_race(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["job_claim"] = in_turn(
        [{"job": job_props("a", "running"), "claimable": False}],
        [{"job": job_props("b", "running"), "claimable": True}],
    )
    job = store.claim_job("worker-1", at=6.0)
    assert job is not None
    assert job.id == "b"
    assert driver.transactions == ["write", "write"]


def test_claim_job_fresh_token(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["job_claim"] = in_turn(
        [{"job": job_props("a", "running"), "claimable": False}],
        [{"job": job_props("b", "running"), "claimable": True}],
    )
    store.claim_job("worker-1", at=6.0)
    first, second = (call.params["claim_id"] for call in driver.named("job_claim"))
    assert first != second


def test_claim_job_empty_queue(store: Neo4jStore, driver: StubDriver) -> None:
    assert store.claim_job("worker-1", at=6.0) is None


def test_neighborhood_breadth_first(store: Neo4jStore, driver: StubDriver) -> None:
    adjacency = {"a": ["b", "c"], "b": ["a", "d"], "c": ["a", "e", "f"], "d": ["b"], "e": ["c"], "f": ["c"]}
    driver.responses["devices_by_id"] = lambda params: [{"device": {"id": i}} for i in params["ids"] if i in adjacency]
    driver.responses["neighborhood_peers"] = lambda params: [{"id": p} for i in params["ids"] for p in adjacency[i]]
    subgraph = store.neighborhood("a", hops=2, limit=5)
    assert [node.id for node in subgraph.nodes] == ["a", "b", "c", "d", "e"]
    assert subgraph.truncated is True


def test_neighborhood_time_range_sent(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["devices_by_id"] = lambda params: [{"device": {"id": i}} for i in params["ids"]]
    store.neighborhood("a", hops=1, since=T0, until=T0 + 300)
    peers = driver.named("neighborhood_peers")[0]
    assert (peers.params["since"], peers.params["until"]) == (T0, T0 + 300)


def test_neighborhood_bad_hops(store: Neo4jStore) -> None:
    with pytest.raises(InvalidRequestError, match="hops 0"):
        store.neighborhood("a", hops=0)


def test_export_window_frames(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["window_get"] = lambda params: [{"window": {"start": T0, "end": T0 + 300, "flows": 2, "status": "open"}}]
    edge = {
        "src": "10.0.0.2", "dst": "8.8.8.8", "src_internal": True, "dst_internal": False,
        "window_start": T0, "window_end": T0 + 300, "flows": 2, "bytes_out": 10, "bytes_in": 20,
        "pkts_out": 1, "pkts_in": 1, "duration_sum": 0.5, "failed_flows": 0, "malicious_flows": 0,
        "benign_flows": 2, "first_ts": T0 + 1, "last_ts": T0 + 2, "protocols_json": '{"udp":2}',
        "dst_ports_json": '{"53":2}', "conn_states_json": "{}", "services_json": '{"dns":2}', "attacks_json": "{}",
    }  # fmt: skip
    driver.responses["window_edges"] = lambda params: [edge]
    graph = store.export_window(T0)
    assert list(graph.edges.columns) == list(EDGE_COLUMNS)
    assert graph.edges.loc[0, "protocols"] == {"udp": 2}
    assert graph.devices.to_dict("list") == {"id": ["10.0.0.2", "8.8.8.8"], "internal": [True, False]}


def test_export_window_missing(store: Neo4jStore) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        store.export_window(T0)


def test_purge_deletes_in_batches(store: Neo4jStore, driver: StubDriver) -> None:
    driver.responses["purge_edges"] = in_turn([{"deleted": 3}], [{"deleted": 1}])
    deleted = store.purge(T0)
    assert deleted["edges"] == 4
    assert len(driver.named("purge_edges")) == 2


def test_clear_database_auto_commit(store: Neo4jStore, driver: StubDriver) -> None:
    clear_database(store)
    assert driver.transactions == ["auto"]
    assert driver.named("clear_database")[0].database == "iot"


def exercise(store: Neo4jStore, driver: StubDriver) -> None:
    """Call every store method once, with scripted records that let each reach its statements."""
    driver.responses.update(
        {
            "edges_upsert": echo_edges(),
            "meta_put_if_absent": lambda params: [{"key": r["key"], "value": r["value"]} for r in params["rows"]],
            "window_exists": lambda params: [{"found": 1}],
            "window_get": lambda params: [{"window": {"start": T0, "end": T0 + 300}}],
            "devices_by_id": lambda params: [{"device": {"id": i}} for i in params["ids"]],
            "window_latest_scored": lambda params: [{"start": T0}],
            "job_create": lambda params: [{"job": job_props(params["id"], "queued")}],
        }
    )

    store.set_window_spec(SPEC)
    store.window_spec()
    store.new_flow_ids(["f1", "f2"])
    list(store.iter_flow_ids(batch_size=2))
    batch = build_batch(sample_flows(), SPEC)
    batch.source_offsets = [SourceOffset(path="conn.log", device=1, inode=2, offset=100, line=3, format="zeek")]
    store.upsert_batch(batch)
    store.source_offsets()
    store.windows(since=T0, until=T0 + 300)
    store.window(T0)
    store.export_window(T0)

    store.device("192.168.1.10")
    store.list_devices(min_score=0.5, internal=True, label="benign", after="a", limit=10)
    with pytest.raises(NotFoundError):
        store.label_device("192.168.1.10", "malicious", note="scan", analyst="ana", at=7.0)

    store.write_scores(T0, [DeviceScore("192.168.1.66", T0, 0.9, "gcn-1")], "gcn-1", edge_scores=[EdgeScore("a", "b", 0.5)], scored_at=8.0)
    store.suspicious()
    store.score_history("192.168.1.66", since=T0, until=T0)
    store.scores_for(["192.168.1.66"])
    store.scores_for(["192.168.1.66"], T0)
    store.explanation("192.168.1.66", T0)
    store.neighborhood("192.168.1.66", hops=2, since=T0, until=T0 + 300)

    store.enqueue_job(kind="rescore", window_start=T0, window_end=T0, model="gcn", requested_by="ana", at=5.0)
    store.claim_job("w1", at=6.0)
    store.heartbeat_job("j1", "w1", at=6.5)
    for status in ("done", "queued"):
        with pytest.raises(NotFoundError):
            store.finish_job("j1", status, error=None, at=7.0)
    with pytest.raises(NotFoundError):
        store.cancel_job("j1", at=7.0)
    store.requeue_stale_jobs(older_than=1.0)
    store.job("j1")
    store.jobs("queued", limit=5)
    store.record_worker_heartbeat("w1", at=6.0)
    store.worker_heartbeats()

    store.set_pseudonym_key_id("0123456789abcdef")
    store.add_pseudonyms([("dev-0123456789abcdef", "192.168.1.66", T0)])
    store.resolve_pseudonym("dev-0123456789abcdef")

    store.purge(T0)
    store.counts()
    store.ping()
    clear_database(store)


def test_params_match_headers(store: Neo4jStore, driver: StubDriver) -> None:
    exercise(store, driver)
    mismatched = {
        call.name: sorted(call.params)
        for call in driver.calls
        if call.name != "schema" and sorted(call.params) != sorted(cypher.declared_params(call.name))
    }
    assert mismatched == {}


def test_every_statement_exercised(store: Neo4jStore, driver: StubDriver) -> None:
    exercise(store, driver)
    unused = set(cypher.names()) - {"schema"} - {call.name for call in driver.calls}
    assert unused == set()


def test_every_session_names_database(store: Neo4jStore, driver: StubDriver) -> None:
    exercise(store, driver)
    assert set(driver.sessions) == {"iot"}


def test_params_are_plain_python(store: Neo4jStore, driver: StubDriver) -> None:
    """The driver packs only Python builtins; numpy scalars from pandas frames must not leak through."""
    driver.responses["edges_upsert"] = echo_edges()
    store.upsert_batch(build_batch(sample_flows(), SPEC))
    allowed = (str, int, float, bool, type(None))

    def leaks(value: Any) -> bool:
        if isinstance(value, dict):
            return any(leaks(v) for v in value.values())
        if isinstance(value, list):
            return any(leaks(v) for v in value)
        return not isinstance(value, allowed)

    assert [call.name for call in driver.calls if leaks(call.params)] == []


def test_explanation_parsed(store: Neo4jStore, driver: StubDriver) -> None:
    props = {"window_start": T0, "score": 0.9, "model_version": "gcn-1", "explanation": json.dumps({"top": ["flows_out"]})}
    driver.responses["explanation_get"] = lambda params: [{"device_id": "d1", "score": props}]
    explanation = store.explanation("d1")
    assert explanation is not None
    assert explanation.reasons == {"top": ["flows_out"]}
