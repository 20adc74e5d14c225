"""Rendering of evaluation results: rich tables, JSON, a Markdown report and one figure of PR curves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich import box
from rich.table import Table

from ml.evaluate import EVALUATION_METRICS, LEVELS, PRECISION_AT_FPR, ModelResult

TITLES = {
    "accuracy": "acc",
    "precision": "prec",
    "recall": "rec",
    "f1": "F1",
    "roc_auc": "ROC",
    "pr_auc": "PR",
    PRECISION_AT_FPR: "P@1%",
}
UNDEFINED = "n/a"
LEGEND = (
    "n: test device-windows or edges (anomalous); ROC, PR: ROC-AUC, PR-AUC (average precision); "
    "P@1%: precision at 1 % false-positive rate; n/a: undefined, reasons below"
)


@dataclass(frozen=True)
class Comparison:
    """The best graph model and the best flat model of one (split, network, level) by one metric."""

    split: str
    dataset: str
    trained_on: str
    level: str
    metric: str
    graph_model: str | None
    graph_value: float | None
    flat_model: str | None
    flat_value: float | None

    @property
    def margin(self) -> float | None:
        """Best graph value minus best flat value; positive when a graph model wins."""
        if self.graph_value is None or self.flat_value is None:
            return None
        # Rounded so that two PR-AUCs of 1.0 computed along different paths differ by 0, not 2e-16.
        return round(self.graph_value - self.flat_value, 6)

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "dataset": self.dataset,
            "trained_on": self.trained_on,
            "level": self.level,
            "metric": self.metric,
            "best_graph_model": self.graph_model,
            "best_graph_value": self.graph_value,
            "best_flat_model": self.flat_model,
            "best_flat_value": self.flat_value,
            "margin": self.margin,
        }


def compare(results: Sequence[ModelResult], *, metric: str = "pr_auc") -> list[Comparison]:
    """Return, per (split, test network, training network, level), the best graph and the best flat model."""
    groups: dict[tuple[str, str, str, str], list[tuple[ModelResult, float]]] = {}
    for result in results:
        for level in LEVELS:
            value = result.level(level).value(metric)
            key = (result.split, result.dataset, result.trained_on, level)
            groups.setdefault(key, [])
            if value is not None:
                groups[key].append((result, value))
    comparisons = []
    for (split, dataset, trained_on, level), scored in groups.items():
        graph = max(((r.model, v) for r, v in scored if r.graph), key=lambda item: item[1], default=(None, None))
        flat = max(((r.model, v) for r, v in scored if not r.graph), key=lambda item: item[1], default=(None, None))
        comparisons.append(Comparison(split, dataset, trained_on, level, metric, graph[0], graph[1], flat[0], flat[1]))
    return comparisons


def _cell(result: ModelResult, level: str, name: str) -> str:
    metric = result.level(level).metrics.get(name)
    if metric is None or metric.value is None:
        return UNDEFINED
    return f"{metric.value:.3f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def undefined_reasons(results: Sequence[ModelResult]) -> dict[str, list[str]]:
    """Return each reason for an undefined metric with the ``model split/level: metrics`` it applies to."""
    reasons: dict[str, list[str]] = {}
    for result in results:
        for level in LEVELS:
            missing: dict[str, list[str]] = {}
            for name in EVALUATION_METRICS:
                metric = result.level(level).metrics.get(name)
                if metric is not None and metric.value is None:
                    missing.setdefault(metric.undefined or "undefined", []).append(TITLES[name])
            for reason, names in missing.items():
                reasons.setdefault(reason, []).append(f"{result.model} {result.split}/{level}: {', '.join(names)}")
    return reasons


def _groups(results: Sequence[ModelResult]) -> dict[tuple[str, str, str], list[ModelResult]]:
    groups: dict[tuple[str, str, str], list[ModelResult]] = {}
    for result in results:
        groups.setdefault((result.split, result.trained_on, result.dataset), []).append(result)
    return groups


def _title(split: str, trained_on: str, dataset: str, level: str) -> str:
    if split == "transfer":
        return f"trained on {trained_on}, tested on {dataset} ({level} level)"
    return f"{dataset}, {split} split ({level} level)"


def _header(level: str) -> list[str]:
    del level  # both levels share the columns; the title names the level
    return ["model", "GNN", "n (anom)"] + [TITLES[name] for name in EVALUATION_METRICS] + ["fit s", "score s"]


def _row(result: ModelResult, level: str) -> list[str]:
    metrics = result.level(level)
    counts = f"{metrics.device_windows} ({metrics.anomalous})" if result.skipped is None else "-"
    return (
        [result.model, "yes" if result.graph else "no", counts]
        + [_cell(result, level, name) for name in EVALUATION_METRICS]
        + [_seconds(result.train_seconds), _seconds(result.score_seconds)]
    )


def result_tables(results: Sequence[ModelResult]) -> list[Table]:
    """Return one rich table per (split, network, level), one row per model."""
    tables = []
    for (split, trained_on, dataset), members in _groups(results).items():
        for level in LEVELS:
            table = Table(title=_title(split, trained_on, dataset, level), caption=LEGEND, box=box.SIMPLE_HEAD)
            for column in _header(level):
                table.add_column(column, overflow="fold")
            for result in members:
                table.add_row(*_row(result, level))
            tables.append(table)
    return tables


def _matrix_cells(results: Sequence[ModelResult], level: str) -> tuple[list[str], list[str], dict[str, dict[tuple[str, str], str]]]:
    trained = sorted({r.trained_on for r in results})
    tested = sorted({r.dataset for r in results})
    cells: dict[str, dict[tuple[str, str], str]] = {}
    for result in results:
        roc, pr = _cell(result, level, "roc_auc"), _cell(result, level, "pr_auc")
        cells.setdefault(result.model, {})[(result.trained_on, result.dataset)] = f"{roc} / {pr}"
    return trained, tested, cells


def matrix_tables(results: Sequence[ModelResult]) -> list[Table]:
    """Return per model and level a train × test table whose cells read ``ROC-AUC / PR-AUC``."""
    tables = []
    for level in LEVELS:
        trained, tested, cells = _matrix_cells(results, level)
        for model, values in cells.items():
            table = Table(title=f"{model}, {level} level: ROC-AUC / PR-AUC (rows train, columns test)")
            table.add_column("train \\ test")
            for name in tested:
                table.add_column(name, overflow="fold")
            for row in trained:
                table.add_row(row, *[values.get((row, column), "-") for column in tested])
            tables.append(table)
    return tables


def comparison_table(comparisons: Sequence[Comparison]) -> Table:
    """Return the best graph model against the best flat model per network, split and level."""
    table = Table(title=f"best graph model against best flat model ({comparisons[0].metric if comparisons else 'pr_auc'})")
    for column in ("split", "trained on", "tested on", "level", "best graph", "best flat", "graph - flat"):
        table.add_column(column, overflow="fold")
    for item in comparisons:
        margin = "-" if item.margin is None else f"{item.margin:+.3f}"
        graph = "-" if item.graph_model is None else f"{item.graph_model} {item.graph_value:.3f}"
        flat = "-" if item.flat_model is None else f"{item.flat_model} {item.flat_value:.3f}"
        table.add_row(item.split, item.trained_on, item.dataset, item.level, graph, flat, margin)
    return table


def results_json(results: Sequence[ModelResult], *, settings: dict[str, Any] | None = None) -> str:
    """Return every metric of every model as JSON, with the graph-against-flat comparisons."""
    document = {
        "settings": settings or {},
        "results": [result.to_dict() for result in results],
        "comparisons": [item.to_dict() for item in compare(results)],
    }
    return json.dumps(document, indent=2)


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def markdown_report(results: Sequence[ModelResult], *, title: str = "Evaluation", command: str | None = None) -> str:
    """Return the evaluation as Markdown: tables per split and level, matrices for transfer, reasons for n/a."""
    lines = [f"# {title}", ""]
    if command:
        lines += ["Produced by:", "", f"    {command}", ""]
    lines += [LEGEND + ".", ""]
    transfer = [r for r in results if r.split == "transfer"]
    if len({(r.trained_on, r.dataset) for r in transfer}) > 1:
        lines += ["## Cross-network matrices", "", "Cells read ROC-AUC / PR-AUC; rows are training networks, columns test networks.", ""]
        for level in LEVELS:
            trained, tested, cells = _matrix_cells(transfer, level)
            for model, values in cells.items():
                lines += [f"### {model}, {level} level", ""]
                rows = [[row] + [values.get((row, column), "-") for column in tested] for row in trained]
                lines += _markdown_table(["train \\ test"] + tested, rows) + [""]
    else:
        for (split, trained_on, dataset), members in _groups(results).items():
            for level in LEVELS:
                lines += [f"## {_title(split, trained_on, dataset, level)}", ""]
                lines += _markdown_table(_header(level), [_row(result, level) for result in members]) + [""]

    lines += ["## Best graph model against best flat model (PR-AUC)", ""]
    rows = []
    for item in compare(results):
        graph = "-" if item.graph_model is None else f"{item.graph_model} {item.graph_value:.3f}"
        flat = "-" if item.flat_model is None else f"{item.flat_model} {item.flat_value:.3f}"
        rows.append([item.split, item.trained_on, item.dataset, item.level, graph, flat, "-" if item.margin is None else f"{item.margin:+.3f}"])
    lines += _markdown_table(["split", "trained on", "tested on", "level", "best graph", "best flat", "graph - flat"], rows) + [""]

    reasons = undefined_reasons(results)
    if reasons:
        lines += [f"## Why some metrics are {UNDEFINED}", ""]
        for reason, where in reasons.items():
            shown = "; ".join(where[:6]) + (f"; and {len(where) - 6} more" if len(where) > 6 else "")
            lines.append(f"- {reason} ({shown})")
        lines.append("")
    return "\n".join(lines)


def plot_pr_curves(results: Sequence[ModelResult], path: str | Path) -> Path:
    """Draw the precision-recall curve of every model on one figure: one panel per split and level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    panels = list(dict.fromkeys((r.split, r.trained_on, r.dataset) for r in results))
    # tab20 gives each of up to 20 models its own colour; graph models draw solid lines, flat ones dashed.
    colours = {name: plt.cm.tab20(i % 20) for i, name in enumerate(dict.fromkeys(r.model for r in results))}
    figure, axes = plt.subplots(len(panels), len(LEVELS), figsize=(6 * len(LEVELS), 4.5 * len(panels)), squeeze=False)
    for row, (split, trained_on, dataset) in enumerate(panels):
        for column, level in enumerate(LEVELS):
            axis = axes[row][column]
            for result in results:
                if (result.split, result.trained_on, result.dataset) != (split, trained_on, dataset) or level not in result.curves:
                    continue
                labels, scores = result.curves[level]
                known = labels >= 0
                if len(np.unique(labels[known])) < 2:
                    continue
                precision, recall, _ = precision_recall_curve(labels[known], scores[known])
                value = result.level(level).value("pr_auc")
                axis.step(recall, precision, where="post", linestyle="-" if result.graph else "--",
                          color=colours[result.model], label=f"{result.model} ({value:.3f})")  # fmt: skip
            axis.set_title(_title(split, trained_on, dataset, level), fontsize=9)
            axis.set_xlabel("recall")
            axis.set_ylabel("precision")
            axis.set_xlim(0, 1)
            axis.set_ylim(0, 1.02)
            if axis.lines:
                axis.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
