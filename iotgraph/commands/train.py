"""``iotgraph train``: fit a detector on the store's windows and save it."""

from __future__ import annotations

import json
from enum import Enum

import typer

from iotgraph.commands.common import ModelsOption, Sampling, SamplingOption, StoreOption, console, fail, models_dir, open_store_or_exit, show_progress


class ModelKind(str, Enum):
    GCN = "gcn"
    GAE = "gae"
    SAGE = "sage"
    GAT = "gat"
    IFOREST = "iforest"
    GBT = "gbt"
    GBT_NBR = "gbt-nbr"
    DOMINANT = "dominant"
    COLA = "cola"
    EDGE = "edge"
    GBT_EDGE = "gbt-edge"
    BASELINE = "baseline"


class FeatureScaling(str, Enum):
    GLOBAL = "global"
    WINDOW = "window"


class LabelRule(str, Enum):
    ORIGINATOR = "originator"
    ANY = "any"


def train(
    model: ModelKind = typer.Option(
        ModelKind.GCN,
        "--model",
        "-m",
        help=(
            "gcn, sage, gat: supervised GNNs; gae: GCN autoencoder; dominant, cola: PyGOD (sampling extra); "
            "edge: edge-level GNN; iforest, gbt, gbt-nbr, gbt-edge: flat baselines; baseline: device history and population."
        ),
    ),
    feature_scaling: FeatureScaling = typer.Option(
        FeatureScaling.GLOBAL,
        "--feature-scaling",
        help="global: standardise with training statistics; window: first scale each feature within its window (transfers across networks).",
    ),
    epochs: int = typer.Option(200, "--epochs", min=1, help="Training epochs."),
    seed: int = typer.Option(0, "--seed", help="Seed of torch, numpy and the splits."),
    label_rule: LabelRule = typer.Option(
        LabelRule.ORIGINATOR,
        "--label-rule",
        help="originator: a device is anomalous in a window when it originates a malicious flow; any: when it takes part in one.",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    sampling: Sampling = SamplingOption,
    output_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON instead of a table."),
    store: str = StoreOption,
    models: str = ModelsOption,
) -> None:
    """Train on every window, report test metrics of a random 60/20/20 and a temporal split, save the model."""
    from ml.errors import ModelError
    from ml.training import train as run_training

    with open_store_or_exit(store) as opened:
        if not opened.windows():
            fail("the store has no windows; run `iotgraph ingest FILE` first")
        try:
            result = run_training(
                opened,
                kind=model.value,
                models_dir=models_dir(models),
                seed=seed,
                epochs=epochs,
                device=device,
                sampling=sampling.value,
                progress=show_progress(),
                label_rule=label_rule.value,
                options={"feature_scaling": feature_scaling.value},
            )
        except ModelError as error:
            fail(str(error))

    if output_json:
        typer.echo(json.dumps({"model_version": result.model_version, "metrics": result.metrics_dict()}, indent=2))
        return
    console.print(result.table())
    console.print(f"saved model {result.model_version} ({len(result.windows)} training windows)")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
