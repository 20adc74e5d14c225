"""The serve, schema and apikey commands."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from api.auth import KeyStore
from api.schema import export_sdl
from iotgraph.cli import app

runner = CliRunner()


def test_no_auth_rejects_public_host(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--no-auth", "--store", f"sqlite:///{tmp_path / 's.db'}"])

    assert result.exit_code == 2
    assert "--no-auth is allowed only with --host 127.0.0.1 or localhost" in result.output


def test_schema_prints_sdl() -> None:
    result = runner.invoke(app, ["schema"])

    assert result.exit_code == 0
    assert result.stdout == export_sdl()


def test_apikey_create_prints_token(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"

    result = runner.invoke(app, ["apikey", "create", "--role", "analyst", "--name", "alice", "--keys", str(keys)])

    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("igk_")
    assert KeyStore(keys).verify(token).name == "alice"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600


def test_apikey_default_path_beside_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "viewer", "--store", f"sqlite:///{tmp_path / 'case.db'}"])

    assert result.exit_code == 0
    assert (tmp_path / "iotgraph-keys.json").is_file()


def test_apikey_list_and_revoke(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    key, token = KeyStore(keys).create(role="viewer", name="bob")

    listed = runner.invoke(app, ["apikey", "list", "--keys", str(keys)])
    revoked = runner.invoke(app, ["apikey", "revoke", key.id, "--keys", str(keys)])

    assert listed.exit_code == 0
    assert key.id in listed.stdout
    assert token not in listed.stdout
    assert revoked.exit_code == 0
    assert json.loads(keys.read_text())["keys"][0]["revoked"] is not None


def test_apikey_revoke_unknown(tmp_path: Path) -> None:
    result = runner.invoke(app, ["apikey", "revoke", "nope", "--keys", str(tmp_path / "keys.json")])

    assert result.exit_code == 2
    assert "API key 'nope' not found" in result.output


def test_apikey_invalid_role(tmp_path: Path) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "root", "--keys", str(tmp_path / "keys.json")])

    assert result.exit_code == 2
