"""``iotgraph evaluate``: compare every model on labelled captures, simulated networks or a store."""

from __future__ import annotations

import os
import shlex
import sys
from enum import Enum
from pathlib import Path

import typer

from iotgraph.commands.common import StoreOption, console, fail, open_store_or_exit


class OutputFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


class FeatureScaling(str, Enum):
    GLOBAL = "global"
    WINDOW = "window"
    BOTH = "both"


INPUT_HELP = "Labelled flow file, or a simulated network such as sim:devices=200,hours=6,attacks=mirai,seed=1."


def evaluate(
    inputs: list[str] = typer.Argument(None, help=f"{INPUT_HELP} Each is evaluated on its own (temporal and random split).", show_default=False),
    train: list[str] = typer.Option(None, "--train", help="Train on this input; repeat the option for several. Needs --test.", show_default=False),
    test: list[str] = typer.Option(None, "--test", help="Test on this input, another network; repeatable. Needs --train.", show_default=False),
    matrix: bool = typer.Option(False, "--matrix", help="Train on each input and test on each other one, every ordered pair."),
    models: str = typer.Option("all", "--models", help="Comma-separated model names; all stands for every kind. A name ending in @window uses per-window feature scaling."),
    feature_scaling: FeatureScaling = typer.Option(FeatureScaling.GLOBAL, "--feature-scaling", help="global, window (per-window robust scaling, transfers across networks) or both (each model twice)."),
    splits: str = typer.Option("temporal,random", "--splits", help="Splits of a single input: temporal, random or both comma-separated."),
    window: str = typer.Option("15m", "--window", help="Window length when ingesting inputs, e.g. 5m, 15m, 1h."),
    epochs: int = typer.Option(200, "--epochs", min=1, help="Training epochs of the neural models."),
    seed: int = typer.Option(0, "--seed", help="Seed of torch, numpy, the splits and the trees."),
    label_rule: str = typer.Option("originator", "--label-rule", help="originator or any (see iotgraph train)."),
    device: str = typer.Option("cpu", "--device", help="auto, cpu or cuda."),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="table (rich tables) or json (every metric of every model)."),
    report: Path = typer.Option(None, "--report", help="Also write a Markdown report to this file.", show_default=False),
    pr_curves: Path = typer.Option(None, "--pr-curves", help="Also draw every model's PR curves into this PNG file.", show_default=False),
    store: str = StoreOption,
) -> None:
    """Evaluate models at device and edge level: accuracy, precision, recall, F1, ROC-AUC, PR-AUC, precision at 1 % FPR, times."""
    import torch

    from ml.evaluate import DEFAULT_MODELS, EvaluationSettings, evaluate_dataset, evaluate_matrix, evaluate_transfer, model_spec
    from ml.evaluate_data import dataset_from_store, load_dataset, short_name
    from ml.evaluate_report import comparison_table, compare, markdown_report, matrix_tables, plot_pr_curves, result_tables, results_json, undefined_reasons

    # Windows hold tens to thousands of devices, and on graphs that small one thread
    # is faster than many contending for the cores.
    torch.set_num_threads(int(os.environ.get("IOTGRAPH_TORCH_THREADS", "1")))
    inputs, train, test = inputs or [], train or [], test or []
    if bool(train) != bool(test):
        fail("--train and --test go together; give at least one input to each")
    if matrix and len(inputs) < 2:
        fail(f"--matrix needs at least 2 inputs to pair; got {len(inputs)}")
    if (train or matrix) and inputs and not matrix:
        fail("give inputs either as arguments or with --train/--test, not both")

    names = []
    for name in (part.strip() for part in models.split(",")):
        if name == "all":
            names.extend(DEFAULT_MODELS)
        elif name:
            names.append(name)
    names = list(dict.fromkeys(names))
    if feature_scaling is FeatureScaling.WINDOW:
        names = [name if name.endswith("@window") else f"{name}@window" for name in names]
    elif feature_scaling is FeatureScaling.BOTH:
        names = [variant for name in names for variant in (name, f"{name}@window") if not name.endswith("@window")]
    try:
        specs = [model_spec(name) for name in names]
    except ValueError as error:
        fail(str(error))
    settings = EvaluationSettings(epochs=epochs, seed=seed, label_rule=label_rule, device=device)

    def load(source: str):
        try:
            return load_dataset(source, window=window, name=short_name(source))
        except (OSError, ValueError) as error:
            fail(f"cannot load {source}: {error}")

    results = []
    if train:
        train_sets = [load(source) for source in train]
        for source in test:
            results.extend(evaluate_transfer(train_sets, load(source), specs, settings))
    elif matrix:
        results = evaluate_matrix([load(source) for source in inputs], specs, settings)
    else:
        split_names = [name.strip() for name in splits.split(",") if name.strip()]
        datasets = [load(source) for source in inputs]
        if not datasets:
            with open_store_or_exit(store) as opened:
                if not opened.windows():
                    fail("the store has no windows: pass labelled flow files or a sim: network, or ingest flows first")
                datasets = [dataset_from_store(opened)]
        for dataset in datasets:
            try:
                results.extend(evaluate_dataset(dataset, specs, settings, splits=split_names))
            except ValueError as error:
                fail(str(error))

    command = "iotgraph " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
    if report is not None:
        report.write_text(markdown_report(results, command=command))
    if pr_curves is not None:
        plot_pr_curves(results, pr_curves)
    if output is OutputFormat.JSON:
        typer.echo(results_json(results, settings={**settings.__dict__, "window": window, "command": command}))
        return
    for table in matrix_tables(results) if matrix else result_tables(results):
        console.print(table)
    console.print(comparison_table(compare(results)))
    for reason, where in undefined_reasons(results).items():
        console.print(f"n/a: {reason} ({len(where)} cell group(s), e.g. {where[0]})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
