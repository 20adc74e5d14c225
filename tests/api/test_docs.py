"""The example queries of docs/api.md, run against a live server on the real capture.

Scores depend on the model, which here is trained with few epochs, so an
example must return the documented shape; the neighbourhood, which contains
store aggregates only, must return the documented values.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import Settings
from graphdb import open_store
from ml.worker import Worker
from tests.api.support import GraphQLClient, LiveServer, make_keys
from tests.conftest import dataset_path
from tests.worker.support import CAPTURE, trained_store

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
# A graphql block directly followed by a json block holds an example and its output.
EXAMPLE = re.compile(r"```graphql\n(.*?)```\s*```json\n(.*?)```", re.DOTALL)
# The windows the documented run rescored: 13:55 to 14:50 UTC on 2018-12-22.
RESCORED = (1545486900.0, 1545490200.0)


def examples() -> list[tuple[str, dict[str, Any]]]:
    return [(query, json.loads(output)) for query, output in EXAMPLE.findall(DOCS.read_text(encoding="utf-8"))]


def _shape(value: Any) -> Any:
    """Keys of every object, recursively; a list stands for the shape of its first item."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphQLClient]:
    folder = tmp_path_factory.mktemp("docs")
    trained = trained_store(folder / "store", dataset_path(CAPTURE))
    with open_store(trained.url) as store:
        store.enqueue_job(kind="rescore", window_start=RESCORED[0], window_end=RESCORED[1], model=None, requested_by="docs", at=time.time())
    Worker(trained.url, models_dir=trained.models, device="cpu").run(once=True)

    tokens = make_keys(folder / "keys.json")
    server = LiveServer(create_app(Settings(store=trained.url, api_keys=folder / "keys.json", models=trained.models)))
    server.start()
    viewer = GraphQLClient(server.url, tokens["viewer"])
    yield viewer
    viewer.close()
    server.stop()


def test_docs_have_three_examples() -> None:
    assert len(examples()) == 3


@pytest.mark.parametrize("index", range(3))
def test_docs_example_runs(client: GraphQLClient, index: int) -> None:
    query, documented = examples()[index]

    response = client.post(query)
    body = response.json()

    assert response.status_code == 200
    assert "errors" not in body, body.get("errors")
    assert _shape(body) == _shape(documented)
    neighborhood = documented["data"].get("neighborhood")
    if neighborhood is not None:
        assert body["data"]["neighborhood"]["edges"] == neighborhood["edges"]
        assert [node["id"] for node in body["data"]["neighborhood"]["nodes"]] == [node["id"] for node in neighborhood["nodes"]]
