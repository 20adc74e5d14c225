"""Graph anomaly detectors and the registry of their kinds."""

from __future__ import annotations

from typing import Any

from ml.models.base import GraphDetector
from ml.models.gae import GAEDetector
from ml.models.gcn import GCNDetector

DETECTORS: dict[str, type[GraphDetector]] = {"gae": GAEDetector, "gcn": GCNDetector}


def detector_class(kind: str) -> type[GraphDetector]:
    """Return the detector class of a kind name such as ``gcn`` or ``gae``."""
    try:
        return DETECTORS[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}: expected one of {', '.join(sorted(DETECTORS))}") from None


def make_detector(kind: str, **options: Any) -> GraphDetector:
    """Create an unfitted detector of ``kind`` with keyword options of its constructor."""
    return detector_class(kind)(**options)


__all__ = ["DETECTORS", "GAEDetector", "GCNDetector", "GraphDetector", "detector_class", "make_detector"]
