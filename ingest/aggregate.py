"""Aggregation of windowed flows into COMMUNICATED edges and device records.

The output is mergeable: counts add, first/last timestamps take min/max and
histograms add per key, so a window split over several chunks or files
aggregates to the same edges as the whole.
"""

from __future__ import annotations

import ipaddress
import json
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


# A canonical dotted-quad IPv4 address: four decimal octets 0-255 without
# leading zeros, the only IPv4 text that ipaddress.ip_address accepts.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"


def internal_mask(addresses: np.ndarray | pd.Series | list[str]) -> np.ndarray:
    """Return ``is_internal`` of every address as a boolean array.

    IPv4 addresses are tested on their octets in numpy, which is much faster
    than parsing each one; anything else (IPv6, host names) goes through
    ``is_internal``.
    """
    text = pd.Series(np.asarray(addresses, dtype=object), dtype=object).astype(str)
    result = np.zeros(len(text), dtype=bool)
    if len(text) == 0:
        return result
    ipv4 = text.str.match(_IPV4).to_numpy(dtype=bool)
    if ipv4.any():
        octets = text[ipv4].str.split(".", expand=True).astype(np.int64).to_numpy()
        a, b = octets[:, 0], octets[:, 1]
        whole = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
        result[ipv4] = (
            (a == 10)
            | ((a == 172) & (b >= 16) & (b <= 31))
            | ((a == 192) & (b == 168))
            | (a == 127)
            | ((a == 169) & (b == 254))
            | ((a >= 224) & (a <= 239))
            | (whole == 0xFFFFFFFF)
            | (whole == 0)
        )
    others = np.flatnonzero(~ipv4)
    result[others] = [is_internal(address) for address in text.iloc[others].tolist()]
    return result


def _value_counts(frame: pd.DataFrame, column: str, *, edge_codes: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Count each edge's set values of one column.

    Returns ``(edges, names, name_codes, counts)``: one entry per (edge,
    value) pair, sorted by edge and then by value in string order, so that
    each edge's values are adjacent and in the order JSON ``sort_keys`` gives.
    """
    values = frame[column]
    if column == "dst_port":
        keep = (values >= 0).to_numpy()
    else:
        keep = (values.notna() & (values != "") & (values != "-")).to_numpy()
    if not keep.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, [], empty, empty

    value_codes, uniques = pd.factorize(values[keep].astype(str).to_numpy())
    names = [str(name) for name in uniques]
    ranks = np.empty(len(names), dtype=np.int64)
    ranks[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    pairs = edge_codes[keep].astype(np.int64) * len(names) + ranks[value_codes]
    unique_pairs, counts = np.unique(pairs, return_counts=True)
    by_rank = np.argsort(ranks)
    return unique_pairs // len(names), names, by_rank[unique_pairs % len(names)], counts


def _edge_runs(edges: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    """Return, for sorted edge numbers, each distinct edge with the start and end of its run."""
    starts = np.flatnonzero(np.r_[True, edges[1:] != edges[:-1]]) if len(edges) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(edges)]
    return edges[starts].tolist(), starts.tolist(), ends.tolist()


def _histograms(frame: pd.DataFrame, column: str, *, edge_codes: np.ndarray, edge_count: int) -> list[dict[str, int]]:
    """Return one ``{value: flows}`` dict per edge, in edge-code order, skipping unset values.

    ``edge_codes`` gives each row's edge number in ``[0, edge_count)``. The
    counting runs in numpy; Python only builds one dict per edge that has values.
    """
    edges, names, name_codes, counts = _value_counts(frame, column, edge_codes=edge_codes)
    histograms: list[dict[str, int]] = [{} for _ in range(edge_count)]
    labels = [names[code] for code in name_codes.tolist()]
    tallies = counts.tolist()
    for edge, start, end in zip(*_edge_runs(edges)):
        histograms[edge] = dict(zip(labels[start:end], tallies[start:end]))
    return histograms


def _histogram_texts(frame: pd.DataFrame, column: str, *, edge_codes: np.ndarray, edge_count: int) -> list[str]:
    """Return each edge's histogram as compact JSON with sorted keys, as ``json.dumps(..., sort_keys=True)`` writes it.

    Writing the text here, from arrays, saves the stores one encoding call per edge and histogram.
    """
    edges, names, name_codes, counts = _value_counts(frame, column, edge_codes=edge_codes)
    texts = ["{}"] * edge_count
    quoted = [json.dumps(name) for name in names]
    pieces = [quoted[code] + ":" + str(count) for code, count in zip(name_codes.tolist(), counts.tolist())]
    for edge, start, end in zip(*_edge_runs(edges)):
        texts[edge] = "{" + ",".join(pieces[start:end]) + "}"
    return texts


def aggregate_edges(flows: pd.DataFrame, *, size: float, histograms_as_json: bool = False) -> pd.DataFrame:
    """Aggregate windowed flows (with ``window_start``) into one row per (window, src, dst).

    Histogram columns hold ``{value: flows}`` dicts, or with ``histograms_as_json``
    their compact JSON text with sorted keys, which every store accepts in a batch.
    """
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
    edge_codes = grouped.ngroup().to_numpy()
    build = _histogram_texts if histograms_as_json else _histograms
    for name, column in HISTOGRAM_SOURCES.items():
        edges[name] = build(work, column, edge_codes=edge_codes, edge_count=len(edges))
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
    devices["internal"] = internal_mask(devices["id"].to_numpy(dtype=object))
    return devices.loc[:, list(DEVICE_COLUMNS)]


def merge_histograms(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    merged = Counter(left or {})
    merged.update(right or {})
    return dict(merged)
