"""Per-device features and labels of hand-built windows, checked against values computed by hand."""

from __future__ import annotations

import json
import math

import pytest

from ingest.features import (
    BASIC_FEATURES,
    FEATURES,
    device_features,
    device_window_labels,
    edge_labels,
    entropy,
    natural_value,
)
from tests.ml.builders import edge, window_graph

A, B, C, D, DNS = "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.9", "8.8.8.8"


@pytest.fixture
def graph():
    # A originates 2 flows to B (port 80) and 1 to DNS (port 53); C originates 1 flow to A.
    # D appears in the window's device list without edges.
    return window_graph(
        [
            edge(A, B, flows=2, bytes_out=100, bytes_in=300, pkts_out=4, pkts_in=6, duration_sum=3.0, failed_flows=1,
                 benign_flows=2, protocols={"tcp": 2}, dst_ports={"80": 2}),
            edge(A, DNS, flows=1, bytes_out=50, bytes_in=70, pkts_out=1, pkts_in=1, duration_sum=1.0,
                 malicious_flows=1, protocols={"udp": 1}, dst_ports={"53": 1}),
            edge(C, A, flows=1, bytes_out=10, bytes_in=20, pkts_out=1, pkts_in=1, failed_flows=1,
                 protocols={"tcp": 1}, dst_ports={"22": 1}),
        ],
        devices=[D],
    )  # fmt: skip


def test_feature_names_unique():
    assert len(set(FEATURES)) == len(FEATURES)


def test_basic_features_subset():
    assert set(BASIC_FEATURES) <= set(FEATURES)


def test_rows_follow_device_order(graph):
    features = device_features(graph.devices, graph.edges)
    assert features.index.tolist() == [A, B, C, D, DNS]
    assert features.columns.tolist() == list(FEATURES)


def test_originator_counts(graph):
    row = device_features(graph.devices, graph.edges).loc[A]
    assert row["flows_out"] == pytest.approx(math.log1p(3))
    assert row["flows_in"] == pytest.approx(math.log1p(1))
    assert row["distinct_peers_out"] == pytest.approx(math.log1p(2))
    assert row["distinct_peers_in"] == pytest.approx(math.log1p(1))
    assert row["distinct_dst_ports"] == pytest.approx(math.log1p(2))


def test_sent_and_received_both_roles(graph):
    row = device_features(graph.devices, graph.edges).loc[A]
    # Sent: 100 + 50 as originator, 20 as C's responder; received: 300 + 70 + 10.
    assert row["bytes_sent"] == pytest.approx(math.log1p(170))
    assert row["bytes_received"] == pytest.approx(math.log1p(380))
    assert row["pkts_sent"] == pytest.approx(math.log1p(6))
    assert row["pkts_received"] == pytest.approx(math.log1p(8))
    assert row["bytes_per_flow"] == pytest.approx(math.log1p(550 / 4))


def test_port_entropy_three_flows_two_ports(graph):
    row = device_features(graph.devices, graph.edges).loc[A]
    # Ports 80 (2 flows) and 53 (1 flow): -(2/3 ln 2/3 + 1/3 ln 1/3) = ln 3 - (2/3) ln 2.
    assert row["dst_port_entropy"] == pytest.approx(math.log(3) - 2 / 3 * math.log(2))
    assert row["dst_port_entropy"] == pytest.approx(0.636514, abs=1e-6)


def test_peer_entropy_both_directions(graph):
    row = device_features(graph.devices, graph.edges).loc[A]
    # Flows per peer: B 2, DNS 1, C 1 of 4 -> 1.5 ln 2.
    assert row["peer_entropy"] == pytest.approx(1.5 * math.log(2))


def test_shares(graph):
    row = device_features(graph.devices, graph.edges).loc[A]
    assert row["tcp_share"] == pytest.approx(2 / 3)
    assert row["udp_share"] == pytest.approx(1 / 3)
    assert row["icmp_share"] == 0.0
    assert row["failed_share"] == pytest.approx(1 / 3)
    assert row["external_peer_share"] == pytest.approx(1 / 3)
    assert row["mean_duration"] == pytest.approx(math.log1p(4.0 / 4))


def test_responder_only_device(graph):
    row = device_features(graph.devices, graph.edges).loc[B]
    assert row["flows_out"] == 0.0
    assert row["flows_in"] == pytest.approx(math.log1p(2))
    assert row["bytes_sent"] == pytest.approx(math.log1p(300))
    assert row["tcp_share"] == 0.0
    assert row["failed_share"] == 0.0
    assert row["peer_entropy"] == 0.0
    assert row["mean_duration"] == pytest.approx(math.log1p(1.5))


def test_external_device_peers_internal(graph):
    row = device_features(graph.devices, graph.edges).loc[DNS]
    assert row["external_peer_share"] == 0.0


def test_isolated_device_all_zero(graph):
    row = device_features(graph.devices, graph.edges).loc[D]
    assert (row == 0.0).all()


def test_non_ip_peer_internal():
    graph = window_graph([edge("Comp123", "Comp456", flows=1), edge("Comp123", "1.2.3.4", flows=1)])
    row = device_features(graph.devices, graph.edges).loc["Comp123"]
    assert row["external_peer_share"] == pytest.approx(0.5)


def test_port_minus_one_ignored():
    graph = window_graph([edge(A, B, flows=3, protocols={"icmp": 3}, dst_ports={"-1": 2, "0": 1})])
    row = device_features(graph.devices, graph.edges).loc[A]
    assert row["distinct_dst_ports"] == pytest.approx(math.log1p(1))
    assert row["dst_port_entropy"] == 0.0
    assert row["icmp_share"] == 1.0


def test_json_histograms_accepted():
    graph = window_graph([edge(A, B, flows=2, protocols=json.dumps({"TCP": 2}), dst_ports=json.dumps({"80": 1, "81": 1}))])
    row = device_features(graph.devices, graph.edges).loc[A]
    assert row["tcp_share"] == 1.0
    assert row["dst_port_entropy"] == pytest.approx(math.log(2))


def test_empty_window_zero_rows():
    graph = window_graph([], devices=[A])
    features = device_features(graph.devices, graph.edges)
    assert features.index.tolist() == [A]
    assert (features.loc[A] == 0.0).all()


def test_labels_originator_rule(graph):
    labels = device_window_labels(graph.devices, graph.edges)
    assert labels.to_dict() == {A: 1, B: 0, C: -1, D: -1, DNS: 0}


def test_labels_any_rule(graph):
    labels = device_window_labels(graph.devices, graph.edges, rule="any")
    assert labels.to_dict() == {A: 1, B: 0, C: -1, D: -1, DNS: 1}


def test_labels_invalid_rule(graph):
    with pytest.raises(ValueError, match="invalid label rule 'dst'"):
        device_window_labels(graph.devices, graph.edges, rule="dst")


def test_edge_labels(graph):
    assert edge_labels(graph.edges).tolist() == [0, 1, -1]


def test_entropy_empty():
    assert entropy([]) == 0.0


def test_natural_value_undoes_log1p():
    assert natural_value("flows_out", math.log1p(41)) == pytest.approx(41)
    assert natural_value("tcp_share", 0.25) == 0.25
