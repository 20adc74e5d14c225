"""Resolver of the ``labelDevice`` mutation."""

from __future__ import annotations

import time

import strawberry

from api.auth import Role
from api.types.device import AnalystLabel, Device
from api.validation import check_id, check_note


async def resolve_label_device(
    info: strawberry.Info,
    id: strawberry.ID,  # noqa: A002  # the GraphQL argument is named id
    label: AnalystLabel,
    note: str | None = None,
) -> Device:
    """Store an analyst's verdict on a device with the caller's key id and the time. Requires the analyst role."""
    principal = info.context.require(Role.ANALYST, action="labelDevice")
    device_id = check_id(str(id), argument="id")
    checked_note = check_note(note)
    device = await info.context.store(
        lambda store: store.label_device(device_id, label.value, note=checked_note, analyst=principal.key_id, at=time.time())
    )
    return Device.from_record(device)
