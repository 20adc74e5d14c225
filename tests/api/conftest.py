"""Fixtures of the API tests: a hand-made store, API keys and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.support import GraphQLClient, LiveServer, make_keys, make_store

from api.app import create_app
from api.settings import Settings


@pytest.fixture(scope="module")
def api_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def store_url(api_dir: Path) -> str:
    return make_store(api_dir / "store.db")


@pytest.fixture(scope="module")
def tokens(api_dir: Path) -> dict[str, str]:
    return make_keys(api_dir / "keys.json")


@pytest.fixture(scope="module")
def settings(api_dir: Path, store_url: str, tokens: dict[str, str]) -> Settings:
    return Settings(store=store_url, api_keys=api_dir / "keys.json", models=api_dir / "models")


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(create_app(settings))
    live.start()
    yield live
    live.stop()


@pytest.fixture
def viewer(server: LiveServer, tokens: dict[str, str]) -> Iterator[GraphQLClient]:
    client = GraphQLClient(server.url, tokens["viewer"])
    yield client
    client.close()


@pytest.fixture
def analyst(server: LiveServer, tokens: dict[str, str]) -> Iterator[GraphQLClient]:
    client = GraphQLClient(server.url, tokens["analyst"])
    yield client
    client.close()


@pytest.fixture
def anonymous(server: LiveServer) -> Iterator[GraphQLClient]:
    client = GraphQLClient(server.url)
    yield client
    client.close()
