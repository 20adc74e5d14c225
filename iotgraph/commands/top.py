"""``iotgraph top``: the most suspicious devices of a window."""

from __future__ import annotations

import json
from enum import Enum

import typer
from rich.table import Table

from iotgraph.commands.common import StoreOption, console, fail, open_store_or_exit
from iotgraph.commands.windows import format_time


class OutputFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


def top(
    window: str = typer.Option("latest", "--window", help="Window start (epoch seconds), or latest scored window."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=10_000, help="Number of devices to show."),
    min_score: float = typer.Option(0.0, "--min-score", min=0.0, max=1.0, help="Hide devices scored below this."),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="table or json."),
    store: str = StoreOption,
) -> None:
    """Show the highest-scored devices of a window with their ground-truth label."""
    with open_store_or_exit(store) as opened:
        if window == "latest":
            start = None
        else:
            try:
                start = float(window)
            except ValueError:
                fail(f"invalid --window {window!r}: expected an epoch start in seconds or latest")
        ranked = opened.suspicious(start, min_score=min_score, limit=limit)
        devices = opened.devices_by_id([score.device_id for score in ranked])

    rows = [
        {
            "rank": score.rank if score.rank is not None else position,
            "device": score.device_id,
            "window_start": score.window_start,
            "score": round(float(score.score), 6),
            "predicted": "anomalous" if score.predicted else "normal",
            "label": devices[score.device_id].label if score.device_id in devices else "unknown",
            "internal": devices[score.device_id].internal if score.device_id in devices else None,
            "model_version": score.model_version,
        }
        for position, score in enumerate(ranked, start=1)
    ]
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no scores yet: run `iotgraph score` after `iotgraph train`")
        return
    table = Table(title=f"most suspicious devices, window {format_time(rows[0]['window_start'])} UTC")
    for column in ("rank", "device", "score", "predicted", "label", "internal"):
        table.add_column(column)
    for row in rows:
        style = "bold red" if row["predicted"] == "anomalous" else None
        table.add_row(
            str(row["rank"]), row["device"], f"{row['score']:.3f}", row["predicted"], row["label"], str(row["internal"]), style=style
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("top")(top)
