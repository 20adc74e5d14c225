"""PNG pictures of a scored window or of a device's neighbourhood.

Red nodes are predicted anomalous, green ones normal, grey ones unscored; a
node's area grows with its anomaly score, and edge width with the flows the
pair exchanged.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: the CLI and the worker run without a display

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import networkx as nx  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from graphdb.model import DeviceScore  # noqa: E402
from graphdb.store import GraphStore  # noqa: E402

logger = logging.getLogger(__name__)

ANOMALOUS = "#d62728"
NORMAL = "#2ca02c"
UNSCORED = "#b0b0b0"


@dataclass
class PlotSummary:
    path: Path
    nodes: int
    edges: int
    anomalous: int
    hidden_nodes: int


def plot_window(store: GraphStore, window_start: float, out: Path, *, max_nodes: int = 150) -> PlotSummary:
    """Draw one window: its highest-scored devices and the devices they talk to."""
    graph = store.export_window(window_start)
    ids = graph.devices["id"].tolist()
    scores = store.scores_for(ids, window_start)

    # Keep the most suspicious devices first, then their peers, so a large
    # window still shows where the anomalies sit.
    ranked = sorted(ids, key=lambda i: -(scores[i].score if i in scores else -1.0))
    keep: list[str] = []
    adjacency: dict[str, set[str]] = {}
    for src, dst in zip(graph.edges["src"], graph.edges["dst"]):
        adjacency.setdefault(src, set()).add(dst)
        adjacency.setdefault(dst, set()).add(src)
    for device in ranked:
        if len(keep) >= max_nodes:
            break
        if device not in keep:
            keep.append(device)
        for peer in sorted(adjacency.get(device, ())):
            if len(keep) >= max_nodes:
                break
            if peer not in keep:
                keep.append(peer)
    kept = set(keep)

    g = nx.DiGraph()
    g.add_nodes_from(keep)
    for row in graph.edges.itertuples(index=False):
        if row.src in kept and row.dst in kept:
            g.add_edge(row.src, row.dst, flows=int(row.flows))
    title = f"window {_utc(window_start)} UTC ({graph.window.devices} devices, {graph.window.flows} flows)"
    return _draw(g, scores, out, title=title, hidden=len(ids) - len(keep))


def plot_neighbourhood(
    store: GraphStore,
    device_id: str,
    out: Path,
    *,
    hops: int = 1,
    window_start: float | None = None,
    max_nodes: int = 150,
) -> PlotSummary:
    """Draw a device's neighbourhood, in one window or over all windows."""
    sub = store.neighborhood(device_id, hops=hops, since=window_start, until=window_start, limit=max_nodes)
    ids = [node.id for node in sub.nodes]
    scores = store.scores_for(ids, window_start)
    g = nx.DiGraph()
    g.add_nodes_from(ids)
    for edge in sub.edges:
        flows = g.edges[edge.src, edge.dst]["flows"] + edge.flows if g.has_edge(edge.src, edge.dst) else edge.flows
        g.add_edge(edge.src, edge.dst, flows=flows)
    scope = "all windows" if window_start is None else f"window {_utc(window_start)} UTC"
    title = f"{hops}-hop neighbourhood of {device_id}, {scope}" + (" (truncated)" if sub.truncated else "")
    return _draw(g, scores, out, title=title, hidden=0, focus=device_id)


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _draw(
    g: nx.DiGraph,
    scores: dict[str, DeviceScore],
    out: Path,
    *,
    title: str,
    hidden: int,
    focus: str | None = None,
) -> PlotSummary:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nodes = list(g.nodes)
    colours, sizes = [], []
    anomalous = 0
    for node in nodes:
        score = scores.get(node)
        if score is None:
            colours.append(UNSCORED)
            sizes.append(80.0)
            continue
        if score.predicted:
            anomalous += 1
        colours.append(ANOMALOUS if score.predicted else NORMAL)
        sizes.append(80.0 + 1500.0 * float(score.score))

    figure, axes = plt.subplots(figsize=(12, 9), dpi=110)
    positions = nx.spring_layout(g, seed=7, k=1.6 / math.sqrt(max(len(nodes), 1)))
    widths = [0.4 + math.log1p(data["flows"]) * 0.5 for _, _, data in g.edges(data=True)]
    nx.draw_networkx_edges(g, positions, ax=axes, width=widths, alpha=0.35, arrows=True, arrowsize=8, edge_color="#555555")
    nx.draw_networkx_nodes(g, positions, ax=axes, node_color=colours, node_size=sizes, edgecolors="#222222", linewidths=0.6)

    # Label every node of a small picture; in a large one only the suspicious
    # nodes and the focus, so the labels stay readable.
    if len(nodes) <= 40:
        labelled = nodes
    else:
        labelled = [n for n in nodes if (n in scores and scores[n].predicted) or n == focus]
        labelled += sorted((n for n in nodes if n in scores and n not in labelled), key=lambda n: -scores[n].score)[:15]
    labels = {node: node for node in labelled}
    nx.draw_networkx_labels(
        g, positions, labels=labels, ax=axes, font_size=8, bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 0.5}
    )

    legend = [
        Line2D([0], [0], marker="o", color="w", markerfacecolor=ANOMALOUS, markersize=10, label="predicted anomalous"),
        Line2D([0], [0], marker="o", color="w", markerfacecolor=NORMAL, markersize=10, label="predicted normal"),
        Line2D([0], [0], marker="o", color="w", markerfacecolor=UNSCORED, markersize=10, label="not scored"),
    ]
    axes.legend(handles=legend, loc="lower left", frameon=True, fontsize=9, title="node size = anomaly score")
    subtitle = f"{len(nodes)} devices shown" + (f", {hidden} more hidden" if hidden else "")
    axes.set_title(f"{title}\n{subtitle}", fontsize=11)
    axes.axis("off")
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)
    logger.info("wrote %s (%d nodes, %d edges, %d predicted anomalous)", out, len(nodes), g.number_of_edges(), anomalous)
    return PlotSummary(path=out, nodes=len(nodes), edges=g.number_of_edges(), anomalous=anomalous, hidden_nodes=hidden)
