"""``iotgraph purge``: retention, deleting windows older than a limit."""

from __future__ import annotations

import time

import typer

from ingest.windows import parse_duration
from iotgraph.commands.common import StoreOption, console, fail, open_store_or_exit


def purge(
    older_than: str = typer.Option(..., "--older-than", help="Delete windows that started longer ago than this, e.g. 30d."),
    now: float = typer.Option(None, "--now", help="Reference time in epoch seconds (default: the current time)."),
    store: str = StoreOption,
) -> None:
    """Delete old windows with their edges, scores, explanations and finished jobs; drop devices left without windows."""
    try:
        age = parse_duration(older_than)
    except ValueError as error:
        fail(str(error))
    before = (time.time() if now is None else now) - age
    with open_store_or_exit(store) as opened:
        deleted = opened.purge(before)
    console.print("deleted " + ", ".join(f"{count} {kind}" for kind, count in deleted.items()))


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
