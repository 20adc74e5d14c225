"""The rescoring worker: real worker processes and in-process runs against a trained store."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from graphdb import GraphStore, open_store
from graphdb.model import JobStatus
from ml.scoring import score_windows
from ml.worker import Worker
from tests.worker.support import TrainedStore, start_worker

pytestmark = pytest.mark.slow

STARTED = re.compile(r"job (\w+) started by worker (\S+):")


def _enqueue(store: GraphStore, starts: Sequence[float], *, model: str | None = None) -> str:
    return store.enqueue_job(
        kind="rescore", window_start=starts[0], window_end=starts[-1], model=model, requested_by="test", at=time.time()
    ).id


def _wait_for(condition: Any, *, timeout: float, description: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {description}")
        time.sleep(0.2)


def test_two_workers_run_each_job_once(trained: TrainedStore, tmp_path: Path) -> None:
    with open_store(trained.url) as store:
        starts = [window.start for window in store.windows()]
        # Ten jobs of two windows each, so both workers are busy at once.
        job_ids = [_enqueue(store, starts[2 * i : 2 * i + 2]) for i in range(10)]

    workers = [start_worker(trained, tmp_path / f"worker-{name}.log", once=True, worker_id=f"w-{name}") for name in ("a", "b")]
    codes = [worker.wait(timeout=300) for worker in workers]

    starts_logged = Counter()
    runs_per_worker = Counter()
    for worker in workers:
        for job_id, worker_id in STARTED.findall(worker.output()):
            starts_logged[job_id] += 1
            runs_per_worker[worker_id] += 1
    with open_store(trained.url) as store:
        jobs = {job_id: store.job(job_id) for job_id in job_ids}

    assert codes == [0, 0]
    assert {job_id: starts_logged[job_id] for job_id in job_ids} == {job_id: 1 for job_id in job_ids}
    assert sum(starts_logged.values()) == 10
    assert {job.status for job in jobs.values()} == {JobStatus.DONE.value}
    assert {job.worker_id for job in jobs.values()} <= {"w-a", "w-b"}
    # Both start within a second or two of each other, and the ten jobs take about 30 s on 2 CPU cores, so both get work.
    assert runs_per_worker["w-a"] >= 1
    assert runs_per_worker["w-b"] >= 1


def test_sigterm_requeues_without_half_window(trained: TrainedStore, tmp_path: Path) -> None:
    with open_store(trained.url) as store:
        windows = store.windows()
        starts = [window.start for window in windows]
        job_id = _enqueue(store, starts)
        devices = {window.start: window.devices for window in windows}

        worker = start_worker(trained, tmp_path / "worker.log")
        _wait_for(lambda: len(store.scores_for(list(_ids(store, starts[0])), starts[0])) > 0, timeout=120, description="the first window's scores")
        code = worker.terminate(timeout=60)

        job = store.job(job_id)
        written = {start: len(store.scores_for(list(_ids(store, start)), start)) for start in starts}

    output = worker.output()
    assert code == 0
    assert job.status in (JobStatus.QUEUED.value, JobStatus.DONE.value)
    # Each window was written whole or not at all.
    assert all(count in (0, devices[start]) for start, count in written.items()), written
    assert written[starts[0]] == devices[starts[0]]
    assert "received SIGTERM" in output
    assert "stopped after" in output
    if job.status == JobStatus.QUEUED.value:
        assert f"job {job_id} put back in the queue" in output


def _ids(store: GraphStore, start: float) -> list[str]:
    return store.export_window(start).devices["id"].astype(str).tolist()


def test_missing_model_fails_job(trained: TrainedStore) -> None:
    with open_store(trained.url) as store:
        job_id = _enqueue(store, [store.windows()[0].start], model="gcn-20000101T000000-000000")

    handled = Worker(trained.url, models_dir=trained.models, device="cpu").run(once=True)

    with open_store(trained.url) as store:
        job = store.job(job_id)
    assert handled == 1
    assert job.status == JobStatus.FAILED.value
    assert job.error.startswith("ModelNotFoundError: model 'gcn-20000101T000000-000000' not found")


def test_stale_job_requeued_and_run(trained: TrainedStore) -> None:
    with open_store(trained.url) as store:
        job_id = _enqueue(store, [store.windows()[0].start])
        # A worker that claimed the job ten minutes ago and died.
        store.claim_job("dead-worker", at=time.time() - 600)

    Worker(trained.url, models_dir=trained.models, worker_id="alive", stale_after=60, device="cpu").run(once=True)

    with open_store(trained.url) as store:
        job = store.job(job_id)
    assert job.status == JobStatus.DONE.value
    assert job.worker_id == "alive"


def test_cancel_stops_between_windows(trained: TrainedStore) -> None:
    with open_store(trained.url) as store:
        starts = [window.start for window in store.windows()][:4]
        job_id = _enqueue(store, starts)
    scored: list[float] = []

    def score_then_cancel(store: GraphStore, windows: Sequence[float], **options: Any) -> Any:
        summaries = score_windows(store, windows, **options)
        scored.extend(windows)
        with open_store(trained.url) as other:
            other.cancel_job(job_id, at=time.time())
        return summaries

    Worker(trained.url, models_dir=trained.models, device="cpu", score=score_then_cancel).run(once=True)

    with open_store(trained.url) as store:
        job = store.job(job_id)
    assert job.status == JobStatus.CANCELLED.value
    assert scored == starts[:1]


def test_latest_model_pinned(trained: TrainedStore) -> None:
    with open_store(trained.url) as store:
        start = store.windows()[0].start
        job_id = _enqueue(store, [start])

    Worker(trained.url, models_dir=trained.models, device="cpu").run(once=True)

    with open_store(trained.url) as store:
        window = store.window(start)
        job = store.job(job_id)
    assert job.status == JobStatus.DONE.value
    assert window.model_version == trained.model_version


def test_worker_heartbeat_recorded(trained: TrainedStore) -> None:
    before = time.time()

    Worker(trained.url, models_dir=trained.models, worker_id="beating", device="cpu").run(once=True)

    with open_store(trained.url) as store:
        beats = store.worker_heartbeats()
    assert before <= beats["beating"] <= time.time()


def test_invalid_stale_after() -> None:
    with pytest.raises(ValueError, match="must exceed twice the heartbeat interval"):
        Worker("sqlite:///unused.db", models_dir="models", heartbeat_every=5, stale_after=8)
