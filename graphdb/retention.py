"""Retention: delete windows, scores, explanations and jobs older than a limit.

``iotgraph purge --older-than 30d`` runs it once. With ``IOTGRAPH_RETENTION``
set (``30d``, ``12h`` ...), every ``iotgraph worker`` runs it at start and
then every ``IOTGRAPH_RETENTION_EVERY`` (default 1h).

The age of a window is measured from its start to the current time, so a
replayed capture from 2019 is older than any limit: leave
``IOTGRAPH_RETENTION`` unset while investigating historical captures.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from graphdb.store import GraphStore
from ingest.windows import parse_duration

logger = logging.getLogger(__name__)

RETENTION_ENV = "IOTGRAPH_RETENTION"
RETENTION_EVERY_ENV = "IOTGRAPH_RETENTION_EVERY"
DEFAULT_RETENTION_EVERY = 3600.0
_OFF = ("", "off", "none", "0")


@dataclass
class PurgeResult:
    """Rows one purge deleted, by kind, of the data older than ``before`` (epoch seconds)."""

    before: float
    deleted: dict[str, int]

    def summary(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in self.deleted.items())


def retention_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    """Return ``IOTGRAPH_RETENTION`` in seconds, or None when it is unset or ``off``; ValueError when invalid."""
    value = (os.environ if environ is None else environ).get(RETENTION_ENV, "").strip()
    if value.lower() in _OFF:
        return None
    return _duration(value, name=RETENTION_ENV)


def retention_every_from_env(environ: Mapping[str, str] | None = None) -> float:
    """Return ``IOTGRAPH_RETENTION_EVERY`` in seconds, 1 hour when unset; ValueError when invalid."""
    value = (os.environ if environ is None else environ).get(RETENTION_EVERY_ENV, "").strip()
    return DEFAULT_RETENTION_EVERY if not value else _duration(value, name=RETENTION_EVERY_ENV)


def _duration(value: str, *, name: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise ValueError(f"invalid {name}={value!r}: {error}; use e.g. 30d, 12h, or off") from error


def purge_older_than(store: GraphStore, age: float, *, now: float | None = None, batch_size: int | None = None) -> PurgeResult:
    """Delete what started more than ``age`` seconds before ``now`` (default: the current time)."""
    if age <= 0:
        raise ValueError(f"invalid retention age {age}s: it must be positive")
    before = (time.time() if now is None else now) - age
    deleted = store.purge(before, batch_size=batch_size)
    result = PurgeResult(before=before, deleted=deleted)
    logger.info("retention on %s deleted data before %.0f: %s", store.url, before, result.summary())
    return result
