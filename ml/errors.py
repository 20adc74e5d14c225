"""Errors raised by training, the model registry and scoring.

    ModelError
    ├── DeviceUnavailableError   ``--device cuda`` on a machine without CUDA
    ├── ModelNotFoundError       no saved model matches a version id or ``latest[:kind]``
    ├── FeatureMismatchError     a saved model's feature list differs from ``FEATURES``
    ├── NotFittedError           a detector asked to score before ``fit`` or ``load_model``
    └── TrainingDataError        the windows lack what a model needs (labels, both classes)
"""

from __future__ import annotations

from collections.abc import Sequence


class ModelError(Exception):
    """Base class of every error the ``ml`` package raises on purpose."""


class DeviceUnavailableError(ModelError):
    pass


class ModelNotFoundError(ModelError):
    pass


class NotFittedError(ModelError):
    pass


class TrainingDataError(ModelError):
    pass


class FeatureMismatchError(ModelError):
    """A saved model expects other features than this version computes."""

    def __init__(self, version: str, *, saved: Sequence[str], current: Sequence[str]) -> None:
        self.version = version
        self.missing = [name for name in current if name not in saved]
        self.unknown = [name for name in saved if name not in current]
        parts = []
        if self.missing:
            parts.append(f"features this version computes but the model lacks: {', '.join(self.missing)}")
        if self.unknown:
            parts.append(f"features the model expects but this version does not compute: {', '.join(self.unknown)}")
        if not parts:
            parts.append("the model lists the same features in a different order")
        super().__init__(
            f"model {version} was trained on other features than this version computes ({'; '.join(parts)}); "
            "train a new model with `iotgraph train`"
        )
