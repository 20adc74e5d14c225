"""An in-process API over the hand-made store of the API tests, with one key per role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from tests.api.support import make_keys, make_store

from api.app import create_app
from api.settings import Settings


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    settings: Settings

    def post(self, query: str, *, role: str | None = "viewer", variables: dict[str, Any] | None = None, **headers: str):
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def api_settings(folder: Path, *, store_url: str | None = None, **overrides: Any) -> tuple[Settings, dict[str, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    url = store_url or make_store(folder / "store.db")
    tokens = make_keys(folder / "keys.json")
    settings = Settings(store=url, api_keys=folder / "keys.json", models=folder / "models", audit_log=folder / "audit.jsonl", **overrides)
    return settings, tokens


@contextmanager
def running_api(folder: Path, *, store_url: str | None = None, store_factory=None, **overrides: Any) -> Iterator[Api]:
    settings, tokens = api_settings(folder, store_url=store_url, **overrides)
    app = create_app(settings, store_factory=store_factory)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, tokens=tokens, settings=settings)
