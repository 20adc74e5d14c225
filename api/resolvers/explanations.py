"""Resolver of the ``explanation`` query."""

from __future__ import annotations

import strawberry

from api.types.explanation import Explanation
from api.types.scalars import Timestamp
from api.validation import check_id, check_time


async def resolve_explanation(
    info: strawberry.Info,
    device_id: strawberry.ID,
    window: Timestamp | None = None,
) -> Explanation | None:
    """The stored reasons of a device's score in a window; the latest explained window when window is null."""
    device = check_id(str(device_id), argument="deviceId")
    check_time(window, argument="window")
    found = await info.context.store(lambda store: store.explanation(device, window))
    return None if found is None else Explanation.from_record(found)
