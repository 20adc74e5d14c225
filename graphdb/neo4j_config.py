"""Connection settings of the Neo4j store, from a store URL and the environment.

A store URL is ``neo4j://host:7687`` (routing), ``bolt://host:7687`` (one
server), or their TLS forms ``neo4j+s``/``bolt+s`` (verified certificate) and
``neo4j+ssc``/``bolt+ssc`` (self-signed). Credentials come from
``NEO4J_USER`` (default ``neo4j``) and ``NEO4J_PASSWORD`` (required), the
database from ``NEO4J_DATABASE`` (default ``neo4j``). The URL may carry
``user:password@`` and a query string with the options below; URL values win
over the environment:

    database      database name                                   (neo4j)
    batch_size    rows per UNWIND statement in batched writes     (10000)
    high_risk     score from which a device is labelled HighRisk  (0.8)
    medium_risk   score from which a device is labelled MediumRisk (0.5)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from graphdb.errors import StoreConfigError

SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
DEFAULT_DATABASE = "neo4j"
DEFAULT_USER = "neo4j"
DEFAULT_BATCH_SIZE = 10_000
DEFAULT_PORT = 7687
# The value .env.example ships; a store refuses to start with it.
PLACEHOLDER_PASSWORD = "replace-with-a-long-random-password"
_OPTIONS = ("database", "batch_size", "high_risk", "medium_risk")


@dataclass(frozen=True)
class Neo4jConfig:
    """Everything needed to open a driver and size the store's writes."""

    uri: str
    user: str
    password: str = field(repr=False)
    database: str = DEFAULT_DATABASE
    batch_size: int = DEFAULT_BATCH_SIZE
    high_risk: float = 0.8
    medium_risk: float = 0.5

    @property
    def display_url(self) -> str:
        """The store URL without credentials, safe to log."""
        return f"{self.uri}?database={self.database}"


def parse_neo4j_url(url: str, *, environ: Mapping[str, str] | None = None) -> Neo4jConfig:
    """Parse a Neo4j store URL, filling what it leaves out from ``environ`` (default ``os.environ``).

    Raises StoreConfigError naming the bad value and the fix.
    """
    env = os.environ if environ is None else environ
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise StoreConfigError(f"invalid Neo4j URL {_redact(url)!r}: scheme must be one of {', '.join(SCHEMES)}")
    if not parts.hostname:
        raise StoreConfigError(f"invalid Neo4j URL {_redact(url)!r}: no host; expected e.g. neo4j://127.0.0.1:7687")
    if parts.path not in ("", "/"):
        raise StoreConfigError(
            f"invalid Neo4j URL {_redact(url)!r}: unexpected path {parts.path!r}; name the database with ?database=NAME"
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as error:
        raise StoreConfigError(f"invalid Neo4j URL {_redact(url)!r}: {error}") from None

    options = _parse_options(url, parts.query)
    user = unquote(parts.username) if parts.username else env.get("NEO4J_USER") or DEFAULT_USER
    password = unquote(parts.password) if parts.password else env.get("NEO4J_PASSWORD")
    if not password:
        raise StoreConfigError(
            f"no password for Neo4j at {_redact(url)}: set NEO4J_PASSWORD (docker compose reads it from .env)"
        )
    if password == PLACEHOLDER_PASSWORD:
        raise StoreConfigError("NEO4J_PASSWORD is still the placeholder from .env.example; set a real password in .env")

    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    config = Neo4jConfig(
        uri=f"{parts.scheme}://{host}:{port}",
        user=user,
        password=password,
        database=options.get("database") or env.get("NEO4J_DATABASE") or DEFAULT_DATABASE,
        batch_size=_positive_int("batch_size", options.get("batch_size", str(DEFAULT_BATCH_SIZE))),
        high_risk=_finite_float("high_risk", options.get("high_risk", "0.8")),
        medium_risk=_finite_float("medium_risk", options.get("medium_risk", "0.5")),
    )
    if config.medium_risk > config.high_risk:
        raise StoreConfigError(
            f"invalid risk bands: medium_risk {config.medium_risk} is above high_risk {config.high_risk}; swap them"
        )
    return config


def _parse_options(url: str, query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in _OPTIONS:
            raise StoreConfigError(
                f"unknown option {key!r} in Neo4j URL {_redact(url)!r}; expected one of {', '.join(_OPTIONS)}"
            )
        options[key] = value
    return options


def _positive_int(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise StoreConfigError(f"invalid {name} {text!r} in the Neo4j URL: expected a whole number such as 10000") from None
    if value < 1:
        raise StoreConfigError(f"invalid {name} {value} in the Neo4j URL: it must be at least 1")
    return value


def _finite_float(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise StoreConfigError(f"invalid {name} {text!r} in the Neo4j URL: expected a number such as 0.8") from None
    if not math.isfinite(value):
        raise StoreConfigError(f"invalid {name} {text!r} in the Neo4j URL: it must be a finite number")
    return value


def _redact(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
