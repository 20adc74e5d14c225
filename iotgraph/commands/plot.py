"""``iotgraph plot``: a PNG of a scored window or a device's neighbourhood."""

from __future__ import annotations

from pathlib import Path

import typer

from graphdb import StoreError
from iotgraph.commands.common import StoreOption, console, fail, open_store_or_exit, parse_window_ref


def plot(
    out: Path = typer.Option(..., "--out", "-o", help="PNG file to write."),
    window: str = typer.Option(None, "--window", help="Window start (epoch seconds) or latest; default: latest scored window."),
    device: str = typer.Option(None, "--device", help="Draw this device's neighbourhood instead of a whole window."),
    hops: int = typer.Option(1, "--hops", min=1, max=3, help="Neighbourhood depth with --device."),
    max_nodes: int = typer.Option(150, "--max-nodes", min=2, max=2000, help="Draw at most this many devices."),
    store: str = StoreOption,
) -> None:
    """Draw devices as nodes: red = predicted anomalous, green = normal, size = anomaly score."""
    from ml.plot import plot_neighbourhood, plot_window

    with open_store_or_exit(store) as opened:
        start = parse_window_ref(window, opened)
        try:
            if device is not None:
                summary = plot_neighbourhood(opened, device, out, hops=hops, window_start=start, max_nodes=max_nodes)
            else:
                if start is None:
                    scored = [w for w in opened.windows() if w.status == "scored"]
                    if not scored:
                        fail("no scored window yet: run `iotgraph score` first, or pass --window")
                    start = scored[-1].start
                summary = plot_window(opened, start, out, max_nodes=max_nodes)
        except StoreError as error:
            fail(str(error))
    console.print(f"wrote {summary.path}: {summary.nodes} devices, {summary.edges} edges, {summary.anomalous} predicted anomalous")


def register(app: typer.Typer) -> None:
    app.command("plot")(plot)
