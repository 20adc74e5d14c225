"""``iotgraph demo``: simulate, ingest, train, score, rank and draw, end to end on the embedded store."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import typer

from iotgraph.commands.common import console, show_progress
from iotgraph.commands.windows import format_time


def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Folder for the log, store, models and pictures (recreated)."),
    devices: int = typer.Option(60, "--devices", min=5, help="Internal devices of the simulated network."),
    hours: float = typer.Option(6.0, "--hours", min=0.5, help="Length of the simulated capture in hours."),
    seed: int = typer.Option(7, "--seed", help="Seed of the simulation and the training."),
    epochs: int = typer.Option(200, "--epochs", min=1, help="Training epochs of both models."),
) -> None:
    """Simulate an IoT network with a spreading Mirai botnet, then ingest, train GCN and GAE, score, rank and plot."""
    from graphdb import open_store
    from graphdb.load import load_files
    from ingest.simulate import SimulationConfig, simulate
    from ml.plot import plot_neighbourhood, plot_window
    from ml.scoring import score_windows
    from ml.training import train

    import torch

    # The demo's windows hold a few hundred devices; on graphs that small one
    # thread is several times faster than many, which contend for the cores.
    torch.set_num_threads(int(os.environ.get("IOTGRAPH_TORCH_THREADS", "1")))
    began = time.perf_counter()
    progress = show_progress()
    for name in ("conn.log", "iotgraph.db", "iotgraph.db-wal", "iotgraph.db-shm", "window.png", "neighbourhood.png"):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "models", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    log_path, models = out / "conn.log", out / "models"

    console.rule("1. simulate")
    simulated = simulate(SimulationConfig(devices=devices, hours=hours, seed=seed, attacks=("mirai",)), log_path)
    console.print(
        f"{log_path}: {simulated.flows} flows from {simulated.devices} devices; "
        f"{len(simulated.infected)} infected over time, {simulated.malicious_flows} malicious flows"
    )

    console.rule("2. ingest into 5-minute windows")
    with open_store(f"sqlite:///{out / 'iotgraph.db'}") as store:
        loaded = load_files(store, [log_path], window="5m", progress=progress)
        counts = store.counts()
        console.print(f"{loaded.files[0].report.summary()}; {counts.windows} windows, {counts.devices} devices, {counts.edges} edges")

        console.rule("3. train the reference GCN and the GCN autoencoder")
        results = {}
        for kind in ("gae", "gcn"):
            results[kind] = train(store, kind=kind, models_dir=models, seed=seed, epochs=epochs, progress=progress)
            console.print(results[kind].table())

        console.rule("4. score every window")
        gae_summaries = score_windows(store, model=results["gae"].model_version, models_dir=models, progress=progress)
        score_windows(store, model=results["gcn"].model_version, models_dir=models, progress=progress)

        window = store.windows()[-1].start
        ranked = store.suspicious(window, limit=10)
        labels = store.devices_by_id([score.device_id for score in ranked])

        console.rule(f"5. most suspicious devices, window {format_time(window)} UTC (GCN)")
        for score in ranked:
            label = labels[score.device_id].label if score.device_id in labels else "unknown"
            flag = "[bold red]anomalous[/]" if score.predicted else "normal"
            console.print(f"  {score.rank:>2}. {score.device_id:<16} score {score.score:.3f}  {flag:<20} ground truth: {label}")
        gae_top = next((s.top[:3] for s in gae_summaries if s.window_start == window), [])
        console.print("  GCN autoencoder's top 3 in that window: " + ", ".join(f"{d} ({s:.3f})" for d, s in gae_top))

        console.rule("6. pictures")
        window_png = plot_window(store, window, out / "window.png")
        console.print(f"{window_png.path}: {window_png.nodes} devices, {window_png.anomalous} predicted anomalous")
        if ranked:
            focus = plot_neighbourhood(store, ranked[0].device_id, out / "neighbourhood.png", hops=1, window_start=window)
            console.print(f"{focus.path}: neighbourhood of {ranked[0].device_id}, {focus.nodes} devices")

    console.print(f"demo finished in {time.perf_counter() - began:.0f} s; store {out / 'iotgraph.db'}, models {models}")
    console.print(f"next: iotgraph top --store sqlite:///{out / 'iotgraph.db'}   or   iotgraph serve --store sqlite:///{out / 'iotgraph.db'} --no-auth")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
