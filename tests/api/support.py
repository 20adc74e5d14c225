"""A hand-made store and a real uvicorn server for the API tests.

The network: camera 192.168.1.10 talks to its cloud 52.1.1.1 and the DNS
resolver 192.168.1.1; infected 192.168.1.66 scans .10 and .11 on telnet in
window T0 and talks to its C&C 198.51.100.7 in window T0 + 300.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import uvicorn
from fastapi import FastAPI

from api.auth import KeyStore, Role
from graphdb import GraphStore, open_store
from graphdb.load import build_batch
from graphdb.model import DeviceScore, WindowSpec
from ingest.record import coerce_flows

T0 = 1_699_999_800.0  # a multiple of 300, so 5-minute windows start exactly here
T1 = T0 + 300
MODEL = "gcn-20231114T000000-abc123"
INFECTED = "192.168.1.66"
CAMERA = "192.168.1.10"
CNC = "198.51.100.7"


def _flow(ts: float, src: str, dst: str, flow_id: str, *, port: int = 443, proto: str = "tcp", out: int = 100, back: int = 200, state: str = "SF", label: str = "benign", attack: str = "-") -> dict[str, Any]:
    return {
        "ts": ts, "src": src, "src_port": 40000, "dst": dst, "dst_port": port, "proto": proto, "service": "-",
        "duration": 1.0, "bytes_out": out, "bytes_in": back, "pkts_out": 2, "pkts_in": 3, "conn_state": state,
        "label": label, "attack": attack, "flow_id": flow_id,
    }  # fmt: skip


def flows() -> pd.DataFrame:
    rows = [
        _flow(T0 + 1, CAMERA, "52.1.1.1", "a1"),
        _flow(T0 + 2, CAMERA, "52.1.1.1", "a2", out=300),
        _flow(T0 + 3, CAMERA, "192.168.1.1", "a3", port=53, proto="udp", out=60, back=120),
        _flow(T0 + 4, INFECTED, CAMERA, "a4", port=23, out=0, back=0, state="S0", label="malicious", attack="PartOfAHorizontalPortScan"),
        _flow(T0 + 5, INFECTED, "192.168.1.11", "a5", port=23, out=0, back=0, state="S0", label="malicious", attack="PartOfAHorizontalPortScan"),
        _flow(T1 + 1, CAMERA, "52.1.1.1", "a6"),
        _flow(T1 + 2, INFECTED, CNC, "a7", port=6667, out=500, back=40, label="malicious", attack="C&C"),
        _flow(T1 + 3, INFECTED, CNC, "a8", port=6667, out=500, back=40, label="malicious", attack="C&C"),
    ]
    return coerce_flows(pd.DataFrame(rows))


def explanation(score: float) -> dict[str, Any]:
    """Reasons in the shape ml.explain writes them."""
    return {
        "score": score,
        "model_version": MODEL,
        "features": [
            {"name": "failed_share", "value": 1.0, "median": 0.0, "z": 4.5, "previous": None},
            {"name": "distinct_dst_ports", "value": 1.0, "median": 1.0, "z": -0.5, "previous": None},
        ],
        "previous_window": T0,
        "neighbours": [{"id": CNC, "influence": 0.31}],
        "edges": [{"src": INFECTED, "dst": CNC, "flows": 2, "bytes_out": 1000, "malicious_flows": 2}],
    }


def fill_store(store: GraphStore) -> None:
    """Ingest the hand-made flows and write scores for both windows."""
    spec = WindowSpec(size=300.0, step=300.0)
    store.set_window_spec(spec)
    store.upsert_batch(build_batch(flows(), spec))
    store.write_scores(
        T0,
        [
            DeviceScore(INFECTED, T0, 0.81, MODEL, rank=1, predicted=True),
            DeviceScore(CAMERA, T0, 0.10, MODEL, rank=2, predicted=False),
            DeviceScore("192.168.1.11", T0, 0.05, MODEL, rank=3, predicted=False),
            DeviceScore("52.1.1.1", T0, 0.03, MODEL, rank=4, predicted=False),
            DeviceScore("192.168.1.1", T0, 0.02, MODEL, rank=5, predicted=False),
        ],
        MODEL,
        scored_at=T1 + 600,
    )
    store.write_scores(
        T1,
        [
            DeviceScore(INFECTED, T1, 0.93, MODEL, rank=1, predicted=True, explanation=explanation(0.93)),
            DeviceScore(CNC, T1, 0.40, MODEL, rank=2, predicted=False),
            DeviceScore(CAMERA, T1, 0.12, MODEL, rank=3, predicted=False),
            DeviceScore("52.1.1.1", T1, 0.04, MODEL, rank=4, predicted=False),
        ],
        MODEL,
        scored_at=T1 + 600,
    )


def make_store(path: Path) -> str:
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        fill_store(store)
    return url


def make_keys(path: Path) -> dict[str, str]:
    """Create one key per role and return the tokens by role name."""
    keys = KeyStore(path)
    return {role.value: keys.create(role=role, name=f"test {role.value}")[1] for role in Role}


class LiveServer:
    """A uvicorn server on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn-test", daemon=True)
        self.url = ""

    def start(self, *, timeout: float = 20.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start within the timeout")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)


@contextmanager
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class GraphQLClient:
    """Post GraphQL documents to a live server with an optional API key."""

    def __init__(self, url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=url, headers=headers, timeout=60.0)

    def post(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        return self._client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return ``data`` of a request that must succeed without errors."""
        response = self.post(query, variables)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise AssertionError(f"HTTP {response.status_code}: {body}")
        return body["data"]

    def errors(self, query: str, variables: dict[str, Any] | None = None) -> tuple[int, list[dict[str, Any]]]:
        response = self.post(query, variables)
        return response.status_code, response.json().get("errors") or []

    def get(self, path: str) -> httpx.Response:
        return self._client.get(path)

    def close(self) -> None:
        self._client.close()
