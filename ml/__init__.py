"""Graph machine learning on the device graph: export, detectors, training, scoring and explanations.

The names below load on first use, so ``import ml.artifacts`` or
``import ml.errors`` (the API's model listing) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ml.artifacts import ModelInfo, list_models, load_model, save_model
    from ml.errors import (
        DeviceUnavailableError,
        FeatureMismatchError,
        ModelError,
        ModelNotFoundError,
        NotFittedError,
        TrainingDataError,
    )
    from ml.export import to_pyg, to_pyg_batch
    from ml.metrics import SplitMetrics, metrics_table, metrics_to_dict
    from ml.models import GAEDetector, GCNDetector, GraphDetector
    from ml.scoring import WindowScoreSummary, score_windows
    from ml.training import TrainResult, train

_SOURCES = {
    "DeviceUnavailableError": "ml.errors",
    "FeatureMismatchError": "ml.errors",
    "GAEDetector": "ml.models",
    "GCNDetector": "ml.models",
    "GraphDetector": "ml.models",
    "ModelError": "ml.errors",
    "ModelInfo": "ml.artifacts",
    "ModelNotFoundError": "ml.errors",
    "NotFittedError": "ml.errors",
    "SplitMetrics": "ml.metrics",
    "TrainResult": "ml.training",
    "TrainingDataError": "ml.errors",
    "WindowScoreSummary": "ml.scoring",
    "list_models": "ml.artifacts",
    "load_model": "ml.artifacts",
    "metrics_table": "ml.metrics",
    "metrics_to_dict": "ml.metrics",
    "save_model": "ml.artifacts",
    "score_windows": "ml.scoring",
    "to_pyg": "ml.export",
    "to_pyg_batch": "ml.export",
    "train": "ml.training",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
