"""Read queries over HTTP against the hand-made store; expected values are worked out from its flows."""

from __future__ import annotations

from tests.api.support import CAMERA, CNC, INFECTED, MODEL, T0, T1, GraphQLClient


def test_windows_lists_both(viewer: GraphQLClient) -> None:
    windows = viewer.data("{ windows { start end flows devices edges status modelVersion } }")["windows"]

    assert [w["start"] for w in windows] == [T0, T1]
    assert [w["end"] for w in windows] == [T0 + 300, T1 + 300]
    # T0: a1-a5 over 4 pairs; T1: a6-a8 over 2 pairs.
    assert [w["flows"] for w in windows] == [5, 3]
    assert [w["edges"] for w in windows] == [4, 2]
    assert [w["status"] for w in windows] == ["scored", "scored"]
    assert [w["modelVersion"] for w in windows] == [MODEL, MODEL]


def test_windows_range(viewer: GraphQLClient) -> None:
    windows = viewer.data("{ windows(since: 1700000100) { start } }")["windows"]

    assert windows == [{"start": T1}]


def test_windows_accept_iso_time(viewer: GraphQLClient) -> None:
    # 1700000100 is 2023-11-14T22:15:00Z.
    windows = viewer.data('{ windows(since: "2023-11-14T22:15:00Z") { start } }')["windows"]

    assert windows == [{"start": T1}]


def test_device_latest_score(viewer: GraphQLClient) -> None:
    device = viewer.data(
        '{ device(id: "192.168.1.66") { id internal label score scoreWindow predictedLabel modelVersion firstSeen lastSeen } }'
    )["device"]

    assert device["id"] == INFECTED
    assert device["internal"] is True
    assert device["label"] == "malicious"
    assert device["score"] == 0.93
    assert device["scoreWindow"] == T1
    assert device["predictedLabel"] == "malicious"
    assert device["modelVersion"] == MODEL
    assert device["firstSeen"] == T0 + 4
    assert device["lastSeen"] == T1 + 3


def test_device_unknown_is_null(viewer: GraphQLClient) -> None:
    assert viewer.data('{ device(id: "10.9.9.9") { id } }')["device"] is None


def test_devices_pages(viewer: GraphQLClient) -> None:
    query = "query Page($after: String) { devices(first: 4, after: $after) { items { id } endCursor hasNextPage } }"
    first = viewer.data(query)["devices"]
    second = viewer.data(query, {"after": first["endCursor"]})["devices"]

    assert [d["id"] for d in first["items"]] == ["192.168.1.1", CAMERA, "192.168.1.11", INFECTED]
    assert first["hasNextPage"] is True
    assert [d["id"] for d in second["items"]] == [CNC, "52.1.1.1"]
    assert second["hasNextPage"] is False


def test_devices_filter(viewer: GraphQLClient) -> None:
    page = viewer.data("{ devices(filter: {minScore: 0.1, internal: true}) { items { id score } } }")["devices"]

    assert page["items"] == [{"id": CAMERA, "score": 0.12}, {"id": INFECTED, "score": 0.93}]


def test_devices_window_score(viewer: GraphQLClient) -> None:
    page = viewer.data("{ devices(first: 2) { items { id windowScore(window: 1699999800) { score rank } } } }")["devices"]

    assert page["items"] == [
        {"id": "192.168.1.1", "windowScore": {"score": 0.02, "rank": 5}},
        {"id": CAMERA, "windowScore": {"score": 0.10, "rank": 2}},
    ]


def test_suspicious_latest_window(viewer: GraphQLClient) -> None:
    ranked = viewer.data("{ suspiciousDevices(minScore: 0.1) { deviceId score rank window predicted hasExplanation device { label } } }")[
        "suspiciousDevices"
    ]

    assert [s["deviceId"] for s in ranked] == [INFECTED, CNC, CAMERA]
    assert [s["score"] for s in ranked] == [0.93, 0.40, 0.12]
    assert [s["rank"] for s in ranked] == [1, 2, 3]
    assert {s["window"] for s in ranked} == {T1}
    assert [s["hasExplanation"] for s in ranked] == [True, False, False]
    # The C&C server only received flows: a device is malicious only when it originated a malicious flow.
    assert [s["device"]["label"] for s in ranked] == ["malicious", "benign", "benign"]


def test_suspicious_given_window(viewer: GraphQLClient) -> None:
    ranked = viewer.data("{ suspiciousDevices(window: 1699999800, limit: 2) { deviceId score } }")["suspiciousDevices"]

    assert ranked == [{"deviceId": INFECTED, "score": 0.81}, {"deviceId": CAMERA, "score": 0.10}]


def test_neighborhood_one_hop(viewer: GraphQLClient) -> None:
    result = viewer.data(
        '{ neighborhood(deviceId: "192.168.1.66") { center truncated nodes { id score internal label } '
        "edges { source target window flows bytesOut bytesIn failedFlows maliciousFlows protocols { value flows } ports { value flows } } } }"
    )["neighborhood"]

    assert result["center"] == INFECTED
    assert result["truncated"] is False
    assert [n["id"] for n in result["nodes"]] == [INFECTED, CAMERA, "192.168.1.11", CNC]
    assert [n["score"] for n in result["nodes"]] == [0.93, 0.12, 0.05, 0.40]
    assert result["edges"][0] == {
        "source": INFECTED,
        "target": CAMERA,
        "window": T0,
        "flows": 1,
        "bytesOut": 0,
        "bytesIn": 0,
        "failedFlows": 1,
        "maliciousFlows": 1,
        "protocols": [{"value": "tcp", "flows": 1}],
        "ports": [{"value": "23", "flows": 1}],
    }
    cnc_edge = result["edges"][2]
    assert (cnc_edge["target"], cnc_edge["window"], cnc_edge["flows"]) == (CNC, T1, 2)
    assert (cnc_edge["bytesOut"], cnc_edge["bytesIn"]) == (1000, 80)
    assert cnc_edge["ports"] == [{"value": "6667", "flows": 2}]


def test_neighborhood_two_hops(viewer: GraphQLClient) -> None:
    result = viewer.data('{ neighborhood(deviceId: "192.168.1.66", hops: 2) { nodes { id } edges { source target } } }')["neighborhood"]

    assert [n["id"] for n in result["nodes"]] == [INFECTED, CAMERA, "192.168.1.11", CNC, "192.168.1.1", "52.1.1.1"]
    # Every edge of the store: 4 in T0 and 2 in T1.
    assert len(result["edges"]) == 6


def test_neighborhood_truncated(viewer: GraphQLClient) -> None:
    result = viewer.data('{ neighborhood(deviceId: "192.168.1.66", limit: 2) { nodes { id } truncated } }')["neighborhood"]

    assert [n["id"] for n in result["nodes"]] == [INFECTED, CAMERA]
    assert result["truncated"] is True


def test_neighborhood_time_range(viewer: GraphQLClient) -> None:
    result = viewer.data('{ neighborhood(deviceId: "192.168.1.66", since: 1700000100) { nodes { id } } }')["neighborhood"]

    assert [n["id"] for n in result["nodes"]] == [INFECTED, CNC]


def test_explanation_reasons(viewer: GraphQLClient) -> None:
    explanation = viewer.data(
        '{ explanation(deviceId: "192.168.1.66") { window score modelVersion previousWindow '
        "features { name value median z } neighbours { deviceId influence } edges { source target flows bytesOut } } }"
    )["explanation"]

    assert explanation["window"] == T1
    assert explanation["score"] == 0.93
    assert explanation["modelVersion"] == MODEL
    assert explanation["previousWindow"] == T0
    assert explanation["features"][0] == {"name": "failed_share", "value": 1.0, "median": 0.0, "z": 4.5}
    assert explanation["neighbours"] == [{"deviceId": CNC, "influence": 0.31}]
    assert explanation["edges"] == [{"source": INFECTED, "target": CNC, "flows": 2, "bytesOut": 1000}]


def test_explanation_missing_is_null(viewer: GraphQLClient) -> None:
    assert viewer.data('{ explanation(deviceId: "192.168.1.10") { score } }')["explanation"] is None


def test_score_history(viewer: GraphQLClient) -> None:
    history = viewer.data('{ scoreHistory(deviceId: "192.168.1.66") { window score rank } }')["scoreHistory"]

    assert history == [{"window": T0, "score": 0.81, "rank": 1}, {"window": T1, "score": 0.93, "rank": 1}]


def test_score_history_range(viewer: GraphQLClient) -> None:
    history = viewer.data('{ scoreHistory(deviceId: "192.168.1.66", until: 1699999800) { window } }')["scoreHistory"]

    assert history == [{"window": T0}]


def test_jobs_empty(viewer: GraphQLClient) -> None:
    assert viewer.data("{ jobs { id } }")["jobs"] == []


def test_models_empty_folder(viewer: GraphQLClient) -> None:
    assert viewer.data("{ models { version } }")["models"] == []
