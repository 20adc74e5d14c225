"""Resolver of the ``windows`` query."""

from __future__ import annotations

import strawberry

from api.types.scalars import Timestamp
from api.types.window import Window
from api.validation import check_range


async def resolve_windows(
    info: strawberry.Info,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
) -> list[Window]:
    """Windows whose start lies in [since, until], oldest first."""
    check_range(since, until)
    windows = await info.context.store(lambda store: store.windows(since, until))
    return [Window.from_record(window) for window in windows]
