"""SIGKILL of ingest, score, worker and watch leaves a consistent store, and a rerun completes it exactly.

Each test kills a real ``iotgraph`` process once the store shows some of its
transactions committed. It checks the store's invariants (no half-written
window, no score without its history row, no job left running), runs the
command again and compares every count, per-window figure and score with an
uninterrupted run of the same flows.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.robustness.conftest import EXPLAIN_TOP, Reference
from tests.robustness.support import (
    ZEEK_HEADER,
    Command,
    consistency_problems,
    kill_when,
    network_lines,
    run_command,
    score_rows,
    wait_until,
    window_stats,
)

from graphdb import GraphStore, open_store
from graphdb.load import load_files
from graphdb.model import JobStatus, StoreCounts

CHUNK_ROWS = 20


def graph_counts(counts: StoreCounts) -> tuple[int, int, int, int]:
    return counts.flows, counts.devices, counts.windows, counts.edges


def scored_windows(store: GraphStore) -> int:
    return sum(1 for window in store.windows() if window.status == "scored")


# -- ingest ---------------------------------------------------------------------


@pytest.mark.parametrize("batches", [5, 30])
def test_ingest_killed_then_rerun(store_url: str, reference: Reference, tmp_path: Path, batches: int) -> None:
    args = ["ingest", "--store", store_url, "--chunk-rows", str(CHUNK_ROWS), str(reference.log)]
    with open_store(store_url) as store:
        ingest = Command(args, tmp_path / "killed.log")
        kill_when(ingest, lambda: store.counts().flows >= batches * CHUNK_ROWS, timeout=120, description=f"{batches} committed batches")
        killed = store.counts()
        problems = consistency_problems(store)

        run_command(args, tmp_path / "rerun.log")
        final = store.counts()
        windows = window_stats(store)

    assert killed.flows < reference.counts.flows, "the ingest finished before the kill; the test proved nothing"
    assert problems == []
    assert graph_counts(final) == graph_counts(reference.counts)
    assert windows == reference.windows


# -- score ------------------------------------------------------------------------


def score_args(store_url: str, reference: Reference) -> list[str]:
    return [
        "score", "--store", store_url, "--models", str(reference.models), "--model", reference.model_version,
        "--explain-top", str(EXPLAIN_TOP), "--device", "cpu",
    ]  # fmt: skip


def test_score_killed_then_rerun(store_url: str, reference: Reference, tmp_path: Path) -> None:
    with open_store(store_url) as store:
        load_files(store, [reference.log], window="5m")
        score = Command(score_args(store_url, reference), tmp_path / "killed.log")
        kill_when(score, lambda: scored_windows(store) >= 3, timeout=180, description="3 scored windows")
        killed = scored_windows(store)
        problems = consistency_problems(store)

        run_command(score_args(store_url, reference), tmp_path / "rerun.log")
        scores = score_rows(store)
        final = store.counts()

    assert killed < len(reference.windows), "scoring finished before the kill; the test proved nothing"
    assert problems == []
    assert final == reference.counts
    assert scores == reference.scores


# -- worker -------------------------------------------------------------------------


def worker_args(store_url: str, reference: Reference) -> list[str]:
    return [
        "worker", "--store", store_url, "--models", str(reference.models), "--device", "cpu",
        "--poll", "100ms", "--heartbeat", "200ms", "--stale-after", "1s",
    ]  # fmt: skip


def test_worker_killed_then_restarted(store_url: str, reference: Reference, tmp_path: Path) -> None:
    # Six of the ten windows keep the test short; the job restarts from its first window either way.
    starts = sorted(reference.windows)[:6]
    expected = {key: value for key, value in reference.scores.items() if key[1] <= starts[-1]}
    with open_store(store_url) as store:
        load_files(store, [reference.log], window="5m")
        job = store.enqueue_job(
            kind="rescore", window_start=starts[0], window_end=starts[-1], model=reference.model_version, requested_by="test", at=time.time()
        )
        worker = Command(worker_args(store_url, reference), tmp_path / "killed.log")
        kill_when(worker, lambda: scored_windows(store) >= 2, timeout=180, description="2 scored windows")
        killed = scored_windows(store)
        status_after_kill = store.job(job.id).status
        problems = consistency_problems(store)

        # The killed worker's heartbeat must age past --stale-after before another worker takes the job back.
        time.sleep(1.5)
        output = run_command([*worker_args(store_url, reference), "--once"], tmp_path / "restarted.log")
        finished = store.job(job.id)
        running = store.jobs(JobStatus.RUNNING.value)
        scores = score_rows(store)

    assert killed < len(starts), "the job finished before the kill; the test proved nothing"
    assert status_after_kill == JobStatus.RUNNING.value
    assert problems == []
    assert finished.status == JobStatus.DONE.value
    assert running == []
    assert output.count(f"job {job.id} done") == 1
    assert "requeued 1 job(s)" in output
    assert scores == expected


# -- watch --------------------------------------------------------------------------


def test_watch_killed_then_resumed(store_url: str, reference: Reference, tmp_path: Path) -> None:
    lines = network_lines()
    parts = [lines[i : i + 100] for i in range(0, len(lines), 100)]
    folder = tmp_path / "logs"
    folder.mkdir()
    log = folder / "conn.log"
    log.write_text(ZEEK_HEADER, encoding="utf-8")
    args = ["watch", str(folder), "--store", store_url, "--window", "5m", "--poll", "100ms", "--models", str(tmp_path / "no-models")]

    with open_store(store_url) as store:
        watch = Command(args, tmp_path / "killed.log")
        appended = 0
        # One appended part per batch: the watch reads what a poll finds, so each part becomes one transaction.
        for part in parts[:4]:
            with log.open("a", encoding="utf-8") as handle:
                handle.write("\n".join(part) + "\n")
            appended += len(part)
            wait_until(lambda: store.counts().flows >= appended or not watch.running, timeout=120, description=f"{appended} flows watched")
        kill_when(watch, lambda: True, timeout=5, description="the kill")
        killed = store.counts()
        problems = consistency_problems(store)

        with log.open("a", encoding="utf-8") as handle:
            for part in parts[4:]:
                handle.write("\n".join(part) + "\n")
        run_command([*args, "--once"], tmp_path / "resumed.log")
        final = store.counts()
        windows = window_stats(store)

    assert killed.flows == 400
    assert problems == []
    assert graph_counts(final) == graph_counts(reference.counts)
    assert windows == reference.windows
