"""Export of windows to DGL graphs, built from the tensors of the PyG export.

DGL 2.1.0, the newest DGL release with a Python 3.11 wheel, loads only with
torch 2.2.1 or older, while the main environment pins a newer torch. DGL
therefore lives in its own environment (``make test-dgl`` builds
``.venv-dgl``), and this module imports ``dgl`` only when a function needs it.
Without DGL, each function raises ``DGLUnavailableError`` saying how to
install it.

``to_dgl`` calls ``to_pyg`` and builds the graph from its tensors, so the
two exports cannot drift apart. Node ``i`` and edge ``j`` of the DGL graph
are node ``i`` and edge ``j`` of the ``Data`` object, including the reverse
edges that the PyG export adds for every edge that is not a self-loop:

- ``ndata["feat"]``: float32 [N, len(FEATURES)], ``Data.x``.
- ``ndata["label"]``: int64 [N], ``Data.y`` (1 anomalous, 0 normal, -1 unknown).
- ``ndata["window_index"]``: int64 [N], ``Data.window_index``.
- ``edata["feat"]``: float32 [E, len(EDGE_FEATURES)], ``Data.edge_attr``.
- ``edata["label"]``: int64 [E], ``Data.edge_label``.
- ``edata["reverse"]``: bool [E], ``Data.edge_reverse``, True on the added reverse edges.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

import torch
from torch_geometric.data import Data

from graphdb.model import WindowGraph
from ml.errors import ModelError
from ml.export import to_pyg, to_pyg_batch
from ml.scaling import FeatureScaler

if TYPE_CHECKING:
    import dgl

logger = logging.getLogger(__name__)

DGL_VERSION = "2.1.0"
DGL_TORCH_VERSION = "2.2.1"
INSTALL_HINT = (
    f"DGL {DGL_VERSION} needs torch {DGL_TORCH_VERSION}, so it has its own environment. "
    "Run `make test-dgl` to build .venv-dgl, then run iotgraph from .venv-dgl/bin (see docs/dgl.md)"
)


class DGLUnavailableError(ModelError, ImportError):
    """DGL cannot be imported in this environment: it is missing or does not match the installed torch."""


def import_dgl() -> ModuleType:
    """Import and return the ``dgl`` module, or raise DGLUnavailableError with the install steps."""
    try:
        import dgl
    # DGL raises FileNotFoundError, an OSError, when it has no native library for the installed torch.
    except (ImportError, OSError) as error:
        raise DGLUnavailableError(
            f"cannot import dgl with torch {torch.__version__} ({type(error).__name__}: {error}). {INSTALL_HINT}"
        ) from error
    return dgl


def to_dgl(
    graph: WindowGraph,
    *,
    scaler: FeatureScaler | None = None,
    label_rule: str = "originator",
) -> tuple[dgl.DGLGraph, list[str]]:
    """Export one window as a DGL graph and return it with its node order of device ids.

    The node order, features, labels and edges are those of
    ``to_pyg(graph, scaler=scaler, label_rule=label_rule)``.
    """
    import_dgl()
    data, device_ids = to_pyg(graph, scaler=scaler, label_rule=label_rule)
    return data_to_dgl(data), device_ids


def to_dgl_batch(
    graphs: Sequence[WindowGraph],
    *,
    scaler: FeatureScaler | None = None,
    label_rule: str = "originator",
) -> tuple[dgl.DGLGraph, list[str]]:
    """Export several windows as one DGL graph of disjoint components, laid out as ``to_pyg_batch`` does."""
    import_dgl()
    data, device_ids = to_pyg_batch(graphs, scaler=scaler, label_rule=label_rule)
    return data_to_dgl(data), device_ids


def data_to_dgl(data: Data) -> dgl.DGLGraph:
    """Build a DGL graph on ``data``'s device from an exported ``Data`` object, sharing its tensors."""
    dgl_module = import_dgl()
    src, dst = data.edge_index
    graph = dgl_module.graph((src, dst), num_nodes=int(data.num_nodes), idtype=torch.int64, device=data.x.device)

    graph.ndata["feat"] = data.x
    graph.ndata["label"] = data.y
    graph.ndata["window_index"] = data.window_index
    graph.edata["feat"] = data.edge_attr
    graph.edata["label"] = data.edge_label
    graph.edata["reverse"] = data.edge_reverse
    logger.debug("built a DGL graph of %d nodes and %d edges", graph.num_nodes(), graph.num_edges())
    return graph
