"""Standardisation of device features with statistics fitted on training windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# A feature whose standard deviation is below this is constant in the
# training windows; dividing by it would blow rounding noise up to large values.
_MIN_SCALE = 1e-12


@dataclass
class FeatureScaler:
    """Per-feature mean and standard deviation (population, ``ddof=0``).

    ``transform`` maps a value ``v`` to ``(v - mean) / scale``; a feature that
    was constant in training gets scale 1, so it only shifts.
    """

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, *, features: Sequence[str]) -> FeatureScaler:
        """Fit on a [device-windows, features] matrix; an empty matrix gives the identity scaling."""
        matrix = np.asarray(values, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(features):
            raise ValueError(f"invalid feature matrix of shape {matrix.shape}: expected [rows, {len(features)}]")
        if matrix.shape[0] == 0:
            return cls(tuple(features), np.zeros(len(features)), np.ones(len(features)))
        scale = matrix.std(axis=0)
        scale[scale < _MIN_SCALE] = 1.0
        return cls(tuple(features), matrix.mean(axis=0), scale)

    def transform(self, values: np.ndarray, *, features: Sequence[str] | None = None) -> np.ndarray:
        """Standardise a [rows, features] matrix whose columns are ``features`` (default: the fitted ones)."""
        if features is not None and tuple(features) != self.features:
            raise ValueError(
                f"feature columns {list(features)} differ from the scaler's {list(self.features)}; "
                "compute features with the list the model was trained on"
            )
        matrix = np.asarray(values, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.features):
            raise ValueError(f"invalid feature matrix of shape {matrix.shape}: expected [rows, {len(self.features)}]")
        return (matrix - self.mean) / self.scale

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureScaler:
        features = tuple(data["features"])
        mean = np.asarray(data["mean"], dtype=np.float64)
        scale = np.asarray(data["scale"], dtype=np.float64)
        if mean.shape != (len(features),) or scale.shape != (len(features),):
            raise ValueError(f"invalid scaler: {len(features)} features but {mean.shape} means and {scale.shape} scales")
        return cls(features, mean, scale)
