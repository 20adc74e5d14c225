"""Store fixtures for the contract suite: every GraphStore must pass the same tests.

The SQLite store always runs. The Neo4j store runs when ``NEO4J_URI`` is set
(``docker compose up -d neo4j``, then ``NEO4J_URI=neo4j://127.0.0.1:7687
NEO4J_USER=neo4j NEO4J_PASSWORD=... make test``); each test then starts from
an empty database and clears it afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphdb import GraphStore, open_store

NEO4J_URI = os.environ.get("NEO4J_URI")


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'contract.db'}")
        yield opened
        opened.close()
        return

    if not NEO4J_URI:
        pytest.skip(
            "Neo4j contract tests need a running Neo4j: `docker compose up -d neo4j`, then set NEO4J_URI "
            "(e.g. neo4j://127.0.0.1:7687), NEO4J_USER and NEO4J_PASSWORD; NEO4J_URI is not set"
        )
    from graphdb.neo4j_store import clear_database

    opened = open_store(NEO4J_URI)
    clear_database(opened)
    yield opened
    clear_database(opened)
    opened.close()
