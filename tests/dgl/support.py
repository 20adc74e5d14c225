"""Skip marker of the tests that need DGL, which lives in its own environment."""

from __future__ import annotations

import pytest
import torch

from ml.dgl_export import DGL_TORCH_VERSION, DGL_VERSION, DGLUnavailableError, import_dgl

# Devices of the hand-built window in conftest.hand_graph.
A, B, C, D = "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"


def dgl_import_error() -> str | None:
    """Return why ``dgl`` cannot be imported here, or None when it can."""
    try:
        import_dgl()
    except DGLUnavailableError as error:
        return f"{error.__cause__!r} with torch {torch.__version__}"
    return None


DGL_IMPORT_ERROR = dgl_import_error()

requires_dgl = pytest.mark.skipif(
    DGL_IMPORT_ERROR is not None,
    reason=f"needs dgl {DGL_VERSION} with torch {DGL_TORCH_VERSION} (`make test-dgl` builds .venv-dgl); found {DGL_IMPORT_ERROR}",
)
