"""Flow files, ``iotgraph`` child processes and store checks shared by the robustness tests.

The generated network: twelve cameras and sensors 192.168.1.10-21 talk to
the gateway 192.168.1.1 (DNS) and to two cloud servers every minute. From
the fourth window on, 192.168.1.66 scans the cameras on telnet (labelled
malicious). Everything is seeded, so two calls write the same bytes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graphdb import GraphStore

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_100.0  # a multiple of 300: windows of 5 minutes start here
WINDOW = 300.0
DEVICES = [f"192.168.1.{host}" for host in range(10, 22)]
GATEWAY = "192.168.1.1"
CLOUD = ["203.0.113.10", "198.51.100.20"]
INFECTED = "192.168.1.66"
ZEEK_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "orig_pkts", "resp_pkts", "label", "detailed-label",
)  # fmt: skip
ZEEK_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\t"
    + "\t".join(ZEEK_FIELDS)
    + "\n"
)


def zeek_line(ts: float, uid: str, src: str, dst: str, *, port: int, proto: str = "tcp", out: int = 100, back: int = 200, state: str = "SF", label: str = "Benign", attack: str = "-") -> str:
    fields = [f"{ts:.6f}", uid, src, "40000", dst, str(port), proto, "-", "0.5", str(out), str(back), state, "2", "3", label, attack]
    return "\t".join(fields)


def network_lines(*, windows: int = 10, seed: int = 3) -> list[str]:
    """Return the data lines of the generated network, in time order."""
    rng = random.Random(seed)
    events: list[tuple[float, str, str, int, str, int, int, str, str, str]] = []
    for minute in range(windows * 5):
        base = T0 + minute * 60
        for device in DEVICES:
            events.append((base + rng.uniform(0, 59), device, GATEWAY, 53, "udp", 60, 120, "SF", "Benign", "-"))
            cloud = CLOUD[rng.randrange(len(CLOUD))]
            events.append((base + rng.uniform(0, 59), device, cloud, 443, "tcp", rng.randrange(200, 2000), rng.randrange(500, 9000), "SF", "Benign", "-"))
        if minute >= 15:
            target = DEVICES[rng.randrange(len(DEVICES))]
            events.append((base + rng.uniform(0, 59), INFECTED, target, 23, "tcp", 0, 0, "S0", "Malicious", "PartOfAHorizontalPortScan"))
    events.sort()
    return [
        zeek_line(ts, f"C{index:06d}", src, dst, port=port, proto=proto, out=out, back=back, state=state, label=label, attack=attack)
        for index, (ts, src, dst, port, proto, out, back, state, label, attack) in enumerate(events)
    ]


def write_network_log(path: Path, *, windows: int = 10, seed: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ZEEK_HEADER + "\n".join(network_lines(windows=windows, seed=seed)) + "\n", encoding="utf-8")
    return path


# -- child processes ----------------------------------------------------------------


class Command:
    """An ``iotgraph`` command in a child process, its output in a log file."""

    def __init__(self, args: list[str], log: Path, *, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log = log
        self._handle = log.open("w")
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", "IOTGRAPH_LOG_LEVEL": "INFO", **(env or {})}
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "iotgraph.cli", *args],
            cwd=REPO_ROOT,
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            env=environment,
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait(self, timeout: float = 120.0) -> int:
        try:
            return self.popen.wait(timeout)
        finally:
            self._handle.close()

    def kill(self) -> None:
        """SIGKILL: no handler, no clean-up, no final commit."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.wait(30)

    @property
    def running(self) -> bool:
        return self.popen.poll() is None


def run_command(args: list[str], log: Path, *, env: dict[str, str] | None = None, timeout: float = 180.0) -> str:
    """Run an ``iotgraph`` command to its end; raise AssertionError with its output when it fails."""
    command = Command(args, log, env=env)
    code = command.wait(timeout)
    if code != 0:
        raise AssertionError(f"iotgraph {' '.join(args)} exited with {code}:\n{command.output()}")
    return command.output()


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.005, description: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {description}")
        time.sleep(interval)


def kill_when(command: Command, condition: Callable[[], bool], *, timeout: float, description: str) -> None:
    """SIGKILL ``command`` as soon as ``condition`` holds; fail when the command ends first."""

    def ready() -> bool:
        if not command.running:
            raise AssertionError(f"iotgraph {' '.join(command.args)} ended before {description}:\n{command.output()}")
        return condition()

    wait_until(ready, timeout=timeout, description=description)
    command.kill()


# -- store checks -------------------------------------------------------------------


@dataclass(frozen=True)
class WindowStats:
    flows: int
    devices: int
    edges: int
    edge_flows: int
    edge_bytes_out: int


def window_stats(store: GraphStore) -> dict[float, WindowStats]:
    """Per-window counts, both as the window row states them and as its edges add up."""
    stats = {}
    for window in store.windows():
        edges = store.export_window(window.start).edges
        stats[window.start] = WindowStats(
            flows=window.flows,
            devices=window.devices,
            edges=window.edges,
            edge_flows=int(edges["flows"].sum()),
            edge_bytes_out=int(edges["bytes_out"].sum()),
        )
    return stats


def score_rows(store: GraphStore) -> dict[tuple[str, float], tuple[float, int | None, str]]:
    """Every stored score by (device, window): score rounded to 1e-9, rank and model version."""
    rows = {}
    for window in store.windows():
        for score in store.suspicious(window.start, limit=100_000):
            rows[(score.device_id, score.window_start)] = (round(score.score, 9), score.rank, score.model_version)
    return rows


def consistency_problems(store: GraphStore) -> list[str]:
    """Return every broken invariant of a store: half-written windows, scores without history, stuck jobs.

    Checks through the GraphStore interface only, so it applies to every store.
    """
    problems = []
    for window in store.windows():
        graph = store.export_window(window.start)
        edges = graph.edges
        if window.flows != int(edges["flows"].sum()):
            problems.append(f"window {window.start}: flows {window.flows} but its edges carry {int(edges['flows'].sum())}")
        if window.edges != len(edges):
            problems.append(f"window {window.start}: edges {window.edges} but {len(edges)} stored")
        if window.devices != len(graph.devices):
            problems.append(f"window {window.start}: devices {window.devices} but {len(graph.devices)} endpoints")
        missing = set(graph.devices["id"]) - set(store.devices_by_id(list(graph.devices["id"])))
        if missing:
            problems.append(f"window {window.start}: edge endpoints without a device: {sorted(missing)[:3]}")
        if window.status == "scored":
            scored = store.suspicious(window.start, limit=100_000)
            if len(scored) != len(graph.devices):
                problems.append(f"window {window.start}: scored, but {len(scored)} scores for {len(graph.devices)} devices")

    for device in store.list_devices(limit=100_000):
        if device.anomaly_score is None:
            continue
        history = [s for s in store.score_history(device.id) if s.window_start == device.anomaly_window and s.model_version == device.model_version]
        if not history:
            problems.append(f"device {device.id}: latest score from window {device.anomaly_window} has no history row")
    return problems

