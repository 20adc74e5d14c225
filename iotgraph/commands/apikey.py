"""``iotgraph apikey create|list|revoke``: manage the API keys file."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.table import Table

from api.auth import KeysFileError, KeyStore, Role
from api.settings import default_keys_path
from graphdb import default_store_url
from iotgraph.commands.common import STORE_HELP, console, fail

KEYS_HELP = "API keys file (default IOTGRAPH_API_KEYS, else iotgraph-keys.json beside a SQLite store)."

apikey_app = typer.Typer(help="Create, list and revoke API keys for the GraphQL API.", no_args_is_help=True)


def _key_store(keys: Path | None, store: str | None) -> KeyStore:
    path = keys or (Path(os.environ["IOTGRAPH_API_KEYS"]) if os.environ.get("IOTGRAPH_API_KEYS") else None)
    return KeyStore(path or default_keys_path(store or default_store_url()))


def _time(epoch: float | None) -> str:
    return "-" if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@apikey_app.command("create")
def create(
    role: Role = typer.Option(..., "--role", help="viewer (queries), analyst (+ rescore, labelDevice, cancelJob) or admin."),
    name: str = typer.Option("", "--name", help="Who or what the key is for."),
    keys: Path = typer.Option(None, "--keys", help=KEYS_HELP, show_default=False),
    store: str = typer.Option(None, "--store", help=STORE_HELP, show_default=False),
) -> None:
    """Create a key and print its token once; only its hash is stored."""
    key_store = _key_store(keys, store)
    try:
        key, token = key_store.create(role=role, name=name)
    except KeysFileError as error:
        fail(str(error))
    typer.echo(token)
    typer.echo(f"created {key.role.value} key {key.id} in {key_store.path}; the token above is shown only now", err=True)


@apikey_app.command("list")
def list_keys(
    keys: Path = typer.Option(None, "--keys", help=KEYS_HELP, show_default=False),
    store: str = typer.Option(None, "--store", help=STORE_HELP, show_default=False),
) -> None:
    """List keys with their role and creation and revocation times; tokens are never shown."""
    key_store = _key_store(keys, store)
    try:
        rows = key_store.keys()
    except KeysFileError as error:
        fail(str(error))
    table = Table(title=f"{len(rows)} API keys in {key_store.path}")
    for column in ("id", "role", "name", "created (UTC)", "revoked (UTC)"):
        table.add_column(column)
    for key in rows:
        table.add_row(key.id, key.role.value, key.name or "-", _time(key.created), _time(key.revoked))
    console.print(table)


@apikey_app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="Key id, as `iotgraph apikey list` shows it."),
    keys: Path = typer.Option(None, "--keys", help=KEYS_HELP, show_default=False),
    store: str = typer.Option(None, "--store", help=STORE_HELP, show_default=False),
) -> None:
    """Revoke a key; requests with it fail with HTTP 401 from the next request on."""
    key_store = _key_store(keys, store)
    try:
        key = key_store.revoke(key_id)
    except KeyError:
        fail(f"API key {key_id!r} not found in {key_store.path}; list the ids with `iotgraph apikey list`")
    except KeysFileError as error:
        fail(str(error))
    typer.echo(f"revoked key {key.id} ({key.role.value}) at {_time(key.revoked)} UTC")


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")
