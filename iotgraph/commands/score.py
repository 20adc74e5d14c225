"""``iotgraph score``: score windows with a saved model and write the scores back."""

from __future__ import annotations

import typer
from rich.table import Table

from graphdb import StoreError
from iotgraph.commands.common import (
    ModelsOption,
    Sampling,
    SamplingOption,
    StoreOption,
    console,
    fail,
    models_dir,
    open_store_or_exit,
    parse_window_ref,
    show_progress,
)
from iotgraph.commands.windows import format_time


def score(
    model: str = typer.Option("latest", "--model", "-m", help="Model version id, latest, or latest:gcn / latest:gae."),
    window: str = typer.Option("all", "--window", help="Window start (epoch seconds), latest, or all."),
    explain_top_k: int = typer.Option(20, "--explain-top", min=0, help="Store explanations for this many top devices per window."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    sampling: Sampling = SamplingOption,
    store: str = StoreOption,
    models: str = ModelsOption,
) -> None:
    """Write anomaly_score, predicted label, model_version and scored_at on every device, and the score history."""
    from ml.errors import ModelError
    from ml.scoring import score_windows

    with open_store_or_exit(store) as opened:
        start = parse_window_ref(window, opened)
        try:
            summaries = score_windows(
                opened,
                None if start is None else [start],
                model=model,
                models_dir=models_dir(models),
                explain_top_k=explain_top_k,
                device=device,
                sampling=sampling.value,
                progress=show_progress(),
            )
        except (ModelError, StoreError) as error:
            fail(str(error))

    if not summaries:
        console.print("no windows to score")
        return
    table = Table(title=f"scored {len(summaries)} window(s) with {summaries[0].model_version}")
    for column in ("window (UTC)", "devices", "predicted anomalous", "max score", "top device"):
        table.add_column(column)
    shown = summaries if len(summaries) <= 24 else summaries[:12] + summaries[-12:]
    for summary in shown:
        top = summary.top[0][0] if summary.top else "-"
        max_score = "-" if summary.max_score is None else f"{summary.max_score:.3f}"
        table.add_row(format_time(summary.window_start), str(summary.devices), str(summary.predicted), max_score, top)
    console.print(table)
    if len(summaries) > len(shown):
        console.print(f"({len(summaries) - len(shown)} windows not shown)")


def register(app: typer.Typer) -> None:
    app.command("score")(score)
