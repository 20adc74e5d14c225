"""GraphQL ``neighborhood`` (2 hops, at most 500 nodes) and ``suspiciousDevices`` latency under concurrent clients,
against calling the store method directly.

The API runs under uvicorn on 127.0.0.1 in this process. httpx async
clients send a fixed number of requests per concurrency level, so the run is
bounded. Latency is per request, from send to the parsed response.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Figure, percentile, timed
from bench.data import device_addresses
from bench.windows import WINDOW_START, window_store

logger = logging.getLogger(__name__)

DEVICES = 100_000
QUICK_DEVICES = 300
CLIENTS = (1, 8, 32)
REQUESTS = 200
QUICK_REQUESTS = 12
MODEL_VERSION = "bench-synthetic"

NEIGHBORHOOD = """
query ($id: ID!) {
  neighborhood(deviceId: $id, hops: 2, limit: 500) { truncated nodes { id score } edges { source target flows } }
}"""
SUSPICIOUS = "query { suspiciousDevices(limit: 20) { deviceId score rank } }"


class Server:
    """uvicorn serving one app on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, name="bench-uvicorn", daemon=True)
        self.url = ""

    def __enter__(self) -> Server:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 30 s")
            time.sleep(0.05)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/graphql"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


def run(workdir: Path, *, quick: bool = False) -> list[Figure]:
    from api.app import create_app
    from api.settings import Settings

    # httpx logs every request at INFO, which would bury the run's own log lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    devices = QUICK_DEVICES if quick else DEVICES
    requests = QUICK_REQUESTS if quick else REQUESTS
    store = window_store(workdir, devices)
    _score_everyone(store)
    edges = store.counts().edges
    ids = device_addresses(devices)[np.random.default_rng(7).integers(0, devices, requests)].tolist()

    direct = {
        "neighborhood": [timed(lambda device=device: store.neighborhood(device, hops=2, limit=500))[0] for device in ids],
        "suspiciousDevices": [timed(lambda: store.suspicious(None, limit=20))[0] for _ in ids],
    }
    store.close()

    settings = Settings(store=f"sqlite:///{workdir / f'window-{devices}.db'}", no_auth=True, rate_limit=0, audit_log=workdir / "audit.jsonl")
    figures = []
    with Server(create_app(settings)) as server:
        for name, query in (("neighborhood", NEIGHBORHOOD), ("suspiciousDevices", SUSPICIOUS)):
            baseline = direct[name]
            for clients in CLIENTS:
                latencies = asyncio.run(_load(server.url, query, ids, clients=clients))
                figures.extend(_figures(name, clients, latencies, baseline, edges=edges))
                logger.info("%s, %d clients: p95 %.1f ms (direct p95 %.1f ms)", name, clients, 1000 * percentile(latencies, 95), 1000 * percentile(baseline, 95))
    return figures


def _score_everyone(store: Any) -> None:
    """Give every device of the window a score once, so suspiciousDevices has a scored window to rank."""
    from graphdb.model import DeviceScore

    window = store.window(WINDOW_START)
    if window is None or window.status == "scored":
        return
    devices = store.export_window(WINDOW_START).devices["id"].tolist()
    scores = np.random.default_rng(3).random(len(devices))
    rows = [DeviceScore(device_id=d, window_start=WINDOW_START, score=float(s), model_version=MODEL_VERSION) for d, s in zip(devices, scores)]
    store.write_scores(WINDOW_START, rows, MODEL_VERSION, scored_at=time.time())


async def _load(url: str, query: str, ids: list[str], *, clients: int) -> list[float]:
    """Send one request per id with ``clients`` concurrent connections; return each request's latency in seconds."""
    import httpx

    pending: asyncio.Queue[str] = asyncio.Queue()
    for device in ids:
        pending.put_nowait(device)
    latencies: list[float] = []

    async def client(http: httpx.AsyncClient) -> None:
        while True:
            try:
                device = pending.get_nowait()
            except asyncio.QueueEmpty:
                return
            began = time.perf_counter()
            response = await http.post(url, json={"query": query, "variables": {"id": device} if "$id" in query else {}})
            body = response.json()
            latencies.append(time.perf_counter() - began)
            if response.status_code != 200 or body.get("errors"):
                raise RuntimeError(f"GraphQL request for {device} failed with HTTP {response.status_code}: {body.get('errors')}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=120.0) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies


def _figures(name: str, clients: int, latencies: list[float], baseline: list[float], *, edges: int) -> list[Figure]:
    case = f"{name}, {clients} client(s)"
    extra = {"requests": len(latencies), "store_edges": edges, "clients": clients}
    return [
        Figure("api", case, f"p{q} latency", percentile(latencies, q), "s", len(latencies), f"direct store call p{q}", percentile(baseline, q), [], extra)
        for q in (50, 95, 99)
    ]
