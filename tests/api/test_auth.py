"""API keys: the keys file, token checks, and HTTP 401/403 from a live server."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from api.auth import AuthenticationError, KeyStore, Role, hash_secret, split_token
from tests.api.support import GraphQLClient, LiveServer


def test_token_format(tmp_path: Path) -> None:
    key, token = KeyStore(tmp_path / "keys.json").create(role="analyst", name="alice")

    prefix, key_id, secret = token.split("_", 2)
    assert prefix == "igk"
    assert key_id == key.id
    assert len(secret) >= 43  # 32 random bytes in URL-safe base64


def test_keys_file_stores_hash_only(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key, token = KeyStore(path).create(role=Role.VIEWER)
    _, secret = split_token(token)

    text = path.read_text()
    record = json.loads(text)["keys"][0]
    assert secret not in text
    assert record["secret_sha256"] == hash_secret(secret)
    assert record["role"] == "viewer"


def test_keys_file_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    KeyStore(path).create(role=Role.ADMIN)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_verify_returns_principal(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    key, token = keys.create(role=Role.ANALYST, name="alice")

    principal = keys.verify(token)
    assert principal.key_id == key.id
    assert principal.role is Role.ANALYST
    assert principal.name == "alice"


def test_verify_wrong_secret(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    key, _ = keys.create(role=Role.ANALYST)

    with pytest.raises(AuthenticationError, match="unknown key id or wrong secret"):
        keys.verify(f"igk_{key.id}_not-the-secret")


def test_verify_malformed_token(tmp_path: Path) -> None:
    with pytest.raises(AuthenticationError, match="expected the format igk_<key id>_<secret>"):
        KeyStore(tmp_path / "keys.json").verify("Bearer-abc")


def test_revoked_key_rejected_by_other_reader(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    server_side = KeyStore(path)
    key, token = KeyStore(path).create(role=Role.VIEWER)
    assert server_side.verify(token).key_id == key.id

    KeyStore(path).revoke(key.id)

    with pytest.raises(AuthenticationError, match="revoked"):
        server_side.verify(token)


def test_revoke_unknown_id(tmp_path: Path) -> None:
    with pytest.raises(KeyError):
        KeyStore(tmp_path / "keys.json").revoke("abcdef")


def test_role_order() -> None:
    assert Role.ADMIN.allows(Role.ANALYST)
    assert Role.ANALYST.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.ANALYST)


# -- over HTTP -------------------------------------------------------------------


def test_missing_key_is_401(anonymous: GraphQLClient) -> None:
    response = anonymous.post("{ windows { start } }")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["errors"][0]
    assert "Authorization: Bearer" in error["message"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


def test_invalid_key_is_401(server: LiveServer) -> None:
    client = GraphQLClient(server.url, "igk_000000000000_wrong")

    response = client.post("{ windows { start } }")

    assert response.status_code == 401
    assert "unknown key id or wrong secret" in response.json()["errors"][0]["message"]


def test_introspection_needs_key(anonymous: GraphQLClient) -> None:
    assert anonymous.post("{ __schema { queryType { name } } }").status_code == 401


def test_x_api_key_header(anonymous: GraphQLClient, tokens: dict[str, str]) -> None:
    response = anonymous.post("{ windows { start } }", **{"X-API-Key": tokens["viewer"]})

    assert response.status_code == 200
    assert len(response.json()["data"]["windows"]) == 2


def test_viewer_rescore_is_403(viewer: GraphQLClient) -> None:
    response = viewer.post("mutation { rescore { id } }")

    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert "rescore requires the analyst role" in error["message"]
    assert "has the viewer role" in error["message"]
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_viewer_label_is_403(viewer: GraphQLClient) -> None:
    response = viewer.post('mutation { labelDevice(id: "192.168.1.66", label: BENIGN) { id } }')

    assert response.status_code == 403
    assert "labelDevice requires the analyst role" in response.json()["errors"][0]["message"]


def test_viewer_cancel_is_403(viewer: GraphQLClient) -> None:
    assert viewer.post('mutation { cancelJob(id: "abc") { id } }').status_code == 403


def test_graphiql_page_without_key(anonymous: GraphQLClient) -> None:
    response = anonymous._client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
