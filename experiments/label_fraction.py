"""Label scarcity: supervised GCN against the GCN autoencoder when only a share of device-windows is labelled.

Temporal split. The supervised models get the labels of a random share of
the labelled device-windows of the training and validation windows. The
share is drawn per class with at least one of each class, so that they can
train at all, and the others count as unlabelled. The autoencoder never sees labels, so its
figure does not change with the share. PR-AUC on the test windows, mean and
spread over several draws.

    python -m experiments.label_fraction [INPUT ...] [--fractions 0.01,0.05,0.2,1]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from experiments.common import EpochsOption, InputsArgument, WindowOption, load_inputs, setup
from ml.errors import ModelError
from ml.evaluate import level_metrics, node_labels, score_graphs
from ml.evaluate_data import Dataset
from ml.models import make_detector
from ml.splits import temporal_window_split


def sample_labelled(labels: np.ndarray, mask: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Return a mask of a per-class random ``fraction`` of the labelled nodes in ``mask``, at least one per class."""
    chosen = np.zeros(len(labels), dtype=bool)
    for label in (0, 1):
        members = np.flatnonzero(mask & (labels == label))
        if len(members) == 0:
            continue
        count = max(1, int(round(fraction * len(members))))
        chosen[rng.choice(members, size=count, replace=False)] = True
    return chosen


def run(dataset: Dataset, kind: str, *, fraction: float, seed: int, epochs: int) -> float | None:
    """Fit ``kind`` on the temporal training windows with a share of labels and return the test PR-AUC."""
    split = temporal_window_split(dataset.starts)
    if isinstance(split, str):
        return None
    index = {start: i for i, start in enumerate(dataset.starts)}
    train = [index[start] for start in split.train]
    validation = [index[start] for start in split.validation]
    test = [index[start] for start in split.test]
    fitted = train + validation
    graphs = [dataset.graphs[i] for i in fitted]
    features = [dataset.features[i] for i in fitted]
    labels = node_labels(graphs, label_rule="originator")
    in_train = np.repeat([True] * len(train) + [False] * len(validation), [len(g.devices) for g in graphs]).astype(bool)

    rng = np.random.default_rng(seed)
    detector = make_detector(kind, device="cpu", progress=False, epochs=epochs, seed=seed)
    try:
        if detector.supervised:
            detector.fit(
                graphs,
                features=features,
                train_mask=sample_labelled(labels, in_train, fraction, rng),
                val_mask=sample_labelled(labels, ~in_train, fraction, rng),
            )
        else:
            detector.fit([dataset.graphs[i] for i in train], features=[dataset.features[i] for i in train])
    except ModelError:
        return None
    windows = score_graphs(detector, [dataset.graphs[i] for i in validation + test], [dataset.features[i] for i in validation + test])
    windows = windows[len(validation) :]
    y = np.concatenate([window.device_labels for window in windows])
    s = np.concatenate([window.device_scores for window in windows])
    return level_metrics(y, s, threshold=detector.threshold_, split="temporal", windows=len(test)).value("pr_auc")


def main(
    inputs: list[str] = InputsArgument,
    fractions: str = typer.Option("0.01,0.05,0.2,1", "--fractions", help="Comma-separated shares of labelled device-windows kept."),
    models: str = typer.Option("gcn,gae,gbt", "--models", help="Comma-separated kinds."),
    draws: int = typer.Option(3, "--draws", min=1, help="Random draws of the labelled share (seeds 0 .. draws-1)."),
    window: str = WindowOption,
    epochs: int = EpochsOption,
    output: Path = typer.Option(None, "--json", help="Also write the values to this JSON file.", show_default=False),
) -> None:
    """Print the test PR-AUC (mean ± standard deviation over draws) per model and labelled share."""
    setup()
    shares = [float(value) for value in fractions.split(",")]
    kinds = [name.strip() for name in models.split(",") if name.strip()]
    records = []
    console = Console(width=160)
    for dataset in load_inputs(inputs, window=window):
        table = Table(title=f"{dataset.name}: temporal-split device PR-AUC by labelled share (mean ± sd over {draws} draws)")
        table.add_column("model")
        for share in shares:
            table.add_column(f"{share:.0%}")
        for kind in kinds:
            cells = []
            for share in shares:
                values = [run(dataset, kind, fraction=share, seed=seed, epochs=epochs) for seed in range(draws)]
                records.append({"dataset": dataset.name, "model": kind, "fraction": share, "pr_auc": values})
                known = [value for value in values if value is not None]
                cells.append("n/a" if not known else f"{np.mean(known):.3f} ± {np.std(known):.3f}")
            table.add_row(kind, *cells)
        console.print(table)
    if output is not None:
        output.write_text(json.dumps(records, indent=2))


if __name__ == "__main__":
    typer.run(main)
