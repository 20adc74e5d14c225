"""Resolver of the ``resolvePseudonym`` mutation, the one API path to a real address."""

from __future__ import annotations

import logging

import strawberry

from api.auth import Role
from api.validation import check_id

logger = logging.getLogger(__name__)


async def resolve_resolve_pseudonym(info: strawberry.Info, id: strawberry.ID) -> str | None:  # noqa: A002  # the GraphQL argument is named id
    """The real address behind a device pseudonym (dev-…); null when unknown. Requires the admin role; every call is audited.

    It is a mutation, not a query, so that it is never batched into a
    read-only request or cached as one.
    """
    principal = info.context.require(Role.ADMIN, action="resolvePseudonym")
    pseudonym = check_id(str(id), argument="id")
    address = await info.context.store(lambda store: store.resolve_pseudonym(pseudonym))
    # The address itself is never logged; the audit log keeps who asked for which pseudonym.
    logger.info("request %s: key %s resolved pseudonym %s (%s)", info.context.request_id, principal.key_id, pseudonym, "found" if address else "unknown")
    return address
