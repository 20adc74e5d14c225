"""Resolver of the ``neighborhood`` query."""

from __future__ import annotations

import strawberry

from api.types.neighborhood import Neighborhood
from api.types.scalars import Timestamp
from api.validation import check_id, check_range


async def resolve_neighborhood(
    info: strawberry.Info,
    device_id: strawberry.ID,
    hops: int = 1,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    limit: int | None = None,
) -> Neighborhood:
    """Devices within ``hops`` of a device over edges whose window start lies in [since, until].

    ``limit`` caps the nodes, nearest first; it defaults to the server's
    neighbourhood limit. An unknown device is a NOT_FOUND error.
    """
    center = check_id(str(device_id), argument="deviceId")
    depth = info.context.limits.hops(hops)
    check_range(since, until)
    nodes = info.context.limits.neighborhood_nodes(limit)

    subgraph = await info.context.store(
        lambda store: store.neighborhood(center, hops=depth, since=since, until=until, limit=nodes)
    )
    for node in subgraph.nodes:
        info.context.loaders.devices.prime(node.id, node)
    return Neighborhood.from_record(center, subgraph)
