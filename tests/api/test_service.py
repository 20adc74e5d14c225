"""The service around GraphQL: /healthz, /metrics, error masking, the SDL file and request ids."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.schema import export_sdl
from api.settings import Settings
from graphdb import open_store
from graphdb.model import JobStatus
from tests.api.support import T1, GraphQLClient, live_server, make_store

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "api" / "schema.graphql"


def _sample(text: str, name: str, **labels: str) -> float:
    """Return the value of one sample of a Prometheus text exposition."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"no sample {name}{labels} in /metrics")


def test_schema_file_matches_code() -> None:
    stored = SCHEMA_FILE.read_text(encoding="utf-8")

    assert stored == export_sdl(), "api/schema.graphql is stale; regenerate it with `iotgraph schema > api/schema.graphql`"


def test_healthz_without_worker(viewer: GraphQLClient) -> None:
    response = viewer.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["store"] == "ok"
    assert body["worker_heartbeat_age_s"] is None


def test_healthz_with_worker(viewer: GraphQLClient, store_url: str) -> None:
    with open_store(store_url) as store:
        store.record_worker_heartbeat("worker-a", at=time.time() - 3.0)

    body = viewer.get("/healthz").json()

    assert body["status"] == "ok"
    assert 3.0 <= body["workers"]["worker-a"] < 30.0
    assert body["worker_heartbeat_age_s"] == body["workers"]["worker-a"]


def test_metrics_counts_operations(viewer: GraphQLClient) -> None:
    viewer.data("{ windows { start } }")
    viewer.errors('{ neighborhood(deviceId: "192.168.1.66", hops: 9) { truncated } }')

    text = viewer.get("/metrics").text

    # This module's server is fresh, and these are its first GraphQL requests.
    assert _sample(text, "iotgraph_graphql_requests_total", operation="windows", outcome="ok") == 1
    assert _sample(text, "iotgraph_graphql_requests_total", operation="neighborhood", outcome="error") == 1
    assert _sample(text, "iotgraph_graphql_request_seconds_count", operation="windows") == 1


def test_metrics_jobs_and_last_window(viewer: GraphQLClient, store_url: str) -> None:
    with open_store(store_url) as store:
        store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by="test", at=time.time())
        queued = len(store.jobs(JobStatus.QUEUED.value))

    text = viewer.get("/metrics").text

    assert _sample(text, "iotgraph_jobs", status="queued") == queued
    assert _sample(text, "iotgraph_jobs", status="done") == 0
    assert _sample(text, "iotgraph_last_scored_window_start_seconds") == T1


def test_request_id_header(viewer: GraphQLClient) -> None:
    response = viewer.post("{ windows { start } }", **{"X-Request-ID": "case-42"})

    assert response.headers["x-request-id"] == "case-42"


def test_internal_error_masked(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a SQLite database" * 100)
    settings = Settings(store=f"sqlite:///{broken}", no_auth=True)

    with caplog.at_level(logging.ERROR, logger="api.errors"), live_server(create_app(settings)) as server:
        client = GraphQLClient(server.url)
        response = client.post("{ windows { start } }", **{"X-Request-ID": "broken-1"})
        health = client.get("/healthz")
        client.close()

    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["message"] == "internal error, request id broken-1"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "not a database" not in response.text
    assert "broken-1" in caplog.text
    assert "not a database" in caplog.text
    assert health.status_code == 503


def test_no_auth_acts_as_admin(tmp_path: Path) -> None:
    settings = Settings(store=make_store(tmp_path / "store.db"), no_auth=True)

    with live_server(create_app(settings)) as server:
        client = GraphQLClient(server.url)
        job = client.data("mutation { rescore { requestedBy status } }")["rescore"]
        client.close()

    assert job == {"requestedBy": "local", "status": "QUEUED"}
