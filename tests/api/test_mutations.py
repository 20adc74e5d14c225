"""Mutations over HTTP: analyst labels, rescoring jobs and cancellation."""

from __future__ import annotations

import time

from api.auth import split_token
from tests.api.support import INFECTED, T0, T1, GraphQLClient

LABEL = """
mutation Label($id: ID!, $label: AnalystLabel!, $note: String) {
  labelDevice(id: $id, label: $label, note: $note) { id analystLabel analystNote labelledBy labelledAt }
}
"""


def test_label_device_stored(analyst: GraphQLClient, viewer: GraphQLClient, tokens: dict[str, str]) -> None:
    before = time.time()
    labelled = analyst.data(LABEL, {"id": INFECTED, "label": "MALICIOUS", "note": "Mirai telnet scan"})["labelDevice"]
    key_id, _ = split_token(tokens["analyst"])

    device = viewer.data('{ device(id: "192.168.1.66") { analystLabel analystNote labelledBy labelledAt label } }')["device"]
    assert labelled["analystLabel"] == "MALICIOUS"
    assert device["analystLabel"] == "MALICIOUS"
    assert device["analystNote"] == "Mirai telnet scan"
    assert device["labelledBy"] == key_id
    assert before <= device["labelledAt"] <= time.time()
    # The ground-truth label of the capture is kept apart.
    assert device["label"] == "malicious"


def test_label_unknown_device(analyst: GraphQLClient) -> None:
    status, errors = analyst.errors(LABEL, {"id": "10.0.0.99", "label": "BENIGN"})

    assert status == 200
    assert errors[0]["message"] == "device '10.0.0.99' not found"
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


def test_label_invalid_enum(analyst: GraphQLClient) -> None:
    status, errors = analyst.errors(LABEL, {"id": INFECTED, "label": "EVIL"})

    assert status == 200
    assert "AnalystLabel" in errors[0]["message"]


def test_rescore_queues_job(analyst: GraphQLClient, tokens: dict[str, str]) -> None:
    job = analyst.data(f"mutation {{ rescore(since: {T0}, until: {T1}) {{ id kind status windowStart windowEnd model requestedBy }} }}")[
        "rescore"
    ]
    key_id, _ = split_token(tokens["analyst"])

    assert job["kind"] == "rescore"
    assert job["status"] == "QUEUED"
    assert (job["windowStart"], job["windowEnd"]) == (T0, T1)
    assert job["model"] is None
    assert job["requestedBy"] == key_id

    fetched = analyst.data(f'{{ job(id: "{job["id"]}") {{ status }} }}')["job"]
    assert fetched == {"status": "QUEUED"}
    queued = analyst.data("{ jobs(status: QUEUED) { id } }")["jobs"]
    assert job["id"] in [j["id"] for j in queued]


def test_rescore_empty_range(analyst: GraphQLClient) -> None:
    status, errors = analyst.errors("mutation { rescore(since: 1, until: 2) { id } }")

    assert status == 200
    assert "no window starts between since 1.0 and until 2.0" in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_rescore_unknown_model(analyst: GraphQLClient) -> None:
    status, errors = analyst.errors('mutation { rescore(model: "gcn-nope") { id } }')

    assert status == 200
    assert "model 'gcn-nope' not found" in errors[0]["message"]


def test_cancel_job(analyst: GraphQLClient) -> None:
    job_id = analyst.data("mutation { rescore { id } }")["rescore"]["id"]

    cancelled = analyst.data(f'mutation {{ cancelJob(id: "{job_id}") {{ status finishedAt }} }}')["cancelJob"]

    assert cancelled["status"] == "CANCELLED"
    assert cancelled["finishedAt"] is not None


def test_cancel_unknown_job(analyst: GraphQLClient) -> None:
    _, errors = analyst.errors('mutation { cancelJob(id: "nope") { id } }')

    assert errors[0]["message"] == "job 'nope' not found"
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
