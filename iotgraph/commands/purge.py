"""``iotgraph purge``: retention, deleting windows older than a limit."""

from __future__ import annotations

import typer

from graphdb import StoreError
from graphdb.retention import purge_older_than
from ingest.windows import parse_duration
from iotgraph.commands.common import StoreOption, console, fail, open_store_or_exit


def purge(
    older_than: str = typer.Option(..., "--older-than", help="Delete windows that started longer ago than this, e.g. 30d."),
    now: float = typer.Option(None, "--now", help="Reference time in epoch seconds (default: the current time)."),
    batch_size: int = typer.Option(
        None, "--batch-size", min=1, help="Rows deleted per transaction (default 5000 on SQLite, the Neo4j batch size on Neo4j)."
    ),
    store: str = StoreOption,
) -> None:
    """Delete old windows with their edges, scores, explanations and finished jobs; drop devices left without windows.

    The work runs in transactions of about --batch-size rows. On SQLite each
    transaction removes whole windows, so readers never see half a window.
    """
    try:
        age = parse_duration(older_than)
    except ValueError as error:
        fail(str(error))
    with open_store_or_exit(store) as opened:
        try:
            result = purge_older_than(opened, age, now=now, batch_size=batch_size)
        except StoreError as error:
            fail(str(error))
    console.print(f"deleted {result.summary()} (data before {result.before:.0f})")


def register(app: typer.Typer) -> None:
    app.command("purge")(purge)
