"""Resolvers of the ``device`` and ``devices`` queries."""

from __future__ import annotations

import strawberry

from api.errors import InputError
from api.types.device import Device, DeviceConnection, DeviceFilter
from api.validation import check_id, check_score, decode_cursor, encode_cursor
from ingest.record import LABELS

DEFAULT_PAGE_SIZE = 50


async def resolve_device(info: strawberry.Info, id: strawberry.ID) -> Device | None:  # noqa: A002  # the GraphQL argument is named id
    """One device with its latest score and labels; null when the id is unknown."""
    device_id = check_id(str(id), argument="id")
    found = await info.context.loaders.devices.load(device_id)
    return None if found is None else Device.from_record(found)


async def resolve_devices(
    info: strawberry.Info,
    filter: DeviceFilter | None = None,  # noqa: A002  # the GraphQL argument is named filter
    first: int = DEFAULT_PAGE_SIZE,
    after: str | None = None,
) -> DeviceConnection:
    """Devices ordered by id, ``first`` per page; pass ``endCursor`` as ``after`` for the next page."""
    limit = info.context.limits.page_size(first, argument="first")
    after_id = None if after is None else decode_cursor(after)
    conditions = filter or DeviceFilter()
    check_score(conditions.min_score, argument="filter.minScore")
    if conditions.label is not None and conditions.label not in LABELS:
        raise InputError(f"invalid filter.label {conditions.label!r}: expected one of {', '.join(LABELS)}")

    # One row beyond the page shows whether another page follows.
    rows = await info.context.store(
        lambda store: store.list_devices(
            min_score=conditions.min_score,
            internal=conditions.internal,
            label=conditions.label,
            after=after_id,
            limit=limit + 1,
        )
    )
    page = rows[:limit]
    for device in page:
        info.context.loaders.devices.prime(device.id, device)
    return DeviceConnection(
        items=[Device.from_record(device) for device in page],
        end_cursor=encode_cursor(page[-1].id) if page else None,
        has_next_page=len(rows) > limit,
    )
