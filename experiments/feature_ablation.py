"""Feature ablation: PR-AUC of each model with the volume counts ``BASIC_FEATURES`` against all ``FEATURES``.

The features outside ``BASIC_FEATURES`` are set to 0 in every window, so a
model cannot use them (a constant column carries no information), and every
model keeps the same input width. Edge attributes (the COMMUNICATED
aggregates) are not ablated. Temporal split, device and edge level.

    python -m experiments.feature_ablation [INPUT ...] [--models gcn,gbt,...]
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from experiments.common import EpochsOption, InputsArgument, SeedOption, WindowOption, load_inputs, setup
from ingest.features import BASIC_FEATURES, FEATURES
from ml.evaluate import EvaluationSettings, evaluate_temporal, model_spec
from ml.evaluate_data import Dataset

DEFAULT_MODELS = "gcn,sage,gat,edge,gae,iforest,gbt,gbt-nbr,gbt-edge,baseline"


def basic_only(dataset: Dataset) -> Dataset:
    """Return the dataset with every feature outside ``BASIC_FEATURES`` set to 0."""
    dropped = [name for name in FEATURES if name not in BASIC_FEATURES]
    frames = []
    for frame in dataset.features:
        masked = frame.copy()
        masked.loc[:, dropped] = 0.0
        frames.append(masked)
    return Dataset(name=dataset.name, graphs=dataset.graphs, features=frames, simulation=dataset.simulation)


def main(
    inputs: list[str] = InputsArgument,
    models: str = typer.Option(DEFAULT_MODELS, "--models", help="Comma-separated model names."),
    window: str = WindowOption,
    epochs: int = EpochsOption,
    seed: int = SeedOption,
    output: Path = typer.Option(None, "--json", help="Also write the PR-AUC values to this JSON file.", show_default=False),
) -> None:
    """Print PR-AUC (device / edge level) per model with basic and with all features."""
    setup()
    specs = [model_spec(name.strip()) for name in models.split(",") if name.strip()]
    settings = EvaluationSettings(epochs=epochs, seed=seed)
    records = []
    for dataset in load_inputs(inputs, window=window):
        for features, variant in (("basic", basic_only(dataset)), ("all", dataset)):
            for result in evaluate_temporal(variant, specs, settings):
                records.append(
                    {
                        "dataset": dataset.name,
                        "features": features,
                        "model": result.model,
                        "device_pr_auc": result.device.value("pr_auc"),
                        "edge_pr_auc": result.edge.value("pr_auc"),
                        "skipped": result.skipped,
                    }
                )
    console = Console(width=160)
    for name in dict.fromkeys(record["dataset"] for record in records):
        table = Table(title=f"{name}: temporal-split PR-AUC, device / edge level ({len(BASIC_FEATURES)} basic vs {len(FEATURES)} features)")
        for column in ("model", "basic", "all", "all - basic (device)"):
            table.add_column(column)
        for spec in specs:
            cells = {}
            for record in records:
                if record["dataset"] == name and record["model"] == spec.name:
                    cells[record["features"]] = record
            table.add_row(spec.name, _pair(cells["basic"]), _pair(cells["all"]), _difference(cells["basic"], cells["all"]))
        console.print(table)
    if output is not None:
        output.write_text(json.dumps(records, indent=2))


def _pair(record: dict) -> str:
    values = [record["device_pr_auc"], record["edge_pr_auc"]]
    return " / ".join("n/a" if value is None else f"{value:.3f}" for value in values)


def _difference(basic: dict, full: dict) -> str:
    if basic["device_pr_auc"] is None or full["device_pr_auc"] is None:
        return "n/a"
    return f"{full['device_pr_auc'] - basic['device_pr_auc']:+.3f}"


if __name__ == "__main__":
    typer.run(main)
