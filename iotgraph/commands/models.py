"""``iotgraph models``: list, show and delete saved models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum

import typer
from rich.table import Table

from iotgraph.commands.common import ModelsOption, console, fail, models_dir


class OutputFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


models_app = typer.Typer(help="List, show and delete saved models.", no_args_is_help=True)


def _summary(info) -> dict:
    """Return the registry entry of a model with its threshold, training windows and test PR-AUC per split."""
    metadata = info.metadata
    pr_auc = {}
    for split, result in (metadata.get("metrics") or {}).items():
        value = (result.get("metrics") or {}).get("pr_auc", {})
        pr_auc[split] = value.get("value")
    return {
        "version": info.version,
        "kind": info.kind,
        "created": metadata.get("created") or datetime.fromtimestamp(info.created_at, tz=UTC).isoformat(),
        "feature_scaling": metadata.get("feature_scaling", "global"),
        "threshold": metadata.get("threshold"),
        "training_windows": len(metadata.get("training_windows", [])),
        "pr_auc": pr_auc,
        "path": str(info.path),
    }


@models_app.command("list")
def list_command(
    kind: str = typer.Option(None, "--kind", help="Only models of this kind, e.g. gcn.", show_default=False),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="table or json."),
    models: str = ModelsOption,
) -> None:
    """List saved models, newest first. The first of each kind is the one latest:<kind> loads."""
    from ml.artifacts import list_models

    found = list_models(models_dir(models), kind=kind)
    latest = {}
    for info in found:
        latest.setdefault(info.kind, info.version)
    rows = [{**_summary(info), "latest": latest[info.kind] == info.version} for info in found]
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(f"no saved models in {models_dir(models)}; train one with `iotgraph train`")
        return
    table = Table(title=f"models in {models_dir(models)}")
    for column in ("version", "kind", "latest", "created (UTC)", "scaling", "threshold", "windows", "PR-AUC (temporal / random)"):
        table.add_column(column, overflow="fold")
    for row in rows:
        threshold = "-" if row["threshold"] is None else f"{row['threshold']:.4f}"
        pr = " / ".join("-" if row["pr_auc"].get(split) is None else f"{row['pr_auc'][split]:.3f}" for split in ("temporal", "random"))
        table.add_row(
            row["version"], row["kind"], "yes" if row["latest"] else "", row["created"][:19], row["feature_scaling"],
            threshold, str(row["training_windows"]), pr,
        )  # fmt: skip
    console.print(table)


@models_app.command("show")
def show_command(
    model: str = typer.Argument(..., help="Version id, latest or latest:<kind>."),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="table or json (the full metadata)."),
    models: str = ModelsOption,
) -> None:
    """Show a saved model's metadata: kind, hyper-parameters, features, threshold and test metrics."""
    from ml.artifacts import check_features, resolve_model
    from ml.errors import FeatureMismatchError, ModelError
    from ml.metrics import SplitMetrics, metrics_table

    try:
        info = resolve_model(model, directory=models_dir(models))
    except ModelError as error:
        fail(str(error))
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(info.metadata, indent=2, sort_keys=True))
        return
    summary = _summary(info)
    table = Table(title=info.version, show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for name in ("kind", "created", "feature_scaling", "threshold", "training_windows", "path"):
        table.add_row(name, str(summary[name]))
    table.add_row("threshold source", str(info.metadata.get("threshold_source")))
    table.add_row("hyper-parameters", json.dumps(info.metadata.get("hyperparameters", {})))
    table.add_row("features", ", ".join(info.metadata.get("features", [])))
    try:
        check_features(info)
        table.add_row("usable", "yes")
    except FeatureMismatchError as error:
        table.add_row("usable", f"no: {error}")
    console.print(table)
    splits = [SplitMetrics.from_dict(result) for result in (info.metadata.get("metrics") or {}).values()]
    if splits:
        console.print(metrics_table(splits, title="test metrics"))


@models_app.command("delete")
def delete_command(
    model: str = typer.Argument(..., help="Version id, latest or latest:<kind>."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking."),
    models: str = ModelsOption,
) -> None:
    """Delete a saved model's folder. Scores it wrote stay in the store with its version id."""
    from ml.artifacts import delete_model, resolve_model
    from ml.errors import ModelError

    try:
        info = resolve_model(model, directory=models_dir(models))
        if not yes and not typer.confirm(f"delete {info.kind} model {info.version} at {info.path}?"):
            fail("not deleted", code=1)
        delete_model(info.version, directory=models_dir(models))
    except ModelError as error:
        fail(str(error))
    console.print(f"deleted {info.version}")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
