"""``iotgraph windows``: list the store's time windows."""

from __future__ import annotations

from datetime import datetime, timezone

import typer
from rich.table import Table

from iotgraph.commands.common import StoreOption, console, open_store_or_exit


def format_time(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def windows(store: str = StoreOption) -> None:
    """List time windows with their flow, device and edge counts and scoring status."""
    with open_store_or_exit(store) as opened:
        rows = opened.windows()
    table = Table(title=f"{len(rows)} windows")
    for column in ("start", "start (UTC)", "flows", "devices", "edges", "status", "model"):
        table.add_column(column)
    for window in rows:
        table.add_row(
            f"{window.start:.0f}",
            format_time(window.start),
            str(window.flows),
            str(window.devices),
            str(window.edges),
            window.status,
            window.model_version or "-",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("windows")(windows)
