"""Graph stores: the GraphStore interface, the embedded SQLite store and the Neo4j store."""

from __future__ import annotations

import os

from graphdb.errors import (
    DuplicateFlowError,
    InvalidRequestError,
    NotFoundError,
    SchemaVersionError,
    StoreConfigError,
    StoreError,
)
from graphdb.store import GraphStore

DEFAULT_STORE_URL = "sqlite:///iotgraph.db"
_NEO4J_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")


def default_store_url() -> str:
    """Return ``IOTGRAPH_STORE`` or the embedded store in the working directory."""
    return os.environ.get("IOTGRAPH_STORE") or DEFAULT_STORE_URL


def open_store(url: str | None = None) -> GraphStore:
    """Open the store a URL names: ``sqlite:///path.db`` or ``neo4j://host:7687`` / ``bolt://…``."""
    url = url or default_store_url()
    if url.startswith("sqlite:"):
        from graphdb.sqlite import SqliteStore

        return SqliteStore.from_url(url)
    if url.startswith(_NEO4J_SCHEMES):
        from graphdb.neo4j_store import Neo4jStore

        return Neo4jStore.from_url(url)
    raise StoreConfigError(
        f"unsupported store URL {url!r}: use sqlite:///path/to/file.db or neo4j://host:7687 (also bolt://)"
    )


__all__ = [
    "DEFAULT_STORE_URL",
    "DuplicateFlowError",
    "GraphStore",
    "InvalidRequestError",
    "NotFoundError",
    "SchemaVersionError",
    "StoreConfigError",
    "StoreError",
    "default_store_url",
    "open_store",
]
