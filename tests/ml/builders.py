"""Hand-built windows and flows for the ml tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from graphdb.model import EDGE_COLUMNS, Window, WindowGraph
from ingest.record import coerce_flows

WINDOW = 300.0
T0 = 1_700_000_100.0  # a multiple of 300 s: 1_700_000_100 / 300 = 5_666_667


def edge(src: str, dst: str, **values: Any) -> dict[str, Any]:
    """Return one edge aggregate row; unspecified counts are 0 and histograms empty."""
    row: dict[str, Any] = {
        "src": src,
        "dst": dst,
        "flows": 1,
        "bytes_out": 0,
        "bytes_in": 0,
        "pkts_out": 0,
        "pkts_in": 0,
        "duration_sum": 0.0,
        "failed_flows": 0,
        "malicious_flows": 0,
        "benign_flows": 0,
        "protocols": {},
        "dst_ports": {},
        "conn_states": {},
        "services": {},
        "attacks": {},
    }
    row.update(values)
    return row


def window_graph(edges: Sequence[dict[str, Any]], *, start: float = T0, devices: Sequence[str] = ()) -> WindowGraph:
    """Build a WindowGraph whose devices are the edges' endpoints plus ``devices``, sorted by id."""
    frame = pd.DataFrame([{**row, "window_start": start, "window_end": start + WINDOW, "first_ts": start, "last_ts": start} for row in edges])
    if frame.empty:
        frame = pd.DataFrame({name: [] for name in EDGE_COLUMNS})
    frame = frame.loc[:, list(EDGE_COLUMNS)]
    ids = sorted(set(frame["src"]).union(frame["dst"]).union(devices))
    device_frame = pd.DataFrame({"id": ids, "internal": [True] * len(ids)})
    window = Window(start=start, end=start + WINDOW, flows=int(frame["flows"].sum()), devices=len(ids), edges=len(frame))
    return WindowGraph(window=window, devices=device_frame, edges=frame)


def scanner_windows(count: int, *, seed: int = 0, scanners: int = 4, normals: int = 16) -> list[WindowGraph]:
    """Windows of a small network where ``scanners`` devices telnet-scan external hosts.

    Normal devices send benign flows to the gateway's DNS and a cloud service.
    Each scanner sends failed malicious TCP flows to port 23 of 30 hosts drawn
    from 60 external addresses. Under the originator rule the scanners are
    anomalous and every other device is normal.
    """
    rng = np.random.default_rng(seed)
    graphs = []
    for k in range(count):
        edges = []
        for i in range(normals):
            device = f"10.0.0.{10 + i}"
            edges.append(
                edge(device, "10.0.0.1", flows=5, bytes_out=400, bytes_in=900, pkts_out=5, pkts_in=5, duration_sum=0.5,
                     benign_flows=5, protocols={"udp": 5}, dst_ports={"53": 5})
            )  # fmt: skip
            edges.append(
                edge(device, "52.1.1.1", flows=2, bytes_out=3000, bytes_in=9000, pkts_out=20, pkts_in=25, duration_sum=20.0,
                     benign_flows=2, protocols={"tcp": 2}, dst_ports={"443": 2})
            )  # fmt: skip
        for i in range(scanners):
            device = f"10.0.0.{100 + i}"
            for target in rng.choice(60, size=30, replace=False):
                edges.append(
                    edge(device, f"45.33.0.{target}", flows=1, bytes_out=0, pkts_out=2, failed_flows=1, malicious_flows=1,
                         protocols={"tcp": 1}, dst_ports={"23": 1})
                )  # fmt: skip
        graphs.append(window_graph(edges, start=T0 + k * WINDOW))
    return graphs


def regular_windows(count: int, *, outlier_window: int | None = None, outlier: str = "10.0.0.5") -> list[WindowGraph]:
    """Windows of 12 devices that each query DNS and sync with a cloud host, with small variations.

    In window ``outlier_window`` the device ``outlier`` also sends 400 failed
    flows to 200 ports of 100 external hosts; no flow carries a label.
    """
    rng = np.random.default_rng(1)
    graphs = []
    for k in range(count):
        edges = []
        for i in range(12):
            device = f"10.0.0.{i + 2}"
            dns = int(rng.integers(4, 7))
            edges.append(
                edge(device, "10.0.0.1", flows=dns, bytes_out=80 * dns, bytes_in=200 * dns, pkts_out=dns, pkts_in=dns,
                     duration_sum=0.1 * dns, protocols={"udp": dns}, dst_ports={"53": dns})
            )  # fmt: skip
            edges.append(
                edge(device, "52.1.1.1", flows=2, bytes_out=int(rng.integers(2000, 4000)), bytes_in=int(rng.integers(8000, 10000)),
                     pkts_out=20, pkts_in=25, duration_sum=20.0, protocols={"tcp": 2}, dst_ports={"443": 2})
            )  # fmt: skip
        if k == outlier_window:
            for host in range(100):
                ports = {str(1000 + 2 * host): 2, str(1001 + 2 * host): 2}
                edges.append(
                    edge(outlier, f"45.33.1.{host}", flows=4, bytes_out=0, pkts_out=4, failed_flows=4,
                         protocols={"tcp": 4}, dst_ports=ports)
                )  # fmt: skip
        graphs.append(window_graph(edges, start=T0 + k * WINDOW))
    return graphs


def flows_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Build a normalised flow frame from partial rows; missing columns get neutral values."""
    defaults: dict[str, Any] = {
        "src_port": 40000,
        "dst_port": 80,
        "proto": "tcp",
        "service": "-",
        "duration": 0.1,
        "bytes_out": 100,
        "bytes_in": 100,
        "pkts_out": 1,
        "pkts_in": 1,
        "conn_state": "SF",
        "label": "unknown",
        "attack": "-",
    }
    complete = [{**defaults, "flow_id": f"f{i}", **row} for i, row in enumerate(rows)]
    return coerce_flows(pd.DataFrame(complete))


def scanner_flows(windows: int, *, labelled: bool = True) -> pd.DataFrame:
    """Flow records of ``windows`` consecutive 5-minute windows of the scanner network.

    Each window: 8 devices send 3 DNS flows to the gateway, and 10.0.0.100
    sends 20 failed telnet flows to 20 external hosts. With ``labelled`` the
    scans are malicious and the DNS flows benign; otherwise all are unknown.
    """
    rows = []
    for k in range(windows):
        base = T0 + k * WINDOW + 10.0
        for i in range(8):
            for j in range(3):
                rows.append({"ts": base + i + j / 10, "src": f"10.0.0.{10 + i}", "dst": "10.0.0.1", "dst_port": 53,
                             "proto": "udp", "label": "benign" if labelled else "unknown"})  # fmt: skip
        for target in range(20):
            rows.append({"ts": base + 50 + target, "src": "10.0.0.100", "dst": f"45.33.0.{(target + 7 * k) % 60}",
                         "dst_port": 23, "conn_state": "S0", "bytes_in": 0, "pkts_in": 0,
                         "label": "malicious" if labelled else "unknown", "attack": "PartOfAHorizontalPortScan"})  # fmt: skip
    return flows_frame(rows)
