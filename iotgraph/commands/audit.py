"""``iotgraph audit``: print the API's audit log, newest requests last."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.table import Table

from api.audit import AuditLog
from api.settings import AUDIT_FILE_NAME, default_keys_path
from graphdb import default_store_url
from ingest.windows import parse_duration
from iotgraph.commands.common import STORE_HELP, console, fail

AUDIT_HELP = "Audit file (default IOTGRAPH_AUDIT_LOG, else iotgraph-audit.jsonl beside a SQLite store)."
# Device ids shown per row; the JSON output keeps all of them.
SHOWN_DEVICES = 3


def audit_path(explicit: Path | None, store: str | None) -> Path:
    """Return the audit file the API writes for this store: ``--file``, IOTGRAPH_AUDIT_LOG, or beside the store."""
    if explicit is not None:
        return explicit
    if os.environ.get("IOTGRAPH_AUDIT_LOG"):
        return Path(os.environ["IOTGRAPH_AUDIT_LOG"])
    return default_keys_path(store or default_store_url()).with_name(AUDIT_FILE_NAME)


def audit(
    since: str = typer.Option("1h", "--since", help="Show requests of this last period, e.g. 15m, 1h, 7d; 'all' for every one."),
    key: str = typer.Option(None, "--key", help="Only requests of this API key id."),
    device: str = typer.Option(None, "--device", help="Only requests that touched this device id."),
    output_json: bool = typer.Option(False, "--json", help="Print the records as JSON lines instead of a table."),
    file: Path = typer.Option(None, "--file", help=AUDIT_HELP, show_default=False),
    store: str = typer.Option(None, "--store", help=STORE_HELP, show_default=False),
) -> None:
    """Show who called the API, what they asked, which devices it touched and how it ended."""
    start = None
    if since != "all":
        try:
            start = time.time() - parse_duration(since)
        except ValueError as error:
            fail(f"invalid --since: {error}")
    path = audit_path(file, store)
    if not path.exists():
        fail(f"no audit log at {path}; the API writes it once it has served a request (set IOTGRAPH_AUDIT_LOG or pass --file)")

    records = [
        record
        for record in AuditLog(path).read(since=start)
        if (key is None or record.key_id == key) and (device is None or device in record.devices)
    ]
    if output_json:
        for record in records:
            typer.echo(record.to_json())
        return

    table = Table(title=f"{len(records)} request(s) in {path}" + ("" if start is None else f" since {_time(start)}"))
    for column in ("time (UTC)", "key", "role", "operation", "outcome", "status", "devices", "client", "ms"):
        table.add_column(column, justify="right" if column in ("status", "ms") else "left")
    for record in records:
        device_list = ", ".join(record.devices[:SHOWN_DEVICES])
        if record.devices_total > SHOWN_DEVICES:
            device_list += f" (+{record.devices_total - SHOWN_DEVICES})"
        outcome = record.outcome if not record.codes else f"{record.outcome} {','.join(record.codes)}"
        table.add_row(
            _time(record.ts),
            record.key_id or "-",
            record.role or "-",
            record.operation,
            outcome,
            str(record.status),
            device_list or "-",
            record.client or "-",
            f"{record.duration_ms:.1f}",
        )
    console.print(table)


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
