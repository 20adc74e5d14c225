"""Limits that bound the work one request can ask for.

Document limits (depth, aliases, tokens) reject a query before it runs.
Argument limits (page size, hops, neighbourhood nodes) reject it when a
resolver starts. The request time limit is applied by the GraphQL router.
Every message names the limit, its value and the setting that changes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension

from api.errors import InputError, LimitError
from api.settings import Settings


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    max_page_size: int
    max_hops: int
    neighborhood_limit: int
    max_neighborhood_limit: int
    request_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_page_size=settings.max_page_size,
            max_hops=settings.max_hops,
            neighborhood_limit=settings.neighborhood_limit,
            max_neighborhood_limit=settings.max_neighborhood_limit,
            request_timeout=settings.request_timeout,
        )

    def page_size(self, value: int, *, argument: str) -> int:
        """Return a list size unchanged; raise when it is below 1 or above the page size limit."""
        if value < 1:
            raise InputError(f"invalid {argument} {value}: it must be at least 1")
        if value > self.max_page_size:
            raise LimitError(
                f"{argument} {value} exceeds the page size limit of {self.max_page_size} (IOTGRAPH_MAX_PAGE_SIZE); "
                "request fewer items and page with after/endCursor"
            )
        return value

    def hops(self, value: int) -> int:
        if value < 1:
            raise InputError(f"invalid hops {value}: it must be at least 1")
        if value > self.max_hops:
            raise LimitError(f"hops {value} exceeds the hops limit of {self.max_hops} (IOTGRAPH_MAX_HOPS)")
        return value

    def neighborhood_nodes(self, value: int | None) -> int:
        """Return the node limit of a neighbourhood query, the default when None."""
        if value is None:
            return self.neighborhood_limit
        if value < 1:
            raise InputError(f"invalid limit {value}: it must be at least 1")
        if value > self.max_neighborhood_limit:
            raise LimitError(
                f"limit {value} exceeds the neighborhood node limit of {self.max_neighborhood_limit} "
                "(IOTGRAPH_MAX_NEIGHBORHOOD_LIMIT); narrow the time range or lower hops"
            )
        return value

    def document_extensions(self) -> list[Callable[[], SchemaExtension]]:
        """Return factories of the Strawberry extensions that enforce the depth, alias and token limits.

        Factories, not instances, so that every request gets fresh extension state.
        """
        return [
            partial(QueryDepthLimiter, max_depth=self.max_depth),
            partial(MaxAliasesLimiter, max_alias_count=self.max_aliases),
            partial(MaxTokensLimiter, max_token_count=self.max_tokens),
        ]
