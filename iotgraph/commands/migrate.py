"""``iotgraph migrate``: copy the device graph from one store to another, e.g. SQLite to Neo4j."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from graphdb import StoreError
from graphdb.migrate import DEFAULT_BATCH_SIZE, migrate
from iotgraph.commands.common import console, fail, open_store_or_exit, show_progress


def migrate_command(
    source_url: str = typer.Option(..., "--from", help="Store URL to copy from, e.g. sqlite:///iotgraph.db."),
    target_url: str = typer.Option(..., "--to", help="Store URL to copy to, e.g. neo4j://127.0.0.1:7687."),
    batch_size: int = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Devices, scores or flow ids per write."),
) -> None:
    """Copy windows, edges, devices, scores, analyst labels and flow ids; running it again changes nothing.

    The job queue is not copied: drain it first. Neo4j credentials come from
    NEO4J_USER and NEO4J_PASSWORD.
    """
    if source_url == target_url:
        fail(f"--from and --to name the same store {source_url}; pass two different stores")

    with open_store_or_exit(source_url) as source, open_store_or_exit(target_url) as target:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not show_progress(),
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def report(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            try:
                counts = migrate(source, target, batch_size=batch_size, progress=report)
            except (StoreError, NotImplementedError) as error:
                fail(str(error))

    console.print(f"migrated {source.url} -> {target.url}: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate_command)
