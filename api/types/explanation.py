"""The ``Explanation`` type: the stored reasons behind one device score.

The reasons are the dict ``ml.explain.explain_devices`` writes: ``features``
(largest robust z-scores), ``neighbours`` (score change when a neighbour's
edges are removed), ``edges`` (busiest edges) and ``previous_window``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import strawberry
from strawberry.scalars import JSON

from api.types.scalars import BigInt, Timestamp
from graphdb.model import Explanation as ExplanationRecord


@strawberry.type(description="How far one feature of the device lay from the window's devices.")
class FeatureDeviation:
    name: str
    value: float | None = strawberry.field(description="The device's value, in natural units (flows, bytes, seconds, shares).")
    median: float | None = strawberry.field(description="The feature's median over the window's devices.")
    z: float | None = strawberry.field(description="Robust z-score (value - median) / (1.4826 × MAD), on the model's feature scale.")
    previous: float | None = strawberry.field(description="The device's value in previousWindow, when it was seen there.")


@strawberry.type(description="A neighbour whose edges changed the device's score.")
class NeighbourInfluence:
    device_id: strawberry.ID
    influence: float | None = strawberry.field(description="Score minus the score without this neighbour's edges; positive means it raised the score.")


@strawberry.type(description="One of the device's busiest edges in the window.")
class ExplainedEdge:
    source: strawberry.ID
    target: strawberry.ID
    flows: BigInt | None
    bytes_out: BigInt | None
    malicious_flows: BigInt | None


@strawberry.type(description="Why a device got its score in one window, as the scoring model stored it.")
class Explanation:
    device_id: strawberry.ID
    window: Timestamp
    score: float
    model_version: str
    previous_window: Timestamp | None = strawberry.field(description="The device's previous window, which FeatureDeviation.previous comes from.")
    features: list[FeatureDeviation] = strawberry.field(description="Features with the largest |z| first.")
    neighbours: list[NeighbourInfluence] = strawberry.field(description="Neighbours with the largest |influence| first.")
    edges: list[ExplainedEdge] = strawberry.field(description="Busiest edges first.")
    reasons: JSON = strawberry.field(description="The stored reasons unchanged, including fields the typed lists leave out.")

    @classmethod
    def from_record(cls, explanation: ExplanationRecord) -> Explanation:
        reasons = explanation.reasons or {}
        previous_window = _number(reasons.get("previous_window"))
        return cls(
            device_id=strawberry.ID(explanation.device_id),
            window=Timestamp(explanation.window_start),
            score=float(explanation.score),
            model_version=explanation.model_version,
            previous_window=None if previous_window is None else Timestamp(previous_window),
            features=[
                FeatureDeviation(
                    name=str(entry.get("name")),
                    value=_number(entry.get("value")),
                    median=_number(entry.get("median")),
                    z=_number(entry.get("z")),
                    previous=_number(entry.get("previous")),
                )
                for entry in _entries(reasons, "features")
            ],
            neighbours=[
                NeighbourInfluence(device_id=strawberry.ID(str(entry.get("id"))), influence=_number(entry.get("influence")))
                for entry in _entries(reasons, "neighbours")
            ],
            edges=[
                ExplainedEdge(
                    source=strawberry.ID(str(entry.get("src"))),
                    target=strawberry.ID(str(entry.get("dst"))),
                    flows=_count(entry.get("flows")),
                    bytes_out=_count(entry.get("bytes_out")),
                    malicious_flows=_count(entry.get("malicious_flows")),
                )
                for entry in _entries(reasons, "edges")
            ],
            reasons=JSON(reasons),
        )


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _count(value: Any) -> BigInt | None:
    number = _number(value)
    return None if number is None else BigInt(int(number))


def _entries(reasons: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    value = reasons.get(key)
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]
