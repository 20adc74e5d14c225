"""Per-device features and labels of one window, computed from its edge aggregates.

A device's features combine its out-edges (the device originated the flows)
and its in-edges (the device responded). "Sent" bytes and packets are what
the device transmitted in either role: ``bytes_out`` of its out-edges plus
``bytes_in`` of its in-edges. Counts, byte volumes, durations and bytes per
flow are ``log1p``-transformed; shares lie in [0, 1]; entropies are in nats.
A device without edges gets zeros everywhere.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ingest.aggregate import is_internal

logger = logging.getLogger(__name__)

ANOMALOUS = 1
NORMAL = 0
UNKNOWN_LABEL = -1
LABEL_RULES = ("originator", "any")

FEATURE_DESCRIPTIONS: dict[str, str] = {
    "flows_out": "flows the device originated (log1p)",
    "flows_in": "flows the device responded to (log1p)",
    "bytes_sent": "bytes the device sent as originator or responder (log1p)",
    "bytes_received": "bytes the device received as originator or responder (log1p)",
    "pkts_sent": "packets the device sent (log1p)",
    "pkts_received": "packets the device received (log1p)",
    "distinct_peers_out": "distinct devices the device contacted (log1p)",
    "distinct_peers_in": "distinct devices that contacted the device (log1p)",
    "distinct_dst_ports": "distinct destination ports of originated flows (log1p)",
    "dst_port_entropy": "entropy in nats of the destination ports of originated flows",
    "peer_entropy": "entropy in nats of the flows per peer, both directions",
    "tcp_share": "share of originated flows over TCP",
    "udp_share": "share of originated flows over UDP",
    "icmp_share": "share of originated flows over ICMP",
    "failed_share": "share of originated flows that failed (no reply, rejected, reset early)",
    "mean_duration": "mean flow duration in seconds, both directions (log1p)",
    "external_peer_share": "share of distinct peers outside private, loopback and link-local ranges",
    "bytes_per_flow": "bytes sent and received per flow, both directions (log1p)",
}
FEATURES: tuple[str, ...] = tuple(FEATURE_DESCRIPTIONS)

# Volume counts only, without ratios or entropies, for ablation studies.
BASIC_FEATURES: tuple[str, ...] = (
    "flows_out",
    "flows_in",
    "bytes_sent",
    "bytes_received",
    "pkts_sent",
    "pkts_received",
    "distinct_peers_out",
    "distinct_peers_in",
    "distinct_dst_ports",
)

# Features stored as log1p of a natural quantity; explanations undo the transform.
LOG1P_FEATURES: frozenset[str] = frozenset(
    BASIC_FEATURES + ("mean_duration", "bytes_per_flow")
)

_PROTOCOL_SHARES = {"tcp_share": "tcp", "udp_share": "udp", "icmp_share": "icmp"}


def device_features(devices: pd.DataFrame, edges: pd.DataFrame) -> pd.DataFrame:
    """Compute ``FEATURES`` for every device of one window.

    Returns a float64 frame indexed by device id, in the order of
    ``devices["id"]``, with one column per name in ``FEATURES``. Edges whose
    endpoints are not in ``devices`` only contribute to the devices that are.
    Destination port -1 (a protocol without ports) counts towards neither the
    distinct ports nor the port entropy.
    """
    ids = devices["id"].astype(str).tolist()
    result = pd.DataFrame(0.0, index=pd.Index(ids, name="id"), columns=list(FEATURES))
    if edges.empty or not ids:
        return result

    src = edges["src"].astype(str).to_numpy()
    dst = edges["dst"].astype(str).to_numpy()
    flows = _numeric(edges, "flows")

    out_side = pd.DataFrame(
        {
            "device": src,
            "peer": dst,
            "flows": flows,
            "sent": _numeric(edges, "bytes_out"),
            "received": _numeric(edges, "bytes_in"),
            "pkts_sent": _numeric(edges, "pkts_out"),
            "pkts_received": _numeric(edges, "pkts_in"),
            "duration": _numeric(edges, "duration_sum"),
            "failed": _numeric(edges, "failed_flows"),
        }
    )
    in_side = pd.DataFrame(
        {
            "device": dst,
            "peer": src,
            "flows": flows,
            "sent": _numeric(edges, "bytes_in"),
            "received": _numeric(edges, "bytes_out"),
            "pkts_sent": _numeric(edges, "pkts_in"),
            "pkts_received": _numeric(edges, "pkts_out"),
            "duration": _numeric(edges, "duration_sum"),
            "failed": 0.0,
        }
    )
    both = pd.concat([out_side, in_side], ignore_index=True)

    out_totals = out_side.groupby("device").agg(
        flows=("flows", "sum"), failed=("failed", "sum"), peers=("peer", "nunique")
    )
    in_totals = in_side.groupby("device").agg(flows=("flows", "sum"), peers=("peer", "nunique"))
    all_totals = both.groupby("device").agg(
        flows=("flows", "sum"),
        sent=("sent", "sum"),
        received=("received", "sum"),
        pkts_sent=("pkts_sent", "sum"),
        pkts_received=("pkts_received", "sum"),
        duration=("duration", "sum"),
    )

    def column(frame: pd.DataFrame, name: str) -> np.ndarray:
        return frame[name].reindex(ids, fill_value=0.0).to_numpy(dtype=np.float64)

    flows_out = column(out_totals, "flows")
    flows_total = column(all_totals, "flows")
    result["flows_out"] = np.log1p(flows_out)
    result["flows_in"] = np.log1p(column(in_totals, "flows"))
    result["bytes_sent"] = np.log1p(column(all_totals, "sent"))
    result["bytes_received"] = np.log1p(column(all_totals, "received"))
    result["pkts_sent"] = np.log1p(column(all_totals, "pkts_sent"))
    result["pkts_received"] = np.log1p(column(all_totals, "pkts_received"))
    result["distinct_peers_out"] = np.log1p(column(out_totals, "peers"))
    result["distinct_peers_in"] = np.log1p(column(in_totals, "peers"))
    result["failed_share"] = _share(column(out_totals, "failed"), flows_out)
    result["mean_duration"] = np.log1p(_share(column(all_totals, "duration"), flows_total))
    volume = column(all_totals, "sent") + column(all_totals, "received")
    result["bytes_per_flow"] = np.log1p(_share(volume, flows_total))

    _add_histogram_features(result, src, edges, flows_out)
    _add_peer_features(result, both)
    return result


def device_window_labels(devices: pd.DataFrame, edges: pd.DataFrame, rule: str = "originator") -> pd.Series:
    """Label every device of one window: 1 anomalous, 0 normal, -1 unknown.

    Rule ``originator``: anomalous when the device originated at least one
    malicious flow, normal when it took part in a labelled flow (either end)
    and originated none that was malicious. Rule ``any``: anomalous when the
    device took part in a malicious flow at either end, normal when it took
    part in labelled flows only benign ones. Every other device is unknown.
    Returns an int64 series indexed by device id in the devices' order.
    """
    if rule not in LABEL_RULES:
        raise ValueError(f"invalid label rule {rule!r}: expected one of {', '.join(LABEL_RULES)}")

    ids = devices["id"].astype(str).tolist()
    labels = pd.Series(UNKNOWN_LABEL, index=pd.Index(ids, name="id"), dtype=np.int64)
    if edges.empty or not ids:
        return labels

    src = edges["src"].astype(str).to_numpy()
    dst = edges["dst"].astype(str).to_numpy()
    malicious = _numeric(edges, "malicious_flows")
    labelled = malicious + _numeric(edges, "benign_flows")

    ends = pd.DataFrame(
        {
            "device": np.concatenate([src, dst]),
            "labelled": np.concatenate([labelled, labelled]),
            "malicious": np.concatenate([malicious, malicious]),
        }
    )
    per_device = ends.groupby("device")[["labelled", "malicious"]].sum().reindex(ids, fill_value=0.0)
    originated = pd.Series(malicious, index=src).groupby(level=0).sum().reindex(ids, fill_value=0.0)

    anomalous = (originated > 0) if rule == "originator" else (per_device["malicious"] > 0)
    labels[per_device["labelled"].to_numpy() > 0] = NORMAL
    labels[anomalous.to_numpy()] = ANOMALOUS
    return labels


def edge_labels(edges: pd.DataFrame) -> pd.Series:
    """Label every edge: 1 when it carries a malicious flow, 0 when only benign ones, -1 otherwise."""
    labels = pd.Series(UNKNOWN_LABEL, index=edges.index, dtype=np.int64)
    if edges.empty:
        return labels
    labels[_numeric(edges, "benign_flows") > 0] = NORMAL
    labels[_numeric(edges, "malicious_flows") > 0] = ANOMALOUS
    return labels


def entropy(counts: Iterable[float]) -> float:
    """Return the Shannon entropy in nats of a distribution given as counts; 0 for an empty one."""
    values = np.array([c for c in counts if c > 0], dtype=np.float64)
    total = values.sum()
    if total <= 0:
        return 0.0
    p = values / total
    return float(-(p * np.log(p)).sum())


def histogram(value: object) -> Mapping[str, float]:
    """Return an edge histogram as a mapping; accept a dict, its JSON text, or nothing."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value:
        decoded = json.loads(value)
        if isinstance(decoded, dict):
            return decoded
    return {}


def _numeric(edges: pd.DataFrame, name: str) -> np.ndarray:
    if name not in edges.columns:
        return np.zeros(len(edges), dtype=np.float64)
    return pd.to_numeric(edges[name], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    return np.divide(part, whole, out=np.zeros_like(part, dtype=np.float64), where=whole > 0)


def _add_histogram_features(result: pd.DataFrame, src: np.ndarray, edges: pd.DataFrame, flows_out: np.ndarray) -> None:
    """Fill protocol shares and destination-port features from the out-edges' histograms."""
    position = {device_id: i for i, device_id in enumerate(result.index)}
    protocols: dict[int, Counter] = {}
    ports: dict[int, Counter] = {}
    protocol_column = edges["protocols"] if "protocols" in edges.columns else [None] * len(edges)
    port_column = edges["dst_ports"] if "dst_ports" in edges.columns else [None] * len(edges)

    for device_id, edge_protocols, edge_ports in zip(src, protocol_column, port_column):
        i = position.get(device_id)
        if i is None:
            continue
        counter = protocols.setdefault(i, Counter())
        for name, count in histogram(edge_protocols).items():
            counter[str(name).lower()] += float(count)
        port_counter = ports.setdefault(i, Counter())
        for port, count in histogram(edge_ports).items():
            if str(port) != "-1":
                port_counter[str(port)] += float(count)

    for feature, protocol in _PROTOCOL_SHARES.items():
        counts = np.zeros(len(result), dtype=np.float64)
        for i, counter in protocols.items():
            counts[i] = counter.get(protocol, 0.0)
        result[feature] = _share(counts, flows_out)

    distinct = np.zeros(len(result), dtype=np.float64)
    port_entropy = np.zeros(len(result), dtype=np.float64)
    for i, counter in ports.items():
        distinct[i] = len(counter)
        port_entropy[i] = entropy(counter.values())
    result["distinct_dst_ports"] = np.log1p(distinct)
    result["dst_port_entropy"] = port_entropy


def _add_peer_features(result: pd.DataFrame, both: pd.DataFrame) -> None:
    """Fill peer entropy and external-peer share from flows per (device, peer) in both directions."""
    per_peer = both.groupby(["device", "peer"], sort=False)["flows"].sum()
    peer_entropy: dict[str, float] = {}
    external_share: dict[str, float] = {}
    for device_id, peers in per_peer.groupby(level=0, sort=False):
        peer_ids = peers.index.get_level_values(1)
        peer_entropy[device_id] = entropy(peers.to_numpy())
        external = sum(1 for peer in peer_ids if not is_internal(str(peer)))
        external_share[device_id] = external / len(peer_ids) if len(peer_ids) else 0.0

    result["peer_entropy"] = pd.Series(peer_entropy, dtype=np.float64).reindex(result.index, fill_value=0.0)
    result["external_peer_share"] = pd.Series(external_share, dtype=np.float64).reindex(result.index, fill_value=0.0)


def natural_value(feature: str, value: float) -> float:
    """Undo the log1p transform of a feature value, so that it reads as a count, byte volume or seconds."""
    if feature in LOG1P_FEATURES:
        return float(math.expm1(value))
    return float(value)
