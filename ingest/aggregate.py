"""Aggregation of windowed flows into COMMUNICATED edges and device records.

The output is mergeable: counts add, first/last timestamps take min/max and
histograms add per key, so a window split over several chunks or files
aggregates to the same edges as the whole.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from functools import lru_cache

import numpy as np
import pandas as pd

from ingest.record import BENIGN, FAILED_CONN_STATES, MALICIOUS

EDGE_KEY = ["window_start", "src", "dst"]
HISTOGRAM_SOURCES = {
    "protocols": "proto",
    "dst_ports": "dst_port",
    "conn_states": "conn_state",
    "services": "service",
    "attacks": "attack",
}


# Networks that never leave a site: RFC 1918, loopback, link-local, IPv6
# unique-local, plus multicast and broadcast, which local discovery uses.
_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "255.255.255.255/32",
        "0.0.0.0/32",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


@lru_cache(maxsize=1_000_000)
def is_internal(address: str) -> bool:
    """Return True for addresses that stay inside a site, and for non-IP ids.

    Anonymised datasets name hosts (``Comp123456``) instead of addresses; those
    are internal enterprise hosts, so anything that is not an IP counts as internal.
    Documentation ranges such as 198.51.100.0/24 count as external.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in _LOCAL_NETWORKS)


def _histograms(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return one ``{value: flows}`` dict per edge key, skipping unset values."""
    values = frame[column]
    if column == "dst_port":
        keep = values >= 0
    else:
        keep = values.notna() & (values != "") & (values != "-")
    subset = frame.loc[keep, EDGE_KEY].copy()
    subset["value"] = values[keep].astype(str).to_numpy()
    counts = subset.groupby(EDGE_KEY + ["value"], sort=False).size()
    result: dict[tuple, dict[str, int]] = {}
    for (window_start, src, dst, value), count in counts.items():
        result.setdefault((window_start, src, dst), {})[value] = int(count)
    return pd.Series(result, dtype=object)


def aggregate_edges(flows: pd.DataFrame, *, size: float) -> pd.DataFrame:
    """Aggregate windowed flows (with ``window_start``) into one row per (window, src, dst)."""
    from graphdb.model import EDGE_COLUMNS  # local import keeps ingest free of store modules at import time

    if flows.empty:
        return pd.DataFrame({name: [] for name in EDGE_COLUMNS})

    work = flows.assign(
        failed=flows["conn_state"].isin(FAILED_CONN_STATES).astype(np.int64),
        malicious=(flows["label"] == MALICIOUS).astype(np.int64),
        benign=(flows["label"] == BENIGN).astype(np.int64),
        duration_clean=flows["duration"].fillna(0.0),
    )
    grouped = work.groupby(EDGE_KEY, sort=True)
    edges = grouped.agg(
        flows=("ts", "size"),
        bytes_out=("bytes_out", "sum"),
        bytes_in=("bytes_in", "sum"),
        pkts_out=("pkts_out", "sum"),
        pkts_in=("pkts_in", "sum"),
        duration_sum=("duration_clean", "sum"),
        failed_flows=("failed", "sum"),
        malicious_flows=("malicious", "sum"),
        benign_flows=("benign", "sum"),
        first_ts=("ts", "min"),
        last_ts=("ts", "max"),
    )
    for name, column in HISTOGRAM_SOURCES.items():
        histograms = _histograms(work, column)
        edges[name] = [histograms.get(key, {}) if len(histograms) else {} for key in edges.index]
    edges = edges.reset_index()
    edges["window_end"] = edges["window_start"] + size
    return edges.loc[:, list(EDGE_COLUMNS)]


def aggregate_devices(flows: pd.DataFrame) -> pd.DataFrame:
    """Summarise what a batch saw of each device: first/last seen and originated labels."""
    from graphdb.model import DEVICE_COLUMNS

    if flows.empty:
        return pd.DataFrame({name: [] for name in DEVICE_COLUMNS})

    labelled = flows["label"].isin((BENIGN, MALICIOUS)).astype(np.int64)
    as_src = pd.DataFrame(
        {
            "id": flows["src"],
            "ts": flows["ts"],
            "malicious": (flows["label"] == MALICIOUS).astype(np.int64),
            "labelled": labelled,
        }
    )
    as_dst = pd.DataFrame({"id": flows["dst"], "ts": flows["ts"], "malicious": 0, "labelled": labelled})
    both = pd.concat([as_src, as_dst], ignore_index=True)
    devices = both.groupby("id", sort=True).agg(
        first_seen=("ts", "min"),
        last_seen=("ts", "max"),
        malicious_flows=("malicious", "sum"),
        labelled_flows=("labelled", "sum"),
    )
    devices = devices.reset_index()
    devices["ip"] = devices["id"]
    devices["internal"] = [is_internal(str(device_id)) for device_id in devices["id"]]
    return devices.loc[:, list(DEVICE_COLUMNS)]


def merge_histograms(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    merged = Counter(left or {})
    merged.update(right or {})
    return dict(merged)
