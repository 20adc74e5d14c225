"""Resolvers of the ``suspiciousDevices`` and ``scoreHistory`` queries."""

from __future__ import annotations

import strawberry

from api.types.device import Score
from api.types.scalars import Timestamp
from api.validation import check_id, check_range, check_score, check_time

DEFAULT_SUSPICIOUS_LIMIT = 20


async def resolve_suspicious_devices(
    info: strawberry.Info,
    window: Timestamp | None = None,
    min_score: float = 0.0,
    limit: int = DEFAULT_SUSPICIOUS_LIMIT,
) -> list[Score]:
    """A window's scores, highest first; the latest scored window when window is null."""
    check_time(window, argument="window")
    check_score(min_score, argument="minScore")
    size = info.context.limits.page_size(limit, argument="limit")
    scores = await info.context.store(lambda store: store.suspicious(window, min_score=min_score, limit=size))
    return [Score.from_record(score) for score in scores]


async def resolve_score_history(
    info: strawberry.Info,
    device_id: strawberry.ID,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
) -> list[Score]:
    """Every stored score of a device, oldest window first."""
    device = check_id(str(device_id), argument="deviceId")
    check_range(since, until)
    scores = await info.context.store(lambda store: store.score_history(device, since=since, until=until))
    return [Score.from_record(score) for score in scores]
