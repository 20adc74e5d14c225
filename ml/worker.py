"""The rescoring worker: claims queued jobs from the store and scores their windows.

Any number of workers may share one store. ``claim_job`` hands each queued
job to exactly one of them. A running job's heartbeat is refreshed between
windows and by a background thread, so a long window does not look like a
dead worker. Each worker puts back the running jobs of workers whose
heartbeat stopped (``requeue_stale_jobs``).

With a retention limit (``IOTGRAPH_RETENTION``, see ``graphdb.retention``)
the worker also purges old data at start and then every
``IOTGRAPH_RETENTION_EVERY``, between jobs.

Windows are scored one at a time, and each window's scores are written in
one store transaction. On SIGTERM or SIGINT the worker finishes the window
it is writing, puts the job back in the queue and exits, so no window is
ever half-written. A requeued job starts again from its first window;
writing a window's scores twice leaves the same rows.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from graphdb import open_store
from graphdb.model import Job, JobStatus
from graphdb.store import GraphStore

logger = logging.getLogger(__name__)

DEFAULT_POLL = 2.0
DEFAULT_HEARTBEAT_EVERY = 5.0
DEFAULT_STALE_AFTER = 60.0
# Maximum length of the error text stored on a failed job; the log keeps the full traceback.
_MAX_ERROR_LENGTH = 2000

# score_windows(store, starts, *, model, models_dir, explain_top_k, device, progress) -> summaries
ScoreFunction = Callable[..., Sequence[Any]]


def new_worker_id() -> str:
    """Return ``<host>-<pid>-<4 hex digits>``, unique enough to tell workers apart in logs and jobs."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


class JobLost(Exception):
    """The running job was cancelled or handed to another worker; stop working on it."""


class Worker:
    """Run rescoring jobs from one store until stopped.

    ``stale_after`` (seconds) is the heartbeat age at which any worker
    requeues a running job. It must exceed ``heartbeat_every`` by a wide
    margin, or jobs of live workers are taken from them.
    """

    def __init__(
        self,
        store_url: str,
        *,
        models_dir: str | Path,
        worker_id: str | None = None,
        poll: float = DEFAULT_POLL,
        heartbeat_every: float = DEFAULT_HEARTBEAT_EVERY,
        stale_after: float = DEFAULT_STALE_AFTER,
        device: str = "auto",
        explain_top_k: int = 20,
        score: ScoreFunction | None = None,
        retention: float | None = None,
        retention_every: float = 3600.0,
    ) -> None:
        if poll <= 0 or heartbeat_every <= 0:
            raise ValueError(f"invalid poll {poll}s or heartbeat interval {heartbeat_every}s: both must be positive")
        if stale_after <= 2 * heartbeat_every:
            raise ValueError(
                f"invalid stale_after {stale_after:g}s: it must exceed twice the heartbeat interval ({heartbeat_every:g}s), "
                "or jobs of live workers are requeued"
            )
        self.store_url = store_url
        self.models_dir = Path(models_dir)
        self.worker_id = worker_id or new_worker_id()
        self.poll = poll
        self.heartbeat_every = heartbeat_every
        self.stale_after = stale_after
        self.device = device
        self.explain_top_k = explain_top_k
        self._score = score
        self._stop = threading.Event()
        self.jobs_done = 0
        if retention is not None and (retention <= 0 or retention_every <= 0):
            raise ValueError(f"invalid retention {retention}s or interval {retention_every}s: both must be positive")
        self.retention = retention
        self.retention_every = retention_every
        self._last_purge: float | None = None

    # -- control ---------------------------------------------------------------

    def stop(self) -> None:
        """Ask the worker to stop after the window it is writing; safe from a signal handler."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- main loop -------------------------------------------------------------

    def run(self, *, once: bool = False) -> int:
        """Process jobs until stopped, or with ``once`` until the queue is empty; return the jobs handled."""
        logger.info("worker %s started on %s (models %s, poll %gs)", self.worker_id, self.store_url, self.models_dir, self.poll)
        handled = 0
        store = open_store(self.store_url)
        try:
            while not self.stopping:
                self._purge_if_due(store)
                try:
                    job = self._claim(store)
                except Exception:  # noqa: BLE001  # a busy or briefly unreachable store is retried; a job it left running goes stale and is requeued
                    logger.exception("worker %s: store call failed; retrying in %gs", self.worker_id, self.poll)
                    self._stop.wait(self.poll)
                    continue
                if job is None:
                    if once:
                        break
                    self._stop.wait(self.poll)
                    continue

                try:
                    self.process(store, job)
                except Exception:  # noqa: BLE001  # see above; process() already records scoring failures on the job
                    logger.exception("worker %s: store call failed while finishing job %s; retrying in %gs", self.worker_id, job.id, self.poll)
                    self._stop.wait(self.poll)
                handled += 1
        finally:
            store.close()
            logger.info("worker %s stopped after %d job(s)", self.worker_id, handled)
        return handled

    def _purge_if_due(self, store: GraphStore) -> None:
        """Run the retention purge when a limit is set and the last run is ``retention_every`` seconds old."""
        if self.retention is None:
            return
        now = time.monotonic()
        if self._last_purge is not None and now - self._last_purge < self.retention_every:
            return
        self._last_purge = now

        from graphdb.retention import purge_older_than

        try:
            result = purge_older_than(store, self.retention)
        except Exception:  # noqa: BLE001  # a failed purge is retried at the next interval; scoring goes on
            logger.exception("worker %s: retention purge failed; retrying in %gs", self.worker_id, self.retention_every)
            return
        logger.info("worker %s: retention purge deleted %s", self.worker_id, result.summary())

    def _claim(self, store: GraphStore) -> Job | None:
        now = time.time()
        store.record_worker_heartbeat(self.worker_id, at=now)
        store.requeue_stale_jobs(older_than=now - self.stale_after)
        return store.claim_job(self.worker_id, at=time.time())

    def process(self, store: GraphStore, job: Job) -> None:
        """Score a claimed job's windows, then mark it done, failed or queued again (when stopping)."""
        starts = [window.start for window in store.windows(job.window_start, job.window_end)]
        model = job.model or "latest"
        logger.info(
            "job %s started by worker %s: %d window(s) from %s to %s, model %s",
            job.id,
            self.worker_id,
            len(starts),
            job.window_start,
            job.window_end,
            model,
        )
        heartbeat = _JobHeartbeat(self.store_url, job_id=job.id, worker_id=self.worker_id, every=self.heartbeat_every)
        heartbeat.start()
        try:
            version = self._resolve_model(model) if starts else model
            for index, start in enumerate(starts):
                if self.stopping:
                    self._requeue(store, job, done=index, total=len(starts))
                    return
                if heartbeat.lost or not store.heartbeat_job(job.id, self.worker_id, at=time.time()):
                    raise JobLost(job.id)
                self._score_window(store, start, version)
                logger.debug("job %s: window %s scored (%d/%d)", job.id, start, index + 1, len(starts))
        except JobLost:
            current = store.job(job.id)
            logger.warning(
                "job %s is no longer run by worker %s (status %s); stopped working on it",
                job.id,
                self.worker_id,
                None if current is None else current.status,
            )
            return
        except Exception as error:  # noqa: BLE001  # any scoring failure fails the job, with the error stored and logged
            logger.exception("job %s failed on worker %s", job.id, self.worker_id)
            message = f"{type(error).__name__}: {error}"[:_MAX_ERROR_LENGTH]
            store.finish_job(job.id, JobStatus.FAILED.value, error=message, at=time.time())
            return
        finally:
            heartbeat.stop()

        finished = store.finish_job(job.id, JobStatus.DONE.value, at=time.time())
        if finished.status != JobStatus.DONE.value:
            logger.info("job %s scored by worker %s but it was %s meanwhile, so it stays %s", job.id, self.worker_id, finished.status, finished.status)
            return
        self.jobs_done += 1
        logger.info("job %s done by worker %s: %d window(s) scored with %s", job.id, self.worker_id, len(starts), version)

    # -- steps -------------------------------------------------------------------

    def _resolve_model(self, model: str) -> str:
        """Pin ``latest`` to one version at job start, so a model trained meanwhile cannot mix into the job."""
        from ml.artifacts import resolve_model

        return resolve_model(model, directory=self.models_dir).version

    def _score_window(self, store: GraphStore, start: float, model: str) -> None:
        score = self._score
        if score is None:
            from ml.scoring import score_windows

            score = score_windows
        score(
            store,
            [start],
            model=model,
            models_dir=self.models_dir,
            explain_top_k=self.explain_top_k,
            device=self.device,
            progress=False,
        )

    def _requeue(self, store: GraphStore, job: Job, *, done: int, total: int) -> None:
        store.finish_job(job.id, JobStatus.QUEUED.value, at=time.time())
        logger.info(
            "job %s put back in the queue by stopping worker %s after %d of %d window(s); it restarts from its first window",
            job.id,
            self.worker_id,
            done,
            total,
        )


class _JobHeartbeat:
    """A thread that refreshes a job's and its worker's heartbeat on its own store connection."""

    def __init__(self, store_url: str, *, job_id: str, worker_id: str, every: float) -> None:
        self.store_url = store_url
        self.job_id = job_id
        self.worker_id = worker_id
        self.every = every
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id[:8]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5.0)

    def _run(self) -> None:
        store = open_store(self.store_url)
        try:
            while not self._stop.wait(self.every):
                now = time.time()
                try:
                    store.record_worker_heartbeat(self.worker_id, at=now)
                    if not store.heartbeat_job(self.job_id, self.worker_id, at=now):
                        self.lost = True
                        return
                except Exception:  # noqa: BLE001  # a missed beat is retried next interval; the job goes stale only after several
                    logger.exception("heartbeat of job %s on worker %s failed; retrying in %gs", self.job_id, self.worker_id, self.every)
        finally:
            store.close()


def run_worker(
    store_url: str,
    *,
    once: bool = False,
    poll: float = DEFAULT_POLL,
    models_dir: str | Path | None = None,
    worker_id: str | None = None,
    heartbeat_every: float = DEFAULT_HEARTBEAT_EVERY,
    stale_after: float = DEFAULT_STALE_AFTER,
    device: str = "auto",
    handle_signals: bool = True,
    retention: float | None = None,
    retention_every: float | None = None,
) -> int:
    """Run a worker until SIGTERM/SIGINT, or with ``once`` until the queue is empty; return the jobs handled.

    ``models_dir`` defaults to ``IOTGRAPH_MODELS`` or ``./models``, and
    ``retention``/``retention_every`` (seconds) to ``IOTGRAPH_RETENTION`` (off
    when unset) and ``IOTGRAPH_RETENTION_EVERY`` (1 hour). Signal handlers are
    installed only when called from the main thread.
    """
    from graphdb.retention import retention_every_from_env, retention_from_env
    from ml.artifacts import models_dir as default_models_dir

    if retention is None:
        retention = retention_from_env()
    if retention_every is None:
        retention_every = retention_every_from_env()
    if retention is not None:
        logger.info("retention: windows older than %gs are deleted every %gs", retention, retention_every)

    worker = Worker(
        store_url,
        models_dir=default_models_dir(models_dir),
        worker_id=worker_id,
        poll=poll,
        heartbeat_every=heartbeat_every,
        stale_after=stale_after,
        device=device,
        retention=retention,
        retention_every=retention_every,
    )
    if handle_signals and threading.current_thread() is threading.main_thread():

        def on_signal(number: int, _frame: object) -> None:
            logger.info("worker %s received %s; stopping after the current window", worker.worker_id, signal.Signals(number).name)
            worker.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    return worker.run(once=once)
