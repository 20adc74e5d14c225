"""Security settings of the API: introspection, CORS, body size, document limits, rate limit, error masking."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tests.api.support import CAMERA, INFECTED
from tests.robustness.api_support import running_api

from graphdb.sqlite import SqliteStore

INTROSPECTION = "{ __schema { types { name } } }"


def codes(response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors") or []]


# -- introspection -------------------------------------------------------------------


def test_introspection_on_by_default(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        response = api.post(INTROSPECTION)
    assert response.json()["data"]["__schema"]["types"]


def test_introspection_off_schema(tmp_path: Path) -> None:
    with running_api(tmp_path, introspection=False) as api:
        response = api.post(INTROSPECTION)
    assert response.json()["data"] is None
    assert set(codes(response)) == {"GRAPHQL_VALIDATION_FAILED"}


def test_introspection_off_type(tmp_path: Path) -> None:
    with running_api(tmp_path, introspection=False) as api:
        response = api.post('{ __type(name: "Device") { fields { name } } }')
    assert "introspection has been disabled" in response.json()["errors"][0]["message"]


def test_introspection_off_in_fragment(tmp_path: Path) -> None:
    with running_api(tmp_path, introspection=False) as api:
        response = api.post("fragment F on Query { __schema { queryType { name } } } query { ...F }")
    assert set(codes(response)) == {"GRAPHQL_VALIDATION_FAILED"}


def test_introspection_off_typename_works(tmp_path: Path) -> None:
    with running_api(tmp_path, introspection=False) as api:
        response = api.post("{ __typename }")
    assert response.json() == {"data": {"__typename": "Query"}}


def test_introspection_off_no_graphiql(tmp_path: Path) -> None:
    with running_api(tmp_path, introspection=False) as api:
        response = api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404


def test_introspection_env_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import Settings

    monkeypatch.setenv("IOTGRAPH_INTROSPECTION", "false")
    assert Settings().introspection is False


# -- CORS ----------------------------------------------------------------------------


def test_cors_closed_by_default(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        simple = api.post("{ __typename }", Origin="https://evil.example")
        preflight = api.client.options(
            "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allowed_origin(tmp_path: Path) -> None:
    with running_api(tmp_path, cors_origins="https://soc.example, https://other.example") as api:
        preflight = api.client.options(
            "/graphql",
            headers={"Origin": "https://soc.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"},
        )
        simple = api.post("{ __typename }", Origin="https://soc.example")
    assert preflight.headers["access-control-allow-origin"] == "https://soc.example"
    assert simple.headers["access-control-allow-origin"] == "https://soc.example"


def test_cors_other_origin_refused(tmp_path: Path) -> None:
    with running_api(tmp_path, cors_origins="https://soc.example") as api:
        simple = api.post("{ __typename }", Origin="https://evil.example")
    assert "access-control-allow-origin" not in simple.headers


# -- body size -----------------------------------------------------------------------


def test_body_too_large_declared(tmp_path: Path) -> None:
    with running_api(tmp_path, max_body_bytes=4096) as api:
        response = api.post("{ __typename }", variables={"padding": "x" * 5000})
    assert response.status_code == 413
    assert codes(response) == ["PAYLOAD_TOO_LARGE"]
    assert "exceeds the limit of 4096 bytes (IOTGRAPH_MAX_BODY_BYTES)" in response.json()["errors"][0]["message"]


def test_body_too_large_streamed(tmp_path: Path) -> None:
    def chunks():
        yield b'{"query": "{ __typename }", "variables": {"padding": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}}'

    with running_api(tmp_path, max_body_bytes=4096) as api:
        # A generator body goes out chunked, without a Content-Length to check up front.
        response = api.client.post(
            "/graphql", content=chunks(), headers={"Authorization": f"Bearer {api.tokens['viewer']}", "Content-Type": "application/json"}
        )
    assert response.status_code == 413


def test_body_under_limit_served(tmp_path: Path) -> None:
    with running_api(tmp_path, max_body_bytes=4096) as api:
        response = api.post("{ __typename }", variables={"padding": "x" * 3000})
    assert response.status_code == 200


# -- document limits through fragments ---------------------------------------------------

DEEP = f'{{ neighborhood(deviceId: "{INFECTED}") {{ nodes {{ windowScore {{ deviceId }} }} }} }}'
DEEP_FRAGMENTS = (
    "fragment S on Score { deviceId } fragment D on Device { windowScore { ...S } } "
    f'fragment N on Neighborhood {{ nodes {{ ...D }} }} query {{ neighborhood(deviceId: "{INFECTED}") {{ ...N }} }}'
)
DEEP_INLINE = (
    f'{{ neighborhood(deviceId: "{INFECTED}") {{ ... on Neighborhood {{ nodes {{ ... on Device {{ windowScore {{ ... on Score {{ deviceId }} }} }} }} }} }} }}'
)


@pytest.mark.parametrize("document", [DEEP, DEEP_FRAGMENTS, DEEP_INLINE], ids=["plain", "fragments", "inline"])
def test_depth_limit_through_fragments(tmp_path: Path, document: str) -> None:
    with running_api(tmp_path, max_depth=2) as api:
        response = api.post(document)
    assert response.json()["data"] is None
    assert "exceeds maximum operation depth of 2" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "document",
    [
        "fragment F on Query { a: windows { start } b: windows { start } c: windows { start } } query { ...F }",
        "fragment F on Query { a: windows { start } } query { ...F b: windows { start } c: windows { start } }",
        "fragment F on Query { a: windows { start } b: windows { start } } fragment G on Query { c: windows { start } } query { ...F ...G }",
    ],
    ids=["in fragment", "split", "two fragments"],
)
def test_alias_limit_through_fragments(tmp_path: Path, document: str) -> None:
    with running_api(tmp_path, max_aliases=2) as api:
        response = api.post(document)
    assert response.json()["errors"][0]["message"] == "3 aliases found. Allowed: 2"


def test_token_limit_through_fragments(tmp_path: Path) -> None:
    fields = " ".join(f"f{i}: windows {{ start }}" for i in range(30))
    with running_api(tmp_path, max_tokens=100, max_aliases=100) as api:
        response = api.post(f"fragment F on Query {{ {fields} }} query {{ ...F }}")
    assert "tokens" in response.json()["errors"][0]["message"].lower()


def test_cyclic_fragments_rejected(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        response = api.post("fragment F on Query { ...G } fragment G on Query { ...F } query { ...F }")
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]


def test_batched_request_rejected(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        response = api.client.post("/graphql", json=[{"query": "{ __typename }"}] * 50, headers={"Authorization": f"Bearer {api.tokens['viewer']}"})
    assert response.status_code == 400


# -- rate limit ----------------------------------------------------------------------


def test_rate_limit_per_key(tmp_path: Path) -> None:
    with running_api(tmp_path, rate_limit=60, rate_burst=3) as api:
        served = [api.post("{ __typename }").status_code for _ in range(3)]
        limited = api.post("{ __typename }")
        other_key = api.post("{ __typename }", role="analyst")
    assert served == [200, 200, 200]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert codes(limited) == ["RATE_LIMITED"]
    assert other_key.status_code == 200


def test_rate_limit_unauthenticated_by_client(tmp_path: Path) -> None:
    with running_api(tmp_path, rate_limit=60, rate_burst=2) as api:
        statuses = [api.post("{ __typename }", role=None).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_rate_limit_off(tmp_path: Path) -> None:
    with running_api(tmp_path, rate_limit=0, rate_burst=1) as api:
        statuses = {api.post("{ __typename }").status_code for _ in range(5)}
    assert statuses == {200}


def test_rate_limiter_refills() -> None:
    from api.http_limits import RateLimited, RateLimiter

    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=1, clock=lambda: now[0])
    limiter.take("k")
    with pytest.raises(RateLimited) as raised:
        limiter.take("k")
    now[0] = 1.0
    limiter.take("k")
    assert raised.value.retry_after == 1


# -- errors never leak internals ---------------------------------------------------------

SQL_TEXT = 'near "SELEC": syntax error in SELECT secret_column FROM windows WHERE start >= ?'
CYPHER_TEXT = "Invalid input 'MATC': expected MATCH (d:Device {id: $id})-[:COMMUNICATED]->(p)"


class BrokenStore(SqliteStore):
    """A store whose reads fail the way a broken database driver would."""

    def windows(self, since=None, until=None):
        raise sqlite3.OperationalError(SQL_TEXT)

    def neighborhood(self, device_id, **options):
        raise RuntimeError(CYPHER_TEXT)

    def worker_heartbeats(self):
        raise sqlite3.OperationalError(SQL_TEXT)

    def jobs(self, status=None, *, limit=100):
        raise sqlite3.DatabaseError(SQL_TEXT)


LEAKS = ("SELECT", "secret_column", "MATCH", "COMMUNICATED", "Traceback", 'File "', "sqlite3", "OperationalError", ".py")


@pytest.mark.parametrize(
    "document",
    ["{ windows { start } }", f'{{ neighborhood(deviceId: "{CAMERA}") {{ center }} }}', "{ jobs { id } }"],
    ids=["sql", "cypher", "database"],
)
def test_store_error_masked(tmp_path: Path, document: str) -> None:
    store_path = tmp_path / "broken.db"
    with running_api(tmp_path / "api", store_factory=lambda: BrokenStore(store_path)) as api:
        response = api.post(document)
    body = response.text
    assert "internal error, request id" in body
    assert codes(response) == ["INTERNAL_SERVER_ERROR"]
    assert [leak for leak in LEAKS if leak in body] == []


def test_metrics_error_masked(tmp_path: Path) -> None:
    store_path = tmp_path / "broken.db"
    with running_api(tmp_path / "api", store_factory=lambda: BrokenStore(store_path)) as api:
        response = api.client.get("/metrics")
    assert response.status_code == 500
    assert [leak for leak in LEAKS if leak in response.text] == []


def test_healthz_error_masked(tmp_path: Path) -> None:
    store_path = tmp_path / "broken.db"
    with running_api(tmp_path / "api", store_factory=lambda: BrokenStore(store_path)) as api:
        response = api.client.get("/healthz")
    assert [leak for leak in LEAKS if leak in response.text] == []
