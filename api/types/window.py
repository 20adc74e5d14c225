"""The ``Window`` type: one time window of the device graph."""

from __future__ import annotations

import strawberry

from api.types.scalars import BigInt, Timestamp
from graphdb.model import Window as WindowRecord


@strawberry.type(description="A time window [start, end) of aggregated flows, identified by its start.")
class Window:
    start: Timestamp
    end: Timestamp
    flows: BigInt = strawberry.field(description="Flows that started in the window.")
    devices: int = strawberry.field(description="Devices that sent or received a flow in the window.")
    edges: int = strawberry.field(description="COMMUNICATED edges (device pairs) of the window.")
    status: str = strawberry.field(description="open, or scored once a model scored it.")
    scored_at: Timestamp | None
    model_version: str | None = strawberry.field(description="Model version of the window's current scores.")

    @classmethod
    def from_record(cls, window: WindowRecord) -> Window:
        return cls(
            start=Timestamp(window.start),
            end=Timestamp(window.end),
            flows=BigInt(window.flows),
            devices=window.devices,
            edges=window.edges,
            status=window.status,
            scored_at=None if window.scored_at is None else Timestamp(window.scored_at),
            model_version=window.model_version,
        )
