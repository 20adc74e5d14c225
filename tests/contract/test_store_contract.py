"""The GraphStore contract: every store implementation must pass these tests."""

from __future__ import annotations

import threading

import pytest

from graphdb import DuplicateFlowError, GraphStore, InvalidRequestError, NotFoundError, StoreConfigError
from graphdb.load import build_batch
from graphdb.model import DeviceScore, EdgeScore, JobStatus, WindowSpec
from tests.contract.flows import T0, sample_flows

SPEC = WindowSpec(size=300.0, step=300.0)


def ingest_sample(store: GraphStore, rows=None) -> None:
    flows = sample_flows() if rows is None else rows
    store.set_window_spec(SPEC)
    store.upsert_batch(build_batch(flows, SPEC))


def score_window(store: GraphStore, start: float, scores: dict[str, float], *, version: str = "gcn-test", at: float = 10.0) -> None:
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    store.write_scores(
        start,
        [
            DeviceScore(
                device_id=device,
                window_start=start,
                score=score,
                model_version=version,
                rank=rank,
                predicted=score >= 0.5,
                explanation={"features": [{"name": "flows_out", "value": 2.0, "median": 1.0, "z": 3.0}]},
            )
            for rank, (device, score) in enumerate(ranked, start=1)
        ],
        version,
        scored_at=at,
    )


# -- window settings ---------------------------------------------------------


def test_window_spec_empty_store(store: GraphStore) -> None:
    assert store.window_spec() is None


def test_window_spec_fixed_once(store: GraphStore) -> None:
    store.set_window_spec(SPEC)
    store.set_window_spec(SPEC)
    assert store.window_spec() == SPEC


def test_window_spec_change_rejected(store: GraphStore) -> None:
    store.set_window_spec(SPEC)
    with pytest.raises(StoreConfigError, match="--window 300s"):
        store.set_window_spec(WindowSpec(size=60.0, step=60.0))


# -- ingest ------------------------------------------------------------------


def test_upsert_counts(store: GraphStore) -> None:
    ingest_sample(store)
    counts = store.counts()
    assert counts.flows == 8
    assert counts.windows == 2
    assert counts.devices == 6
    # Window T0: .10->52.1.1.1, .10->.1, .66->.10, .66->.11; window T0+300: .10->52.1.1.1, .66->198.51.100.7.
    assert counts.edges == 6


def test_windows_sizes(store: GraphStore) -> None:
    ingest_sample(store)
    first, second = store.windows()
    assert (first.start, first.end) == (T0, T0 + 300)
    assert first.flows == 5
    assert first.devices == 5
    assert first.edges == 4
    assert second.flows == 3
    assert second.devices == 4
    assert second.status == "open"


def test_windows_range_filter(store: GraphStore) -> None:
    ingest_sample(store)
    assert [w.start for w in store.windows(since=T0 + 1)] == [T0 + 300]
    assert [w.start for w in store.windows(until=T0)] == [T0]


def test_windows_since_after_until(store: GraphStore) -> None:
    with pytest.raises(InvalidRequestError, match="since"):
        store.windows(since=T0 + 10, until=T0)


def test_reingest_rejected_whole(store: GraphStore) -> None:
    ingest_sample(store)
    before = store.counts()
    with pytest.raises(DuplicateFlowError):
        store.upsert_batch(build_batch(sample_flows(), SPEC))
    assert store.counts() == before


def test_new_flow_ids(store: GraphStore) -> None:
    ingest_sample(store, sample_flows().iloc[:3])
    assert store.new_flow_ids(["f1", "f2", "f4", "zz"]) == {"f4", "zz"}


def test_split_batches_equal_whole(store: GraphStore, tmp_path) -> None:
    flows = sample_flows()
    ingest_sample(store, flows.iloc[[0, 3, 5]])
    store.upsert_batch(build_batch(flows.iloc[[1, 2, 4, 6, 7]], SPEC))

    edge = store.export_window(T0).edges.set_index(["src", "dst"]).loc[("192.168.1.10", "52.1.1.1")]
    assert edge["flows"] == 2
    assert edge["bytes_out"] == 400
    assert edge["first_ts"] == T0 + 1
    assert edge["last_ts"] == T0 + 2
    assert edge["dst_ports"] == {"443": 2}
    assert store.counts().flows == 8
    assert store.window(T0).flows == 5


def test_export_window_order_and_aggregates(store: GraphStore) -> None:
    ingest_sample(store)
    graph = store.export_window(T0)
    assert graph.devices["id"].tolist() == ["192.168.1.1", "192.168.1.10", "192.168.1.11", "192.168.1.66", "52.1.1.1"]
    assert graph.devices.set_index("id")["internal"].to_dict()["52.1.1.1"] is False or not graph.devices.set_index("id")["internal"]["52.1.1.1"]
    scan = graph.edges.set_index(["src", "dst"]).loc[("192.168.1.66", "192.168.1.10")]
    assert scan["flows"] == 1
    assert scan["failed_flows"] == 1
    assert scan["malicious_flows"] == 1
    assert scan["attacks"] == {"PartOfAHorizontalPortScan": 1}
    assert scan["protocols"] == {"tcp": 1}


def test_export_missing_window(store: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        store.export_window(T0)


def test_sliding_windows_repeat_flows(store: GraphStore) -> None:
    spec = WindowSpec(size=600.0, step=300.0)
    store.set_window_spec(spec)
    store.upsert_batch(build_batch(sample_flows(), spec))
    # Each flow lies in two 10-minute windows with a 5-minute step.
    assert [w.start for w in store.windows()] == [T0 - 300, T0, T0 + 300]
    assert [w.flows for w in store.windows()] == [5, 8, 3]
    assert store.counts().flows == 8


# -- devices -----------------------------------------------------------------


def test_device_labels(store: GraphStore) -> None:
    ingest_sample(store)
    assert store.device("192.168.1.66").label == "malicious"
    assert store.device("192.168.1.10").label == "benign"
    assert store.device("192.168.1.66").first_seen == T0 + 4
    assert store.device("192.168.1.66").last_seen == T0 + 303


def test_device_internal_flag(store: GraphStore) -> None:
    ingest_sample(store)
    assert store.device("192.168.1.10").internal is True
    assert store.device("198.51.100.7").internal is False


def test_device_unknown(store: GraphStore) -> None:
    assert store.device("10.9.9.9") is None


def test_devices_by_id(store: GraphStore) -> None:
    ingest_sample(store)
    found = store.devices_by_id(["192.168.1.10", "192.168.1.66", "nope"])
    assert sorted(found) == ["192.168.1.10", "192.168.1.66"]


def test_list_devices_paging(store: GraphStore) -> None:
    ingest_sample(store)
    first = store.list_devices(limit=4)
    rest = store.list_devices(after=first[-1].id, limit=4)
    assert [d.id for d in first] == ["192.168.1.1", "192.168.1.10", "192.168.1.11", "192.168.1.66"]
    assert [d.id for d in rest] == ["198.51.100.7", "52.1.1.1"]


def test_list_devices_filters(store: GraphStore) -> None:
    ingest_sample(store)
    assert [d.id for d in store.list_devices(internal=False)] == ["198.51.100.7", "52.1.1.1"]
    assert [d.id for d in store.list_devices(label="malicious")] == ["192.168.1.66"]


def test_label_device(store: GraphStore) -> None:
    ingest_sample(store)
    device = store.label_device("192.168.1.66", "malicious", note="confirmed Mirai", analyst="key-1", at=123.0)
    assert device.analyst_label == "malicious"
    assert device.analyst_by == "key-1"
    assert device.label == "malicious"
    assert store.device("192.168.1.66").analyst_note == "confirmed Mirai"


def test_label_unknown_device(store: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        store.label_device("10.0.0.99", "benign", note=None, analyst="key-1", at=1.0)


# -- scores ------------------------------------------------------------------


def test_write_scores_device_properties(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0, {"192.168.1.66": 0.9, "192.168.1.10": 0.2})
    device = store.device("192.168.1.66")
    assert device.anomaly_score == pytest.approx(0.9)
    assert device.anomaly_window == T0
    assert device.model_version == "gcn-test"
    assert device.predicted_label == "malicious"
    assert store.window(T0).status == "scored"


def test_older_window_keeps_latest_score(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0 + 300, {"192.168.1.66": 0.8})
    score_window(store, T0, {"192.168.1.66": 0.1})
    assert store.device("192.168.1.66").anomaly_score == pytest.approx(0.8)
    assert store.device("192.168.1.66").anomaly_window == T0 + 300


def test_suspicious_ranked(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0, {"192.168.1.66": 0.9, "192.168.1.10": 0.2, "192.168.1.11": 0.5})
    ranked = store.suspicious(T0, min_score=0.3)
    assert [s.device_id for s in ranked] == ["192.168.1.66", "192.168.1.11"]
    assert ranked[0].rank == 1


def test_suspicious_latest_window(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0, {"192.168.1.66": 0.9})
    score_window(store, T0 + 300, {"192.168.1.66": 0.7, "192.168.1.10": 0.1})
    assert [s.window_start for s in store.suspicious()] == [T0 + 300, T0 + 300]


def test_suspicious_no_scores(store: GraphStore) -> None:
    ingest_sample(store)
    assert store.suspicious() == []


def test_rescore_replaces_ranking(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0, {"192.168.1.66": 0.9, "192.168.1.10": 0.2}, version="v1", at=1.0)
    score_window(store, T0, {"192.168.1.66": 0.3, "192.168.1.10": 0.6}, version="v2", at=2.0)
    assert [s.device_id for s in store.suspicious(T0)] == ["192.168.1.10", "192.168.1.66"]
    assert store.window(T0).model_version == "v2"


def test_score_history(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0, {"192.168.1.66": 0.9})
    score_window(store, T0 + 300, {"192.168.1.66": 0.7})
    history = store.score_history("192.168.1.66")
    assert [h.window_start for h in history] == [T0, T0 + 300]
    assert [round(h.score, 2) for h in history] == [0.9, 0.7]
    assert [h.window_start for h in store.score_history("192.168.1.66", since=T0 + 1)] == [T0 + 300]


def test_scores_for(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0, {"192.168.1.66": 0.9, "192.168.1.10": 0.2})
    score_window(store, T0 + 300, {"192.168.1.66": 0.7})
    latest = store.scores_for(["192.168.1.66", "192.168.1.10", "52.1.1.1"])
    assert latest["192.168.1.66"].window_start == T0 + 300
    assert latest["192.168.1.10"].window_start == T0
    assert "52.1.1.1" not in latest
    assert store.scores_for(["192.168.1.66"], T0)["192.168.1.66"].score == pytest.approx(0.9)


def test_explanation_round_trip(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0, {"192.168.1.66": 0.9})
    explanation = store.explanation("192.168.1.66", T0)
    assert explanation.reasons["features"][0]["name"] == "flows_out"
    assert explanation.model_version == "gcn-test"
    assert store.explanation("192.168.1.66").window_start == T0
    assert store.explanation("192.168.1.10") is None


def test_write_scores_missing_window(store: GraphStore) -> None:
    ingest_sample(store)
    with pytest.raises(NotFoundError):
        score_window(store, T0 + 9000, {"192.168.1.66": 0.9})
    assert store.counts().scores == 0


def test_edge_scores(store: GraphStore) -> None:
    ingest_sample(store)
    store.write_scores(T0, [], "edge-v1", edge_scores=[EdgeScore("192.168.1.66", "192.168.1.10", 0.95)], scored_at=5.0)
    neighbourhood = store.neighborhood("192.168.1.66", hops=1, until=T0)
    scored = [e for e in neighbourhood.edges if e.dst == "192.168.1.10"]
    assert scored[0].score == pytest.approx(0.95)
    assert scored[0].score_model_version == "edge-v1"


# -- neighbourhood -----------------------------------------------------------


def test_neighborhood_one_hop(store: GraphStore) -> None:
    ingest_sample(store)
    sub = store.neighborhood("192.168.1.66", hops=1)
    assert [n.id for n in sub.nodes] == ["192.168.1.66", "192.168.1.10", "192.168.1.11", "198.51.100.7"]
    assert sub.truncated is False
    assert sorted((e.src, e.dst, e.window_start) for e in sub.edges) == [
        ("192.168.1.66", "192.168.1.10", T0),
        ("192.168.1.66", "192.168.1.11", T0),
        ("192.168.1.66", "198.51.100.7", T0 + 300),
    ]


def test_neighborhood_two_hops(store: GraphStore) -> None:
    ingest_sample(store)
    sub = store.neighborhood("192.168.1.66", hops=2)
    assert {n.id for n in sub.nodes} == {"192.168.1.66", "192.168.1.10", "192.168.1.11", "198.51.100.7", "52.1.1.1", "192.168.1.1"}
    cloud = [e for e in sub.edges if e.src == "192.168.1.10" and e.dst == "52.1.1.1"]
    assert sorted(e.flows for e in cloud) == [1, 2]


def test_neighborhood_time_range(store: GraphStore) -> None:
    ingest_sample(store)
    sub = store.neighborhood("192.168.1.66", hops=1, since=T0 + 300)
    assert [n.id for n in sub.nodes] == ["192.168.1.66", "198.51.100.7"]


def test_neighborhood_limit_truncates(store: GraphStore) -> None:
    ingest_sample(store)
    sub = store.neighborhood("192.168.1.66", hops=2, limit=3)
    assert len(sub.nodes) == 3
    assert sub.truncated is True
    kept = {n.id for n in sub.nodes}
    assert all(e.src in kept and e.dst in kept for e in sub.edges)


def test_neighborhood_invalid(store: GraphStore) -> None:
    ingest_sample(store)
    with pytest.raises(NotFoundError):
        store.neighborhood("10.1.2.3")
    with pytest.raises(InvalidRequestError):
        store.neighborhood("192.168.1.66", hops=0)
    with pytest.raises(InvalidRequestError):
        store.neighborhood("192.168.1.66", since=T0 + 10, until=T0)


# -- jobs --------------------------------------------------------------------


def test_job_lifecycle(store: GraphStore) -> None:
    job = store.enqueue_job(kind="rescore", window_start=T0, window_end=T0 + 300, model="latest", requested_by="key-1", at=1.0)
    assert job.status == JobStatus.QUEUED.value
    claimed = store.claim_job("worker-a", at=2.0)
    assert claimed.id == job.id
    assert claimed.status == "running"
    assert claimed.worker_id == "worker-a"
    assert store.claim_job("worker-b", at=2.5) is None
    assert store.heartbeat_job(job.id, "worker-a", at=3.0) is True
    assert store.heartbeat_job(job.id, "worker-b", at=3.0) is False
    done = store.finish_job(job.id, "done", at=4.0)
    assert done.status == "done"
    assert done.finished_at == 4.0


def test_jobs_claimed_oldest_first(store: GraphStore) -> None:
    first = store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by=None, at=1.0)
    store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by=None, at=2.0)
    assert store.claim_job("w", at=3.0).id == first.id


def test_job_failed_keeps_error(store: GraphStore) -> None:
    job = store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by=None, at=1.0)
    store.claim_job("w", at=2.0)
    failed = store.finish_job(job.id, "failed", error="model not found: gcn-x", at=3.0)
    assert failed.error == "model not found: gcn-x"
    assert store.jobs("failed")[0].id == job.id


def test_cancel_job(store: GraphStore) -> None:
    job = store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by=None, at=1.0)
    assert store.cancel_job(job.id, at=2.0).status == "cancelled"
    assert store.claim_job("w", at=3.0) is None
    # A finished job stays as it was.
    assert store.finish_job(job.id, "done", at=4.0).status == "cancelled"


def test_cancel_unknown_job(store: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        store.cancel_job("missing", at=1.0)


def test_requeue_stale_jobs(store: GraphStore) -> None:
    job = store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by=None, at=1.0)
    store.claim_job("dead-worker", at=2.0)
    assert store.requeue_stale_jobs(older_than=1.5) == 0
    assert store.requeue_stale_jobs(older_than=10.0) == 1
    assert store.job(job.id).status == "queued"
    assert store.claim_job("live-worker", at=11.0).worker_id == "live-worker"


def test_job_range_invalid(store: GraphStore) -> None:
    with pytest.raises(InvalidRequestError):
        store.enqueue_job(kind="rescore", window_start=10.0, window_end=5.0, model=None, requested_by=None, at=1.0)


def test_claim_job_concurrent(store: GraphStore) -> None:
    for i in range(10):
        store.enqueue_job(kind="rescore", window_start=None, window_end=None, model=None, requested_by=None, at=float(i))
    claimed: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (job := store.claim_job(name, at=100.0)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 10
    assert len(set(claimed)) == 10


def test_worker_heartbeats(store: GraphStore) -> None:
    store.record_worker_heartbeat("w1", at=5.0)
    store.record_worker_heartbeat("w1", at=7.0)
    assert store.worker_heartbeats() == {"w1": 7.0}


# -- retention ---------------------------------------------------------------


def test_purge_old_windows(store: GraphStore) -> None:
    ingest_sample(store)
    score_window(store, T0, {"192.168.1.66": 0.9, "192.168.1.11": 0.4})
    deleted = store.purge(T0 + 300)
    assert deleted["windows"] == 1
    assert deleted["edges"] == 4
    assert deleted["scores"] == 2
    counts = store.counts()
    assert counts.windows == 1
    assert counts.edges == 2
    # .11 and .1 only appeared in the purged window.
    assert store.device("192.168.1.11") is None
    assert store.device("192.168.1.1") is None
    assert store.device("192.168.1.66") is not None


def test_purge_forgets_flow_ids(store: GraphStore) -> None:
    ingest_sample(store)
    store.purge(T0 + 300)
    assert store.counts().flows == 3
    assert store.new_flow_ids(["f1", "f6"]) == {"f1"}


def test_ping(store: GraphStore) -> None:
    assert store.ping() is True
