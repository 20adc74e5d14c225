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

from ingest.aggregate import internal_mask

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

    ends = _Endpoints(ids, edges)
    flows = _numeric(edges, "flows")
    bytes_out, bytes_in = _numeric(edges, "bytes_out"), _numeric(edges, "bytes_in")
    pkts_out, pkts_in = _numeric(edges, "pkts_out"), _numeric(edges, "pkts_in")
    duration = _numeric(edges, "duration_sum")

    # "out" sums over the edges a device originated, "in" over those it responded to.
    flows_out = ends.out_sum(flows)
    flows_total = flows_out + ends.in_sum(flows)
    sent = ends.out_sum(bytes_out) + ends.in_sum(bytes_in)
    received = ends.out_sum(bytes_in) + ends.in_sum(bytes_out)
    result["flows_out"] = np.log1p(flows_out)
    result["flows_in"] = np.log1p(ends.in_sum(flows))
    result["bytes_sent"] = np.log1p(sent)
    result["bytes_received"] = np.log1p(received)
    result["pkts_sent"] = np.log1p(ends.out_sum(pkts_out) + ends.in_sum(pkts_in))
    result["pkts_received"] = np.log1p(ends.out_sum(pkts_in) + ends.in_sum(pkts_out))
    result["distinct_peers_out"] = np.log1p(ends.distinct_peers(outgoing=True))
    result["distinct_peers_in"] = np.log1p(ends.distinct_peers(outgoing=False))
    result["failed_share"] = _share(ends.out_sum(_numeric(edges, "failed_flows")), flows_out)
    result["mean_duration"] = np.log1p(_share(ends.out_sum(duration) + ends.in_sum(duration), flows_total))
    result["bytes_per_flow"] = np.log1p(_share(sent + received, flows_total))

    _add_histogram_features(result, ends, edges, flows_out)
    _add_peer_features(result, ends, flows)
    return result


class _Endpoints:
    """Integer codes of a window's edge endpoints, so that per-device sums run in numpy.

    Every distinct endpoint id gets a code, and ``device`` maps a code to the
    device's row in the result, or to -1 for an id missing from the devices.
    """

    def __init__(self, ids: list[str], edges: pd.DataFrame) -> None:
        src = edges["src"].astype(str).to_numpy(dtype=object)
        dst = edges["dst"].astype(str).to_numpy(dtype=object)
        codes, names = pd.factorize(np.concatenate([src, dst]))
        self.size = len(ids)
        self.names = np.asarray(names, dtype=object)
        self.src, self.dst = codes[: len(src)], codes[len(src) :]
        self.device = pd.Index(ids).get_indexer(self.names)
        self.src_device, self.dst_device = self.device[self.src], self.device[self.dst]

    def out_sum(self, values: np.ndarray) -> np.ndarray:
        return _bincount(self.src_device, values, self.size)

    def in_sum(self, values: np.ndarray) -> np.ndarray:
        return _bincount(self.dst_device, values, self.size)

    def distinct_peers(self, *, outgoing: bool) -> np.ndarray:
        """Return each device's number of distinct peers it contacted (``outgoing``) or that contacted it."""
        mine, other = (self.src, self.dst) if outgoing else (self.dst, self.src)
        pairs = np.unique(mine.astype(np.int64) * len(self.names) + other)
        return _bincount(self.device[pairs // len(self.names)], np.ones(len(pairs)), self.size)


def _bincount(rows: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sum ``values`` per row position, skipping rows of -1."""
    keep = rows >= 0
    return np.bincount(rows[keep], weights=values[keep], minlength=size).astype(np.float64)


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

    ends = _Endpoints(ids, edges)
    malicious = _numeric(edges, "malicious_flows")
    labelled = malicious + _numeric(edges, "benign_flows")
    originated = ends.out_sum(malicious)
    touched = originated + ends.in_sum(malicious)

    anomalous = (originated > 0) if rule == "originator" else (touched > 0)
    labels[(ends.out_sum(labelled) + ends.in_sum(labelled)) > 0] = NORMAL
    labels[anomalous] = ANOMALOUS
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
    # The exact-type test first: isinstance against the Mapping ABC is slow over a million edges.
    if type(value) is dict or isinstance(value, Mapping):
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


def _add_histogram_features(result: pd.DataFrame, ends: _Endpoints, edges: pd.DataFrame, flows_out: np.ndarray) -> None:
    """Fill protocol shares and destination-port features from the out-edges' histograms."""
    mine = ends.src_device >= 0
    owners = ends.src_device[mine]

    protocols = _exploded(edges, "protocols", owners, mine)
    protocols["key"] = protocols["key"].str.lower()
    for feature, protocol in _PROTOCOL_SHARES.items():
        matching = protocols.loc[protocols["key"] == protocol]
        counts = np.bincount(matching["device"].to_numpy(), weights=matching["count"].to_numpy(), minlength=len(result))
        result[feature] = _share(counts, flows_out)

    ports = _exploded(edges, "dst_ports", owners, mine)
    ports = ports.loc[ports["key"] != "-1"]
    # One row per (device, port): its flows; a port counts as distinct even with a count of 0.
    per_port = ports.groupby(["device", "key"], sort=False)["count"].sum()
    devices = per_port.index.get_level_values(0).to_numpy()
    distinct = np.bincount(devices, minlength=len(result)).astype(np.float64)
    result["distinct_dst_ports"] = np.log1p(distinct)
    result["dst_port_entropy"] = _grouped_entropy(devices, per_port.to_numpy(dtype=np.float64), len(result))


def _exploded(edges: pd.DataFrame, column: str, owners: np.ndarray, mine: np.ndarray) -> pd.DataFrame:
    """Return one row per (edge, histogram key) of the edges in ``mine``: the owning device's position, key and count."""
    if column not in edges.columns:
        return pd.DataFrame({"device": np.zeros(0, dtype=np.int64), "key": pd.Series(dtype=object), "count": np.zeros(0)})
    histograms = [histogram(value) for value, keep in zip(edges[column].tolist(), mine.tolist()) if keep]
    sizes = np.fromiter((len(h) for h in histograms), dtype=np.int64, count=len(histograms))
    keys = [str(key) for h in histograms for key in h]
    counts = np.fromiter((float(count) for h in histograms for count in h.values()), dtype=np.float64, count=int(sizes.sum()))
    return pd.DataFrame({"device": np.repeat(owners, sizes), "key": pd.Series(keys, dtype=object), "count": counts})


def _grouped_entropy(groups: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
    """Return the entropy in nats of each group's counts, as ``entropy`` computes it, for groups ``0 .. size - 1``."""
    positive = counts > 0
    groups, counts = groups[positive], counts[positive]
    totals = np.bincount(groups, weights=counts, minlength=size)
    p = counts / totals[groups]
    return np.bincount(groups, weights=-(p * np.log(p)), minlength=size)


def _add_peer_features(result: pd.DataFrame, ends: _Endpoints, flows: np.ndarray) -> None:
    """Fill peer entropy and external-peer share from flows per (device, peer) in both directions."""
    width = len(ends.names)
    keys = np.concatenate([ends.src.astype(np.int64) * width + ends.dst, ends.dst.astype(np.int64) * width + ends.src])
    pairs, inverse = np.unique(keys, return_inverse=True)
    per_pair = np.bincount(inverse, weights=np.concatenate([flows, flows]), minlength=len(pairs))
    devices = ends.device[pairs // width]
    known = devices >= 0
    devices, peers, per_pair = devices[known], pairs[known] % width, per_pair[known]

    external = ~internal_mask(ends.names)
    distinct = np.bincount(devices, minlength=len(result)).astype(np.float64)
    result["peer_entropy"] = _grouped_entropy(devices, per_pair, len(result))
    result["external_peer_share"] = _share(np.bincount(devices, weights=external[peers].astype(np.float64), minlength=len(result)), distinct)


def natural_value(feature: str, value: float) -> float:
    """Undo the log1p transform of a feature value, so that it reads as a count, byte volume or seconds."""
    if feature in LOG1P_FEATURES:
        return float(math.expm1(value))
    return float(value)
