"""Graph anomaly detectors and the registry of their kinds."""

from __future__ import annotations

from typing import Any

from ml.models.base import GraphDetector
from ml.models.baseline import BaselineDetector
from ml.models.dgl_sage import DGLSAGEDetector
from ml.models.edge import EdgeDetector, EdgeGradientBoostingDetector
from ml.models.flat import GradientBoostingDetector, IsolationForestDetector, NeighbourGradientBoostingDetector
from ml.models.gae import GAEDetector
from ml.models.gat import GATDetector
from ml.models.gcn import GCNDetector
from ml.models.pygod_detectors import CoLADetector, DominantDetector
from ml.models.sage import SAGEDetector
from ml.window_scaling import check_feature_scaling

DETECTORS: dict[str, type[GraphDetector]] = {
    detector.kind: detector
    for detector in (
        GCNDetector,
        GAEDetector,
        SAGEDetector,
        GATDetector,
        IsolationForestDetector,
        GradientBoostingDetector,
        NeighbourGradientBoostingDetector,
        DominantDetector,
        CoLADetector,
        EdgeDetector,
        EdgeGradientBoostingDetector,
        BaselineDetector,
        DGLSAGEDetector,
    )
}


def detector_class(kind: str) -> type[GraphDetector]:
    """Return the detector class of a kind name such as ``gcn`` or ``gae``."""
    try:
        return DETECTORS[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}: expected one of {', '.join(sorted(DETECTORS))}") from None


def make_detector(kind: str, *, feature_scaling: str = "global", **options: Any) -> GraphDetector:
    """Create an unfitted detector of ``kind`` with keyword options of its constructor.

    ``feature_scaling`` (``global`` or ``window``) applies to every kind, see ``GraphDetector``.
    """
    detector = detector_class(kind)(**options)
    detector.feature_scaling = check_feature_scaling(feature_scaling)
    return detector


__all__ = [
    "DETECTORS",
    "BaselineDetector",
    "CoLADetector",
    "DGLSAGEDetector",
    "DominantDetector",
    "EdgeDetector",
    "EdgeGradientBoostingDetector",
    "GAEDetector",
    "GATDetector",
    "GCNDetector",
    "GradientBoostingDetector",
    "GraphDetector",
    "IsolationForestDetector",
    "NeighbourGradientBoostingDetector",
    "SAGEDetector",
    "detector_class",
    "make_detector",
]
