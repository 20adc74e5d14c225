"""Feature standardisation and its saved form."""

from __future__ import annotations

import numpy as np
import pytest

from ml.scaling import FeatureScaler


def test_fit_mean_and_scale():
    scaler = FeatureScaler.fit(np.array([[1.0, 5.0], [3.0, 5.0]]), features=("a", "b"))
    assert scaler.mean.tolist() == [2.0, 5.0]
    assert scaler.scale.tolist() == [1.0, 1.0]


def test_transform_values():
    scaler = FeatureScaler.fit(np.array([[0.0], [4.0]]), features=("a",))
    assert scaler.transform(np.array([[6.0]])).tolist() == [[2.0]]


def test_constant_feature_only_shifts():
    scaler = FeatureScaler.fit(np.array([[7.0], [7.0]]), features=("a",))
    assert scaler.transform(np.array([[8.0]])).tolist() == [[1.0]]


def test_round_trip_dict():
    scaler = FeatureScaler.fit(np.array([[1.0, 2.0], [3.0, 8.0]]), features=("a", "b"))
    again = FeatureScaler.from_dict(scaler.to_dict())
    assert again.features == ("a", "b")
    assert again.mean.tolist() == scaler.mean.tolist()
    assert again.scale.tolist() == scaler.scale.tolist()


def test_column_mismatch_rejected():
    scaler = FeatureScaler.fit(np.array([[1.0, 2.0]]), features=("a", "b"))
    with pytest.raises(ValueError, match="differ from the scaler's"):
        scaler.transform(np.array([[1.0, 2.0]]), features=("b", "a"))


def test_empty_fit_identity():
    scaler = FeatureScaler.fit(np.zeros((0, 2)), features=("a", "b"))
    assert scaler.transform(np.array([[3.0, 4.0]])).tolist() == [[3.0, 4.0]]
