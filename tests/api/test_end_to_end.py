"""An investigation over HTTP: real `iotgraph serve` and `iotgraph worker` processes on a trained store.

Runs on the IoT-23 capture CTU-IoT-Malware-Capture-34-1 (Mirai on
192.168.1.195) and on a simulated network with a Mirai infection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.auth import split_token
from graphdb import open_store
from tests.api.support import GraphQLClient, make_keys
from tests.conftest import dataset_path
from tests.worker.support import CAPTURE, Process, TrainedStore, simulated_log, start_server, start_worker, trained_store

pytestmark = pytest.mark.slow

# Windows the rescore job covers: the newest ones, enough for a ranking and a history.
RESCORED_WINDOWS = 4
JOB_TIMEOUT = 240.0


@dataclass
class Investigation:
    trained: TrainedStore
    analyst: GraphQLClient
    analyst_key_id: str
    job: dict
    rescored: list[float]


@pytest.fixture(scope="module", params=["capture", "simulated"])
def investigation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Investigation]:
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    flow_file = dataset_path(CAPTURE) if request.param == "capture" else simulated_log(folder)
    trained = trained_store(folder / "store", flow_file)
    tokens = make_keys(folder / "keys.json")

    server, url = start_server(trained, folder / "serve.log", keys=folder / "keys.json")
    worker = start_worker(trained, folder / "worker.log")
    analyst = GraphQLClient(url, tokens["analyst"])
    try:
        with open_store(trained.url) as store:
            rescored = [window.start for window in store.windows()][-RESCORED_WINDOWS:]
        job = _rescore_and_wait(analyst, rescored[0], rescored[-1], worker)
        yield Investigation(trained, analyst, split_token(tokens["analyst"])[0], job, rescored)
    finally:
        analyst.close()
        _stop(worker, server)


def _rescore_and_wait(client: GraphQLClient, since: float, until: float, worker: Process) -> dict:
    job = client.data(f"mutation {{ rescore(since: {since}, until: {until}) {{ id status }} }}")["rescore"]
    query = f'{{ job(id: "{job["id"]}") {{ id status workerId error requestedBy startedAt finishedAt }} }}'
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        current = client.data(query)["job"]
        if current["status"] in ("DONE", "FAILED", "CANCELLED"):
            return current
        time.sleep(0.5)
    raise AssertionError(f"job {job['id']} not finished within {JOB_TIMEOUT}s; worker log:\n{worker.output()[-3000:]}")


def _stop(*processes: Process) -> None:
    for process in processes:
        process.terminate()


def test_rescore_job_done(investigation: Investigation) -> None:
    job = investigation.job

    assert job["status"] == "DONE", job["error"]
    assert job["error"] is None
    assert job["requestedBy"] == investigation.analyst_key_id
    assert job["workerId"] is not None
    assert job["startedAt"] <= job["finishedAt"]


def test_suspicious_ranked(investigation: Investigation) -> None:
    ranked = investigation.analyst.data("{ suspiciousDevices(limit: 50) { deviceId score rank window modelVersion } }")["suspiciousDevices"]
    scores = [entry["score"] for entry in ranked]

    assert ranked, "the rescored window has no scores"
    assert {entry["window"] for entry in ranked} == {investigation.rescored[-1]}
    assert {entry["modelVersion"] for entry in ranked} == {investigation.trained.model_version}
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert scores == sorted(scores, reverse=True)
    assert [entry["rank"] for entry in ranked] == list(range(1, len(ranked) + 1))


def test_neighborhood_matches_store(investigation: Investigation) -> None:
    top = investigation.analyst.data("{ suspiciousDevices(limit: 1) { deviceId } }")["suspiciousDevices"][0]["deviceId"]
    since, until = investigation.rescored[0], investigation.rescored[-1]
    result = investigation.analyst.data(
        "query N($id: ID!, $since: Timestamp, $until: Timestamp) { neighborhood(deviceId: $id, since: $since, until: $until) "
        "{ nodes { id score } edges { source target window flows bytesOut bytesIn pktsOut pktsIn failedFlows maliciousFlows } truncated } }",
        {"id": top, "since": since, "until": until},
    )["neighborhood"]

    with open_store(investigation.trained.url) as store:
        stored = {}
        for start in investigation.rescored:
            for row in store.export_window(start).edges.itertuples(index=False):
                stored[(str(row.src), str(row.dst), float(row.window_start))] = row

    peers = [node["id"] for node in result["nodes"][1:]]
    assert result["nodes"][0]["id"] == top
    assert peers, f"{top} has no peers in the rescored windows"
    assert result["edges"]
    for edge in result["edges"]:
        row = stored[(edge["source"], edge["target"], edge["window"])]
        assert (edge["flows"], edge["bytesOut"], edge["bytesIn"]) == (row.flows, row.bytes_out, row.bytes_in)
        assert (edge["pktsOut"], edge["pktsIn"]) == (row.pkts_out, row.pkts_in)
        assert (edge["failedFlows"], edge["maliciousFlows"]) == (row.failed_flows, row.malicious_flows)
        assert top in (edge["source"], edge["target"]) or {edge["source"], edge["target"]} <= set(peers)


def test_explanation_present(investigation: Investigation) -> None:
    top = investigation.analyst.data("{ suspiciousDevices(limit: 1) { deviceId window } }")["suspiciousDevices"][0]
    explanation = investigation.analyst.data(
        "query E($id: ID!, $window: Timestamp) { explanation(deviceId: $id, window: $window) "
        "{ score modelVersion features { name value median z } neighbours { deviceId influence } edges { source target flows } } }",
        {"id": top["deviceId"], "window": top["window"]},
    )["explanation"]

    assert explanation is not None
    assert explanation["modelVersion"] == investigation.trained.model_version
    assert len(explanation["features"]) > 0
    assert all(feature["name"] for feature in explanation["features"])
    assert len(explanation["edges"]) > 0


def test_label_then_device(investigation: Investigation) -> None:
    top = investigation.analyst.data("{ suspiciousDevices(limit: 1) { deviceId } }")["suspiciousDevices"][0]["deviceId"]

    investigation.analyst.data(
        'mutation L($id: ID!) { labelDevice(id: $id, label: MALICIOUS, note: "confirmed in pcap") { id } }', {"id": top}
    )
    device = investigation.analyst.data('query D($id: ID!) { device(id: $id) { analystLabel analystNote labelledBy } }', {"id": top})["device"]

    assert device == {"analystLabel": "MALICIOUS", "analystNote": "confirmed in pcap", "labelledBy": investigation.analyst_key_id}


def test_models_lists_trained(investigation: Investigation) -> None:
    models = investigation.analyst.data("{ models { version kind metrics } }")["models"]

    assert [model["version"] for model in models] == [investigation.trained.model_version]
    assert models[0]["kind"] == "gcn"
    assert models[0]["metrics"] != {}


def test_healthz_sees_worker(investigation: Investigation) -> None:
    body = investigation.analyst.get("/healthz").json()

    assert body["status"] == "ok"
    assert body["worker_heartbeat_age_s"] < 30
