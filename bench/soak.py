"""Load and soak test of the API on 127.0.0.1 while the worker scores and watch ingests.

Sets up a simulated IoT network in a work folder, with half of it ingested
and a GCN trained on it. Then it starts real processes: ``iotgraph serve``,
``iotgraph worker``, and ``iotgraph watch`` following the flow log, whose
second half is appended bit by bit during the run. ``--clients`` concurrent
clients send a mix of ``suspiciousDevices``, ``neighborhood``,
``explanation`` and ``rescore`` requests until ``--minutes`` have passed.

Reported (``--out``/soak.json and soak.md): requests and errors by
operation, p50/p95/p99 latency, the server's resident memory over the run
and its growth after warm-up, and whether every rescoring job finished
exactly once (done in the store, one "done" line in the worker log).

The API runs with its rate limit off (IOTGRAPH_RATE_LIMIT=0): the clients
send as fast as they can, and a 429 would count as an error. Rescore
requests are spaced ``--rescore-every`` seconds apart over all clients, so
that one worker can keep up.

Usage (``make soak`` runs it for 5 minutes)::

    python -m bench.soak --minutes 5 --clients 32 --out out/soak
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
# Share of each read operation among the requests that are not rescores.
READ_MIX = (("suspiciousDevices", 0.4), ("neighborhood", 0.35), ("explanation", 0.25))
MEMORY_SAMPLE_SECONDS = 5.0
# The first fifth of the run is warm-up: caches, torch and the store pool fill then.
WARM_UP_SHARE = 0.2
QUERIES = {
    "suspiciousDevices": "query($w: Timestamp) { suspiciousDevices(window: $w, limit: 20) { deviceId score rank device { id internal } } }",
    "neighborhood": "query($d: ID!) { neighborhood(deviceId: $d, hops: 2, limit: 200) { nodes { id score } edges { source target flows } truncated } }",
    "explanation": "query($d: ID!) { explanation(deviceId: $d) { deviceId score features { name z } neighbours { deviceId influence } } }",
    "rescore": "mutation($s: Timestamp, $u: Timestamp) { rescore(since: $s, until: $u) { id status } }",
}


@dataclass
class LoadStats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_examples: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    sent: int = 0


# -- set-up ----------------------------------------------------------------------------


def prepare(work: Path, *, devices: int, hours: float) -> dict:
    """Simulate the network, ingest its first half, train a model and create API keys; return the paths."""
    from api.auth import KeyStore, Role
    from graphdb import open_store
    from graphdb.load import load_files
    from ingest.simulate import SimulationConfig, simulate
    from ml.scoring import score_windows
    from ml.training import train

    work.mkdir(parents=True, exist_ok=True)
    full = work / "simulated.conn.log"
    simulate(SimulationConfig(devices=devices, hours=hours, seed=11), full)
    lines = full.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#") and not line.startswith("#close")]
    data = [line for line in lines if not line.startswith("#")]
    half = len(data) // 2

    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    followed = logs / "conn.log"
    followed.write_text("".join(header + data[:half]))
    store_url = f"sqlite:///{work / 'store.db'}"
    models = work / "models"
    from ingest.readers import open_flows

    expected_flows = int(open_flows(full).read_all()["flow_id"].nunique())
    with open_store(store_url) as store:
        load_files(store, [followed], window="5m")
        result = train(store, kind="gcn", models_dir=models, epochs=20, progress=False, device="cpu")
        score_windows(store, None, model=result.model_version, models_dir=models, explain_top_k=20, device="cpu", progress=False)
        windows = [window.start for window in store.windows()]
        top = store.suspicious(windows[-1], limit=50)

    keys = KeyStore(work / "keys.json")
    tokens = {role.value: keys.create(role=role, name=f"soak {role.value}")[1] for role in (Role.VIEWER, Role.ANALYST)}
    logger.info("prepared %s: %d flows ingested, %d held back for watch, model %s", work, half, len(data) - half, result.model_version)
    return {
        "store": store_url,
        "models": models,
        "keys": work / "keys.json",
        "tokens": tokens,
        "followed": followed,
        "pending": data[half:],
        "windows": windows,
        "devices": [score.device_id for score in top],
        "expected_flows": expected_flows,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen([sys.executable, "-m", "iotgraph.cli", *args], cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def resident_mb(pid: int) -> float | None:
    """Return the resident set size of a process in MiB from /proc (Linux), or None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def wait_healthy(url: str, server: subprocess.Popen, *, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"iotgraph serve exited with {server.returncode}; see its log")
        try:
            if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"iotgraph serve did not respond on /healthz within {timeout:g}s; see serve.log")


# -- load ------------------------------------------------------------------------------


async def client_loop(client: httpx.AsyncClient, setup: dict, stats: LoadStats, *, deadline: float, rescore_gate: dict, seed: int) -> None:
    rng = random.Random(seed)
    operations = [name for name, _ in READ_MIX]
    weights = [share for _, share in READ_MIX]
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= rescore_gate["next"]:
            rescore_gate["next"] = now + rescore_gate["every"]
            operation = "rescore"
        else:
            operation = rng.choices(operations, weights)[0]
        variables, token = request_for(operation, setup, rng)
        started = time.perf_counter()
        stats.sent += 1
        try:
            response = await client.post("/graphql", json={"query": QUERIES[operation], "variables": variables}, headers={"Authorization": f"Bearer {token}"})
            body = response.json()
        except (httpx.HTTPError, json.JSONDecodeError) as error:
            record_error(stats, operation, f"{type(error).__name__}: {error}")
            continue
        stats.latencies[operation].append(time.perf_counter() - started)
        if response.status_code != 200 or body.get("errors"):
            record_error(stats, operation, f"HTTP {response.status_code}: {str(body.get('errors'))[:200]}")
        elif operation == "rescore":
            stats.jobs.append(body["data"]["rescore"]["id"])


def request_for(operation: str, setup: dict, rng: random.Random) -> tuple[dict, str]:
    windows, devices, tokens = setup["windows"], setup["devices"], setup["tokens"]
    if operation == "suspiciousDevices":
        return {"w": rng.choice(windows)}, tokens["viewer"]
    if operation == "rescore":
        window = rng.choice(windows)
        return {"s": window, "u": window}, tokens["analyst"]
    return {"d": rng.choice(devices)}, tokens["viewer"]


def record_error(stats: LoadStats, operation: str, text: str) -> None:
    stats.errors[operation] += 1
    if len(stats.error_examples) < 20:
        stats.error_examples.append(f"{operation}: {text}")


async def run_load(url: str, setup: dict, *, clients: int, seconds: float, rescore_every: float) -> LoadStats:
    stats = LoadStats()
    deadline = time.monotonic() + seconds
    gate = {"next": time.monotonic() + rescore_every, "every": rescore_every}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=limits) as client:
        await asyncio.gather(
            *(client_loop(client, setup, stats, deadline=deadline, rescore_gate=gate, seed=index) for index in range(clients))
        )
    return stats


async def feed_watch(followed: Path, pending: list[str], *, seconds: float) -> int:
    """Append the held-back flow lines to the followed log in even parts over ``seconds``; return the lines written."""
    parts = max(1, int(seconds // 5))
    size = max(1, -(-len(pending) // parts))
    written = 0
    for offset in range(0, len(pending), size):
        with followed.open("a") as handle:
            handle.write("".join(pending[offset : offset + size]))
        written += len(pending[offset : offset + size])
        await asyncio.sleep(seconds / parts)
    return written


async def sample_memory(pid: int, samples: list[tuple[float, float]], *, seconds: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        rss = resident_mb(pid)
        if rss is not None:
            samples.append((time.monotonic() - started, rss))
        await asyncio.sleep(MEMORY_SAMPLE_SECONDS)


async def soak(url: str, setup: dict, server_pid: int, *, clients: int, seconds: float, rescore_every: float) -> tuple[LoadStats, list[tuple[float, float]], int]:
    samples: list[tuple[float, float]] = []
    load, _, fed = await asyncio.gather(
        run_load(url, setup, clients=clients, seconds=seconds, rescore_every=rescore_every),
        sample_memory(server_pid, samples, seconds=seconds),
        feed_watch(setup["followed"], setup["pending"], seconds=seconds * 0.8),
    )
    return load, samples, fed


# -- report ----------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan")}
    milliseconds = np.array(values) * 1000.0
    return {f"p{q}_ms": round(float(np.percentile(milliseconds, q)), 1) for q in (50, 95, 99)}


def memory_summary(samples: list[tuple[float, float]], *, seconds: float) -> dict[str, float]:
    """RSS at warm-up end and at the end, and the slope of a line fitted after warm-up (MiB per minute)."""
    after = [(t, rss) for t, rss in samples if t >= seconds * WARM_UP_SHARE]
    if len(after) < 2:
        return {"samples": len(samples)}
    times = np.array([t for t, _ in after])
    rss = np.array([value for _, value in after])
    slope = float(np.polyfit(times / 60.0, rss, 1)[0])
    return {
        "samples": len(samples),
        "start_mib": round(samples[0][1], 1),
        "after_warm_up_mib": round(float(rss[0]), 1),
        "end_mib": round(float(rss[-1]), 1),
        "max_mib": round(max(value for _, value in samples), 1),
        "growth_after_warm_up_mib": round(float(rss[-1] - rss[0]), 1),
        "slope_after_warm_up_mib_per_min": round(slope, 2),
    }


def job_summary(store_url: str, worker_log: Path, jobs: list[str]) -> dict:
    from graphdb import open_store

    text = worker_log.read_text()
    with open_store(store_url) as store:
        statuses = [store.job(job_id).status for job_id in jobs]
    done_lines = [text.count(f"job {job_id} done by worker") for job_id in jobs]
    return {
        "requested": len(jobs),
        "done": statuses.count("done"),
        "other_status": sorted({status for status in statuses if status != "done"}),
        "done_exactly_once": sum(1 for count in done_lines if count == 1),
        "done_more_than_once": sum(1 for count in done_lines if count > 1),
    }


def wait_for_jobs(store_url: str, *, timeout: float) -> bool:
    from graphdb import open_store

    deadline = time.monotonic() + timeout
    with open_store(store_url) as store:
        while time.monotonic() < deadline:
            if not store.jobs("queued", limit=1) and not store.jobs("running", limit=1):
                return True
            time.sleep(1.0)
    return False


def wait_for_flows(store_url: str, expected: int, *, timeout: float) -> bool:
    """Wait until watch has stored every flow of the log; False when ``timeout`` seconds pass first."""
    from graphdb import open_store

    deadline = time.monotonic() + timeout
    with open_store(store_url) as store:
        while time.monotonic() < deadline:
            if store.counts().flows >= expected:
                return True
            time.sleep(1.0)
    return False


def write_report(out: Path, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Soak run of {report['minutes']:g} minutes, {report['clients']} clients",
        "",
        f"Requests: {report['requests']} ({report['requests_per_second']:.1f}/s), errors: {report['errors']}",
        "",
        "| operation | requests | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["operations"].items():
        lines.append(f"| {name} | {row['requests']} | {row['errors']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} |")
    lines += ["", f"Server memory: {report['memory']}", "", f"Rescoring jobs: {report['jobs']}", "", f"Watch: {report['watch']}"]
    if report["error_examples"]:
        lines += ["", "Error examples:", *[f"- {text}" for text in report["error_examples"]]]
    (out / "soak.md").write_text("\n".join(lines) + "\n")


# -- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description="Load and soak test of the GraphQL API on 127.0.0.1.")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the load, in minutes (default 5)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--rescore-every", type=float, default=5.0, help="seconds between rescore requests over all clients (default 5)")
    parser.add_argument("--devices", type=int, default=24, help="simulated devices (default 24)")
    parser.add_argument("--hours", type=float, default=2.0, help="simulated hours of traffic (default 2)")
    parser.add_argument("--out", type=Path, default=Path("out/soak"), help="folder for soak.json, soak.md and the process logs")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.clients < 1:
        parser.error(f"invalid --minutes {args.minutes} or --clients {args.clients}: both must be positive")

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request at INFO; at this rate that would slow the clients and bury the report.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    seconds = args.minutes * 60.0
    with tempfile.TemporaryDirectory(prefix="iotgraph-soak-") as folder:
        work = Path(folder)
        setup = prepare(work, devices=args.devices, hours=args.hours)
        args.out.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "IOTGRAPH_LOG_LEVEL": "INFO", "IOTGRAPH_RATE_LIMIT": "0"}
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        common = ["--store", setup["store"], "--models", str(setup["models"])]
        server = start(["serve", "--host", "127.0.0.1", "--port", str(port), "--keys", str(setup["keys"]), *common], args.out / "serve.log", env)
        worker = start(["worker", *common, "--poll", "500ms", "--device", "cpu"], args.out / "worker.log", env)
        watch = start(["watch", str(setup["followed"].parent), *common, "--poll", "1s", "--device", "cpu"], args.out / "watch.log", env)
        try:
            wait_healthy(url, server)
            logger.info("load: %d clients for %gs against %s", args.clients, seconds, url)
            started = time.monotonic()
            load, samples, fed = asyncio.run(
                soak(url, setup, server.pid, clients=args.clients, seconds=seconds, rescore_every=args.rescore_every)
            )
            elapsed = time.monotonic() - started
            drained = wait_for_jobs(setup["store"], timeout=300.0)
            caught_up = wait_for_flows(setup["store"], setup["expected_flows"], timeout=300.0)
        finally:
            for process in (watch, worker, server):
                stop(process)

        requests = load.sent
        operations = {
            name: {"requests": len(load.latencies.get(name, [])), "errors": load.errors.get(name, 0), **percentiles(load.latencies.get(name, []))}
            for name in (*QUERIES,)
        }
        everything = [value for values in load.latencies.values() for value in values]
        operations["all"] = {"requests": len(everything), "errors": sum(load.errors.values()), **percentiles(everything)}
        from graphdb import open_store

        with open_store(setup["store"]) as store:
            counts = store.counts()
        report = {
            "minutes": args.minutes,
            "clients": args.clients,
            "elapsed_s": round(elapsed, 1),
            "requests": requests,
            "requests_per_second": requests / elapsed,
            "errors": sum(load.errors.values()),
            "operations": operations,
            "memory": memory_summary(samples, seconds=seconds),
            "jobs": {**job_summary(setup["store"], args.out / "worker.log", load.jobs), "queue_drained": drained},
            "watch": {
                "lines_appended": fed,
                "flows_in_log": setup["expected_flows"],
                "store_flows_at_end": counts.flows,
                "caught_up": caught_up,
                "windows": counts.windows,
            },
            "error_examples": load.error_examples,
        }
    write_report(args.out, report)
    print(json.dumps({key: report[key] for key in ("requests", "errors", "operations", "memory", "jobs", "watch")}, indent=2))
    return 0 if report["errors"] == 0 and report["jobs"]["done_exactly_once"] == report["jobs"]["requested"] else 1


if __name__ == "__main__":
    sys.exit(main())
