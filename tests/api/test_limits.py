"""Request limits and input validation: clear GraphQL errors naming the limit, never an HTTP 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import create_app
from api.settings import Settings
from tests.api.support import GraphQLClient, live_server, make_store


def _deep_query(levels: int) -> str:
    """Nest Score.device / Device.windowScore until the selection is ``levels`` deep."""
    inner = "id"
    for level in range(levels - 1):
        inner = f"device {{ {inner} }}" if level % 2 == 0 else f"windowScore {{ {inner} }}"
    return f"{{ suspiciousDevices {{ {inner} }} }}"


def test_depth_over_limit(viewer: GraphQLClient) -> None:
    status, errors = viewer.errors(_deep_query(10))

    assert status == 200
    assert "exceeds maximum operation depth of 8" in errors[0]["message"]


def test_depth_at_limit(viewer: GraphQLClient) -> None:
    status, errors = viewer.errors(_deep_query(8))

    assert status == 200
    assert errors == []


def test_aliases_over_limit(viewer: GraphQLClient) -> None:
    query = "{ " + " ".join(f"a{i}: windows {{ start }}" for i in range(21)) + " }"

    status, errors = viewer.errors(query)

    assert status == 200
    assert errors[0]["message"] == "21 aliases found. Allowed: 20"


def test_tokens_over_limit(viewer: GraphQLClient) -> None:
    query = "{ windows { " + " ".join(["start"] * 2100) + " } }"

    status, errors = viewer.errors(query)

    assert status == 200
    assert "more than 2000 tokens" in errors[0]["message"]


def test_hops_over_limit(viewer: GraphQLClient) -> None:
    status, errors = viewer.errors('{ neighborhood(deviceId: "192.168.1.66", hops: 4) { truncated } }')

    assert status == 200
    assert errors[0]["message"] == "hops 4 exceeds the hops limit of 3 (IOTGRAPH_MAX_HOPS)"
    assert errors[0]["extensions"]["code"] == "LIMIT_EXCEEDED"


def test_neighborhood_limit_over_max(viewer: GraphQLClient) -> None:
    status, errors = viewer.errors('{ neighborhood(deviceId: "192.168.1.66", limit: 100000) { truncated } }')

    assert status == 200
    assert errors[0]["message"].startswith("limit 100000 exceeds the neighborhood node limit of 5000")


def test_suspicious_limit_over_page_size(viewer: GraphQLClient) -> None:
    status, errors = viewer.errors("{ suspiciousDevices(limit: 100000) { score } }")

    assert status == 200
    assert errors[0]["message"].startswith("limit 100000 exceeds the page size limit of 500")


def test_devices_first_over_page_size(viewer: GraphQLClient) -> None:
    _, errors = viewer.errors("{ devices(first: 501) { hasNextPage } }")

    assert errors[0]["message"].startswith("first 501 exceeds the page size limit of 500")


def test_hops_zero(viewer: GraphQLClient) -> None:
    _, errors = viewer.errors('{ neighborhood(deviceId: "192.168.1.66", hops: 0) { truncated } }')

    assert errors[0]["message"] == "invalid hops 0: it must be at least 1"


@pytest.mark.parametrize(
    ("device_id", "expected"),
    [
        ("", "invalid deviceId: it is empty"),
        ("   ", "invalid deviceId: it is empty"),
        ("a" * 257, "257 characters, at most 256 are allowed"),
        ("192.168.1.66\n", "control character U+000A at position 12"),
        ("192.168\x00.1.66", "control character U+0000 at position 7"),
    ],
)
def test_malformed_device_id(viewer: GraphQLClient, device_id: str, expected: str) -> None:
    query = "query Q($id: ID!) { neighborhood(deviceId: $id) { truncated } }"

    status, errors = viewer.errors(query, {"id": device_id})

    assert status == 200
    assert expected in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "query",
    [
        "{ windows(since: 1700000100, until: 1699999800) { start } }",
        '{ neighborhood(deviceId: "192.168.1.66", since: 1700000100, until: 1699999800) { truncated } }',
        '{ scoreHistory(deviceId: "192.168.1.66", since: 1700000100, until: 1699999800) { score } }',
    ],
)
def test_since_after_until(viewer: GraphQLClient, query: str) -> None:
    status, errors = viewer.errors(query)

    assert status == 200
    assert errors[0]["message"] == "invalid time range: since 1.7e+09 is after until 1.7e+09; swap them or widen the range"


def test_rescore_since_after_until(analyst: GraphQLClient) -> None:
    status, errors = analyst.errors("mutation { rescore(since: 1700000100, until: 1699999800) { id } }")

    assert status == 200
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_invalid_timestamp_text(viewer: GraphQLClient) -> None:
    status, errors = viewer.errors('{ windows(since: "yesterday") { start } }')

    assert status == 200
    assert "expected epoch seconds or an ISO 8601 time" in errors[0]["message"]


def test_invalid_cursor(viewer: GraphQLClient) -> None:
    _, errors = viewer.errors('{ devices(after: "not-a-cursor") { hasNextPage } }')

    assert errors[0]["message"].startswith("invalid cursor 'not-a-cursor'")


def test_min_score_out_of_range(viewer: GraphQLClient) -> None:
    _, errors = viewer.errors("{ suspiciousDevices(minScore: 2) { score } }")

    assert errors[0]["message"] == "invalid minScore 2.0: scores lie in [0, 1]"


def test_time_limit(tmp_path: Path) -> None:
    settings = Settings(store=make_store(tmp_path / "store.db"), no_auth=True, request_timeout=1e-6)
    with live_server(create_app(settings)) as server:
        client = GraphQLClient(server.url)
        response = client.post("{ windows { start } }")
        client.close()

    assert response.status_code == 504
    error = response.json()["errors"][0]
    assert "exceeded the time limit of 1e-06s (IOTGRAPH_REQUEST_TIMEOUT)" in error["message"]
    assert error["extensions"]["code"] == "TIMEOUT"


def test_invalid_timestamp_variable(viewer: GraphQLClient) -> None:
    status, errors = viewer.errors("query Q($since: Timestamp) { windows(since: $since) { start } }", {"since": "soon"})

    assert status == 200
    assert "invalid Timestamp 'soon'" in errors[0]["message"]
