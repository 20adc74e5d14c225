"""Custom scalars: ``Timestamp`` (epoch seconds) and ``BigInt`` (counts above 2^31)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from collections.abc import Callable
from typing import NewType, TypeVar

import strawberry
from graphql import GraphQLError

Timestamp = NewType("Timestamp", float)
BigInt = NewType("BigInt", int)
T = TypeVar("T")

# JSON numbers are exact up to 2^53; larger counts would lose digits in clients.
_MAX_SAFE_INTEGER = 2**53 - 1


def parse_timestamp(value: object) -> float:
    """Parse epoch seconds (a number) or an ISO 8601 time; a time without an offset is UTC."""
    if isinstance(value, bool):
        raise ValueError(f"invalid Timestamp {value!r}: expected epoch seconds or an ISO 8601 time such as 2018-12-21T15:00:00Z")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"invalid Timestamp {value!r}: expected epoch seconds or an ISO 8601 time such as 2018-12-21T15:00:00Z"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        seconds = parsed.timestamp()
    else:
        raise ValueError(f"invalid Timestamp {value!r}: expected epoch seconds or an ISO 8601 time such as 2018-12-21T15:00:00Z")
    if not math.isfinite(seconds):
        raise ValueError(f"invalid Timestamp {value!r}: it must be finite")
    return seconds


def serialize_big_int(value: object) -> int:
    number = int(value)  # type: ignore[call-overload]  # store counts are int or numpy integers
    if abs(number) > _MAX_SAFE_INTEGER:
        raise ValueError(f"count {number} exceeds 2^53 and cannot be sent exactly as a JSON number")
    return number


def parse_big_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"invalid BigInt {value!r}: expected a whole number")
    return value


def _reported(parse: Callable[[object], T]) -> Callable[[object], T]:
    """Raise parse failures as GraphQLError, which GraphQL reports as a validation error with its message."""

    def parse_or_report(value: object) -> T:
        try:
            return parse(value)
        except ValueError as error:
            raise GraphQLError(str(error)) from None

    return parse_or_report


TIMESTAMP = strawberry.scalar(
    name="Timestamp",
    description="Seconds since the Unix epoch, UTC. Inputs also accept an ISO 8601 time such as 2018-12-21T15:00:00Z.",
    serialize=float,
    parse_value=_reported(parse_timestamp),
)
BIG_INT = strawberry.scalar(
    name="BigInt",
    description="A whole number that may exceed 32 bits, such as a byte count; exact up to 2^53.",
    serialize=serialize_big_int,
    parse_value=_reported(parse_big_int),
)

SCALAR_MAP = {Timestamp: TIMESTAMP, BigInt: BIG_INT}
