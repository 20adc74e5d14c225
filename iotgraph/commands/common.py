"""Options and helpers shared by the command modules."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from graphdb import StoreError, default_store_url, open_store
from graphdb.store import GraphStore

console = Console()
error_console = Console(stderr=True)

STORE_HELP = "Store URL: sqlite:///path.db (default ./iotgraph.db, or IOTGRAPH_STORE) or neo4j://host:7687."
MODELS_HELP = "Model registry folder (default ./models, or IOTGRAPH_MODELS)."

StoreOption = typer.Option(None, "--store", help=STORE_HELP, show_default=False)
ModelsOption = typer.Option(None, "--models", help=MODELS_HELP, show_default=False)


class Sampling(str, Enum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


SamplingOption = typer.Option(
    Sampling.AUTO,
    "--sampling",
    help="Neighbour-sampled mini-batches (needs `make sampling`): auto above 1 000 000 device-windows, on, or off (full batch).",
)


def models_dir(value: Path | None) -> Path:
    return Path(value or os.environ.get("IOTGRAPH_MODELS") or "models")


def open_store_or_exit(url: str | None) -> GraphStore:
    try:
        return open_store(url or default_store_url())
    except StoreError as error:
        fail(str(error))


def fail(message: str, *, code: int = 2) -> "typer.Exit":
    # Escaped, so that brackets in a message (iotgraph[sampling], an IPv6 address) print as written.
    error_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def show_progress() -> bool:
    return sys.stderr.isatty()


def parse_window_ref(value: str | None, store: GraphStore) -> float | None:
    """Turn ``latest``, ``all`` (None) or an epoch start into a window start."""
    if value is None or value == "all":
        return None
    if value == "latest":
        windows = store.windows()
        if not windows:
            fail("the store has no windows yet; run `iotgraph ingest FILE` first")
        return windows[-1].start
    try:
        return float(value)
    except ValueError:
        fail(f"invalid window {value!r}: expected an epoch start in seconds (see `iotgraph windows`), latest or all")
