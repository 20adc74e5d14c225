"""A reference run of the generated network, made once, and the store every crash test writes to.

The SQLite store always runs. The Neo4j store runs when ``NEO4J_URI`` is
set (with NEO4J_USER and NEO4J_PASSWORD); it starts empty and is cleared
afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.robustness.support import WindowStats, score_rows, window_stats, write_network_log

from graphdb import open_store
from graphdb.load import load_files
from graphdb.model import StoreCounts

NEO4J_URI = os.environ.get("NEO4J_URI")
# Few epochs: the crash tests need a saved model that scores, not a good one.
TRAIN_EPOCHS = 5
EXPLAIN_TOP = 3


@dataclass
class Reference:
    """An uninterrupted ingest and scoring of the network log."""

    log: Path
    models: Path
    model_version: str
    counts: StoreCounts
    windows: dict[float, WindowStats]
    scores: dict[tuple[str, float], tuple[float, int | None, str]]
    ingested_url: str


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    from ml.scoring import score_windows
    from ml.training import train

    folder = tmp_path_factory.mktemp("reference")
    log = write_network_log(folder / "conn.log")
    models = folder / "models"

    ingested_url = f"sqlite:///{folder / 'ingested.db'}"
    with open_store(ingested_url) as store:
        load_files(store, [log], window="5m")

    scored_url = f"sqlite:///{folder / 'scored.db'}"
    with open_store(scored_url) as store:
        load_files(store, [log], window="5m")
        result = train(store, kind="gcn", models_dir=models, epochs=TRAIN_EPOCHS, progress=False, device="cpu")
        score_windows(store, None, model=result.model_version, models_dir=models, explain_top_k=EXPLAIN_TOP, device="cpu", progress=False)
        return Reference(
            log=log,
            models=models,
            model_version=result.model_version,
            counts=store.counts(),
            windows=window_stats(store),
            scores=score_rows(store),
            ingested_url=ingested_url,
        )


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store for one crash test: SQLite, and Neo4j when NEO4J_URI is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return

    if not NEO4J_URI:
        pytest.skip("the Neo4j run needs a running Neo4j: set NEO4J_URI, NEO4J_USER and NEO4J_PASSWORD; NEO4J_URI is not set")
    from graphdb.neo4j_store import clear_database

    with open_store(NEO4J_URI) as opened:
        clear_database(opened)
    yield NEO4J_URI
    with open_store(NEO4J_URI) as opened:
        clear_database(opened)
