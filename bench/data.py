"""Inputs of the benchmarks: simulated conn logs of an exact size and synthetic windows of any size.

The simulator in ``ingest.simulate`` writes realistic logs but fits at most
64 515 devices (192.168.0.0/16), so windows of 100 000 devices and more are
synthetic: every device in 10.0.0.0/8 talks to its /24 gateway, to a few of
50 cloud addresses (Zipf-distributed, so some clouds are hubs with thousands
of peers) and to random other devices. One device in a hundred scans:
many failed, malicious flows to random peers on telnet.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from graphdb import GraphStore, open_store
from graphdb.model import DEVICE_COLUMNS, EDGE_COLUMNS, IngestBatch, WindowSpec

WINDOW = 300.0
# 2023-11-14T22:10:00Z, a multiple of the window length.
WINDOW_START = 1_699_999_800.0
CLOUDS = 50
SCANNER_SHARE = 0.01


def simulated_log(path: Path, flows: int, *, seed: int = 1) -> int:
    """Write a labelled Zeek conn.log of exactly ``flows`` data lines to ``path`` and return its size in bytes.

    The simulator's own count depends on the roles' rates, so it simulates
    somewhat more and the file keeps its header and the first ``flows`` lines.
    """
    from ingest.simulate import SimulationConfig, simulate

    devices = min(max(20, flows // 400), 60_000)
    hours = 5.0
    rate = flows * 1.1 / devices / hours
    full = path.with_suffix(".full")
    simulate(SimulationConfig(devices=devices, hours=hours, seed=seed, attacks=("mirai",), flows_per_device_hour=rate), full)

    written = 0
    with open(full, "rb") as source, open(path, "wb") as target:
        for line in source:
            if line.startswith(b"#"):
                if written == 0:
                    target.write(line)
                continue
            if written == flows:
                break
            target.write(line)
            written += 1
    full.unlink()
    if written < flows:
        raise RuntimeError(f"the simulation gave {written} flows, fewer than the {flows} requested; raise its rate")
    return path.stat().st_size


@dataclass
class SyntheticWindow:
    """One window's edges and devices, ready for ``GraphStore.upsert_batch``."""

    edges: pd.DataFrame
    devices: pd.DataFrame

    @property
    def device_count(self) -> int:
        return len(self.devices)


def device_addresses(count: int) -> np.ndarray:
    """Return ``count`` addresses 10.0.1.2, 10.0.1.3, ..., 253 per /24 with .1 left to the gateway."""
    index = np.arange(count)
    subnet, host = index // 253, index % 253 + 2
    second, third = subnet // 256, subnet % 256 + 0
    return np.array([f"10.{a}.{b}.{c}" for a, b, c in zip(second.tolist(), third.tolist(), host.tolist())], dtype=object)


def synthetic_window(devices: int, edges_per_device: float = 10.0, *, seed: int = 0, start: float = WINDOW_START) -> SyntheticWindow:
    """Build a window of about ``devices`` devices and ``devices * edges_per_device`` edges.

    Gateways and clouds count among the devices. Histograms are JSON text,
    as ``graphdb.load.build_batch`` hands them to the stores.
    """
    rng = np.random.default_rng(seed)
    hosts = device_addresses(devices)
    subnets = (np.arange(devices) // 253).astype(np.int64)
    gateways = np.array([f"10.{s // 256}.{s % 256}.1" for s in range(int(subnets.max()) + 1)], dtype=object)
    clouds = np.array([f"52.{i // 200}.{i % 200}.7" for i in range(CLOUDS)], dtype=object)

    per_device = max(edges_per_device - 2.0, 0.0)
    random_peers = rng.poisson(per_device, devices)
    cloud_weights = 1.0 / np.arange(1, CLOUDS + 1)
    cloud_weights /= cloud_weights.sum()

    src = np.concatenate([hosts, hosts, np.repeat(hosts, random_peers)])
    dst = np.concatenate([
        gateways[subnets],
        clouds[rng.choice(CLOUDS, devices, p=cloud_weights)],
        hosts[rng.integers(0, devices, int(random_peers.sum()))],
    ])  # fmt: skip
    pairs = pd.DataFrame({"src": src, "dst": dst}).drop_duplicates(ignore_index=True)
    pairs = pairs.loc[pairs["src"] != pairs["dst"]].reset_index(drop=True)

    scanners = set(hosts[rng.random(devices) < SCANNER_SHARE].tolist())
    scanning = pairs["src"].isin(scanners).to_numpy()
    count = len(pairs)
    flows = rng.geometric(0.2, count).astype(np.int64)
    flows[scanning] += 40
    bytes_out = (flows * rng.lognormal(6.0, 1.0, count)).astype(np.int64)
    bytes_out[scanning] = 0
    failed = np.where(scanning, flows, rng.binomial(flows, 0.02))
    malicious = np.where(scanning, flows, 0)
    first = start + rng.uniform(0, WINDOW / 2, count)
    port = np.where(scanning, 23, rng.choice([53, 123, 443, 80, 8883], count))

    edges = pd.DataFrame(
        {
            "window_start": start,
            "window_end": start + WINDOW,
            "src": pairs["src"].to_numpy(),
            "dst": pairs["dst"].to_numpy(),
            "flows": flows,
            "bytes_out": bytes_out,
            "bytes_in": (bytes_out * rng.uniform(0.5, 3.0, count)).astype(np.int64) * (~scanning),
            "pkts_out": flows * 3,
            "pkts_in": np.where(scanning, 0, flows * 3),
            "duration_sum": flows * rng.uniform(0.05, 2.0, count),
            "failed_flows": failed,
            "malicious_flows": malicious,
            "benign_flows": flows - malicious,
            "first_ts": first,
            "last_ts": first + rng.uniform(0, WINDOW / 2, count),
            "protocols": [_json({"tcp": int(n)}) if p != 53 else _json({"udp": int(n)}) for p, n in zip(port.tolist(), flows.tolist())],
            "dst_ports": [_json({str(p): int(n)}) for p, n in zip(port.tolist(), flows.tolist())],
            "conn_states": [_json({"S0": int(f), "SF": int(n - f)} if f else {"SF": int(n)}) for f, n in zip(failed.tolist(), flows.tolist())],
            "services": ["{}"] * count,
            "attacks": [_json({"PartOfAHorizontalPortScan": int(m)}) if m else "{}" for m in malicious.tolist()],
        }
    ).loc[:, list(EDGE_COLUMNS)]

    ids = pd.unique(np.concatenate([edges["src"].to_numpy(), edges["dst"].to_numpy()]))
    labelled = pd.concat([edges[["src", "flows"]].rename(columns={"src": "id"}), edges[["dst", "flows"]].rename(columns={"dst": "id"})])
    labelled_flows = labelled.groupby("id")["flows"].sum()
    originated = edges.groupby("src")["malicious_flows"].sum()
    frame = pd.DataFrame({"id": ids})
    frame["ip"] = frame["id"]
    frame["internal"] = [not str(i).startswith("52.") for i in ids]
    frame["first_seen"] = start
    frame["last_seen"] = start + WINDOW - 1
    frame["malicious_flows"] = originated.reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    frame["labelled_flows"] = labelled_flows.reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    return SyntheticWindow(edges=edges, devices=frame.loc[:, list(DEVICE_COLUMNS)])


def fill_store(url: str, windows: list[SyntheticWindow], *, batch_edges: int = 200_000) -> GraphStore:
    """Write synthetic windows into the store at ``url`` (5-minute windows) and return it open."""
    store = open_store(url)
    store.set_window_spec(WindowSpec(size=WINDOW, step=WINDOW))
    for number, window in enumerate(windows):
        parts = max(1, math.ceil(len(window.edges) / batch_edges))
        for part in range(parts):
            edges = window.edges.iloc[part * batch_edges : (part + 1) * batch_edges]
            devices = window.devices if part == 0 else window.devices.iloc[:0]
            batch = IngestBatch(flow_ids=[], edges=edges, devices=devices, flow_windows=[])
            # One synthetic flow id per window part, so the store counts the flows it was given.
            batch.flow_ids = [f"synthetic-{number}-{part}-{window.edges['window_start'].iloc[0]}"]
            batch.flow_windows = [float(window.edges["window_start"].iloc[0])]
            store.upsert_batch(batch)
    return store


def _json(histogram: dict[str, int]) -> str:
    return json.dumps(histogram, separators=(",", ":"), sort_keys=True)
