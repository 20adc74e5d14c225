"""Time to detection of a spreading botnet: windows from a device's infection until its score first reaches the threshold.

A model is fitted on one simulated network (labels included) and scores
every window of another simulated network, oldest first, as ``iotgraph
score`` would. For each device that the simulator infected, the delay is the
number of windows from the window containing its infection time to the
first window where its score reaches the model's threshold. False alarms
are simulated devices of the network (end devices and gateways) that were
never infected yet reached the threshold; external hosts do not count.

    python -m experiments.time_to_detection [--train SIM] [--test SIM] [--models sage,gbt-nbr]
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from experiments.common import EpochsOption, SeedOption, setup
from ml.evaluate import EvaluationSettings, fit_transfer_model, model_spec, score_graphs
from ml.evaluate_data import Dataset, load_dataset


def detection_delays(dataset: Dataset, windows: list, threshold: float, *, window_seconds: float) -> dict:
    """Return per infected device the delay in windows (None when never detected), and the false alarms."""
    infected = dataset.simulation.infected if dataset.simulation else {}
    members = dataset.simulation.roles if dataset.simulation else {}
    first_alarm: dict[str, float] = {}
    false_alarms: set[str] = set()
    false_alarm_windows = 0
    for graph, scored in zip(dataset.graphs, windows):
        flagged = [device for device, score in zip(graph.devices["id"], scored.device_scores) if score >= threshold]
        start = float(graph.window.start)
        for device in flagged:
            if device in infected:
                if start + window_seconds > infected[device]:
                    first_alarm.setdefault(device, start)
            elif device in members:
                false_alarms.add(device)
                false_alarm_windows += 1
    delays = {}
    for device, infected_at in infected.items():
        infection_window = math.floor(infected_at / window_seconds) * window_seconds
        alarm = first_alarm.get(device)
        delays[device] = None if alarm is None else int(round((alarm - infection_window) / window_seconds))
    return {"delays": delays, "false_alarm_devices": len(false_alarms), "false_alarm_device_windows": false_alarm_windows}


def main(
    train: str = typer.Option("sim:devices=200,hours=6,attacks=mirai,seed=1", "--train", help="Labelled network to fit on."),
    test: str = typer.Option("sim:devices=500,hours=12,attacks=mirai,seed=2", "--test", help="Simulated network whose infections are timed."),
    models: str = typer.Option("sage,gcn,edge,gbt,gbt-nbr,gbt-edge,baseline", "--models", help="Comma-separated model names."),
    window: str = typer.Option("5m", "--window", help="Window length; delays are counted in windows of this length."),
    epochs: int = EpochsOption,
    seed: int = SeedOption,
    output: Path = typer.Option(None, "--json", help="Also write the delays to this JSON file.", show_default=False),
) -> None:
    """Print per model how many infected devices were detected, after how many windows, and the false alarms."""
    from ingest.windows import parse_duration

    setup()
    seconds = parse_duration(window)
    train_set = load_dataset(train, window=window, name=train)
    test_set = load_dataset(test, window=window, name=test)
    settings = EvaluationSettings(epochs=epochs, seed=seed)
    infected = len(test_set.simulation.infected) if test_set.simulation else 0
    table = Table(title=f"time to detection on {test} ({infected} infected devices, {window} windows), trained on {train}")
    for column in ("model", "detected", "median delay (windows)", "mean delay", "max delay", "false-alarm devices", "false-alarm device-windows"):
        table.add_column(column)
    records = []
    for name in [name.strip() for name in models.split(",") if name.strip()]:
        detector, _ = fit_transfer_model(model_spec(name), [train_set], settings)
        detector.forget()
        windows = score_graphs(detector, test_set.graphs, test_set.features)
        result = detection_delays(test_set, windows, detector.threshold_, window_seconds=seconds)
        found = [delay for delay in result["delays"].values() if delay is not None]
        records.append({"model": name, "threshold": detector.threshold_, **result})
        table.add_row(
            name,
            f"{len(found)}/{infected}",
            "-" if not found else f"{np.median(found):.1f}",
            "-" if not found else f"{np.mean(found):.2f}",
            "-" if not found else str(max(found)),
            str(result["false_alarm_devices"]),
            str(result["false_alarm_device_windows"]),
        )
    Console(width=160).print(table)
    if output is not None:
        output.write_text(json.dumps(records, indent=2))


if __name__ == "__main__":
    typer.run(main)
