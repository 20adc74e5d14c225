"""DataLoaders: a page of devices with scores costs a fixed number of store calls."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.app import create_app
from api.settings import Settings
from graphdb import GraphStore, open_store
from tests.api.support import GraphQLClient, live_server, make_store


class CountingStore:
    """A real store that counts calls per method, shared by every thread of the store pool."""

    def __init__(self, store: GraphStore, calls: Counter[str], lock: threading.Lock) -> None:
        self._store = store
        self._calls = calls
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._calls[name] += 1
            return attribute(*args, **kwargs)

        return counted


def _counting_factory(url: str, calls: Counter[str]) -> Callable[[], GraphStore]:
    lock = threading.Lock()
    return lambda: CountingStore(open_store(url), calls, lock)  # type: ignore[return-value]  # duck-typed GraphStore


def _calls_for(tmp_path: Path, query: str) -> tuple[dict[str, Any], Counter[str]]:
    calls: Counter[str] = Counter()
    settings = Settings(store=make_store(tmp_path / "store.db"), no_auth=True)
    with live_server(create_app(settings, store_factory=_counting_factory(settings.store, calls))) as server:
        client = GraphQLClient(server.url)
        data = client.data(query)
        client.close()
    return data, calls


def test_device_page_scores_batched(tmp_path: Path) -> None:
    data, calls = _calls_for(tmp_path, "{ devices(first: 6) { items { id score windowScore { rank } } } }")

    assert len(data["devices"]["items"]) == 6
    assert calls["list_devices"] == 1
    assert calls["scores_for"] == 1
    assert calls["devices_by_id"] == 0


def test_two_windows_two_score_calls(tmp_path: Path) -> None:
    query = "{ devices(first: 6) { items { a: windowScore(window: 1699999800) { rank } b: windowScore(window: 1700000100) { rank } } } }"

    _, calls = _calls_for(tmp_path, query)

    assert calls["scores_for"] == 2


def test_suspicious_devices_batched(tmp_path: Path) -> None:
    data, calls = _calls_for(tmp_path, "{ suspiciousDevices(window: 1699999800) { score device { id label windowScore { score } } } }")

    assert len(data["suspiciousDevices"]) == 5
    assert calls["suspicious"] == 1
    assert calls["devices_by_id"] == 1
    assert calls["scores_for"] == 1


def test_neighborhood_nodes_primed(tmp_path: Path) -> None:
    query = '{ neighborhood(deviceId: "192.168.1.66", hops: 2) { nodes { id windowScore { rank } } } }'

    data, calls = _calls_for(tmp_path, query)

    assert len(data["neighborhood"]["nodes"]) == 6
    assert calls["neighborhood"] == 1
    assert calls["scores_for"] == 1
