"""Feature values relative to the other devices of the same window.

Captures differ in size and traffic volume, so one raw value (say 500
flows in a window) can be ordinary in one network and extreme in another.
Relative to its own window a scanner still stands out, so features
expressed against the window's devices can transfer across networks where
raw values do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURE_SCALINGS = ("global", "window")

# 1.4826 × MAD estimates the standard deviation of normally distributed data.
# When more than half the values tie, MAD is 0, and sqrt(pi / 2) × the mean
# absolute deviation estimates it instead.
_MAD_FACTOR = 1.4826
_MEAN_AD_FACTOR = 1.2533


def robust_z(features: pd.DataFrame) -> pd.DataFrame:
    """Return each device's robust z-score per feature against the devices of the same frame.

    ``z = (value - median) / (1.4826 × MAD)``. A feature on which more than
    half the devices tie has MAD 0, so its scale falls back to the mean absolute
    deviation, and a feature on which all devices are equal gets z = 0.
    """
    values = features.to_numpy(dtype=np.float64)
    if len(values) == 0:
        return features.copy()
    median = np.median(values, axis=0)
    deviation = np.abs(values - median)
    scale = _MAD_FACTOR * np.median(deviation, axis=0)
    fallback = _MEAN_AD_FACTOR * deviation.mean(axis=0)
    scale = np.where(scale > 0, scale, fallback)
    z = np.divide(values - median, scale, out=np.zeros_like(values), where=scale > 0)
    return pd.DataFrame(z, index=features.index, columns=features.columns)


def scale_within_window(features: pd.DataFrame) -> pd.DataFrame:
    """Replace every value by ``sign(z) × log1p(|z|)`` of its robust z-score within the window.

    The signed logarithm keeps the order of the z-scores but bounds a lone
    scanner's z of several thousand to about 8, so that one device does not
    dominate a standardisation fitted later on the same values.
    """
    z = robust_z(features)
    return pd.DataFrame(np.sign(z.to_numpy()) * np.log1p(np.abs(z.to_numpy())), index=features.index, columns=features.columns)


def check_feature_scaling(name: str) -> str:
    """Return ``name`` when it is a known feature scaling, else raise ValueError naming the choices."""
    if name not in FEATURE_SCALINGS:
        raise ValueError(f"invalid feature scaling {name!r}: expected one of {', '.join(FEATURE_SCALINGS)}")
    return name


def scale_edges_within_window(edge_attr: np.ndarray, *, keep_last: int = 1) -> np.ndarray:
    """Scale edge attribute columns like ``scale_within_window``, over the edges of one window.

    The last ``keep_last`` columns are indicators (the reverse-edge flag) and stay as they are.
    """
    values = np.asarray(edge_attr, dtype=np.float64)
    if len(values) == 0:
        return values
    scaled = values.copy()
    columns = values.shape[1] - keep_last
    z = robust_z(pd.DataFrame(values[:, :columns])).to_numpy()
    scaled[:, :columns] = np.sign(z) * np.log1p(np.abs(z))
    return scaled
