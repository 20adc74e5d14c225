"""Trained stores and real ``iotgraph`` processes for the worker and end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from graphdb import open_store
from graphdb.load import load_files
from ingest.simulate import SimulationConfig, simulate
from ml.training import train

REPO_ROOT = Path(__file__).resolve().parents[2]
CAPTURE = "iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"
# Few epochs: these tests need a saved model that scores, not a good one.
TRAIN_EPOCHS = 10


@dataclass
class TrainedStore:
    url: str
    models: Path
    model_version: str
    folder: Path


def trained_store(folder: Path, flow_file: Path) -> TrainedStore:
    """Ingest a flow file into a new SQLite store in 5-minute windows and train a GCN on it."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'store.db'}"
    models = folder / "models"
    with open_store(url) as store:
        load_files(store, [flow_file], window="5m")
        result = train(store, kind="gcn", models_dir=models, epochs=TRAIN_EPOCHS, progress=False, device="cpu")
    return TrainedStore(url=url, models=models, model_version=result.model_version, folder=folder)


def simulated_log(folder: Path, *, devices: int = 30, hours: float = 2.0, seed: int = 7) -> Path:
    """Write a simulated IoT network with a Mirai infection as a Zeek conn.log."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "simulated.conn.log"
    simulate(SimulationConfig(devices=devices, hours=hours, seed=seed), path)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """An ``iotgraph`` command in a child process, its output in a log file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._handle = log.open("w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "IOTGRAPH_LOG_LEVEL": "INFO"}
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "iotgraph.cli", *args],
            cwd=REPO_ROOT,
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        finally:
            self._handle.close()

    def terminate(self, timeout: float = 30.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.wait(timeout)


def start_worker(trained: TrainedStore, log: Path, *, once: bool = False, poll: str = "200ms", worker_id: str | None = None) -> Process:
    args = ["worker", "--store", trained.url, "--models", str(trained.models), "--poll", poll, "--device", "cpu", "--heartbeat", "1s", "--stale-after", "30s"]
    if once:
        args.append("--once")
    if worker_id:
        args += ["--id", worker_id]
    return Process(args, log)


def start_server(trained: TrainedStore, log: Path, *, keys: Path, timeout: float = 60.0) -> tuple[Process, str]:
    """Start ``iotgraph serve`` on 127.0.0.1 and a free port; return it once /healthz responds."""
    port = free_port()
    process = Process(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--store", trained.url, "--models", str(trained.models), "--keys", str(keys)],
        log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"iotgraph serve exited with {process.popen.returncode}:\n{process.output()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"iotgraph serve did not answer /healthz within {timeout}s:\n{process.output()}")
