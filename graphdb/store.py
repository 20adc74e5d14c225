"""The GraphStore interface: everything the CLI, the worker and the API ask of a store.

Two implementations exist: ``graphdb.sqlite.SqliteStore`` (embedded, default)
and ``graphdb.neo4j_store.Neo4jStore``. Both pass ``tests/contract``. Code outside
``graphdb`` talks to a store only through this interface, obtained from
``graphdb.open_store(url)``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence

import pandas as pd

from graphdb.errors import StoreConfigError
from graphdb.model import (
    BatchSummary,
    Device,
    DeviceScore,
    EdgeScore,
    Explanation,
    IngestBatch,
    Job,
    SourceOffset,
    StoreCounts,
    Subgraph,
    Window,
    WindowGraph,
    WindowSpec,
)

# The environment variable that contains the pseudonym key; named in errors only.
KEY_HINT = "IOTGRAPH_PSEUDONYM_KEY"


class GraphStore(abc.ABC):
    """A temporal property graph of devices, windows, scores and jobs."""

    url: str

    # -- lifecycle -----------------------------------------------------------

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def ping(self) -> bool:
        """Return True when a trivial read of the store succeeds."""

    # -- windows and ingest --------------------------------------------------

    @abc.abstractmethod
    def window_spec(self) -> WindowSpec | None:
        """Return the window settings fixed by the first ingest, or None for an empty store."""

    @abc.abstractmethod
    def set_window_spec(self, spec: WindowSpec) -> None:
        """Fix the window settings; raise StoreConfigError when different ones are stored."""

    @abc.abstractmethod
    def new_flow_ids(self, flow_ids: Sequence[str]) -> set[str]:
        """Return the subset of ``flow_ids`` that the store has not seen."""

    def iter_flow_ids(self, *, batch_size: int = 10_000) -> Iterator[list[tuple[str, float | None]]]:
        """Yield every stored flow id with the start of its last window, in id order, ``batch_size`` per list.

        ``graphdb.migrate`` copies them so that the target store, too, rejects
        flows ingested before. Stores that cannot list them raise NotImplementedError.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot list its flow ids; it needs an iter_flow_ids method")

    @abc.abstractmethod
    def upsert_batch(self, batch: IngestBatch) -> BatchSummary:
        """Merge one aggregated batch into windows, edges and devices in one transaction.

        Counts add, ``first_ts``/``first_seen`` take the minimum, ``last_ts``/``last_seen``
        the maximum, histograms add per key. The batch's ``source_offsets``
        replace the stored ones of the same paths in the same transaction.
        Raises DuplicateFlowError, writing nothing, when any flow id of the
        batch is already stored.
        """

    def source_offsets(self) -> dict[str, SourceOffset]:
        """Return the stored read position of every followed log file, by path.

        ``iotgraph watch`` resumes from these after a restart. Stores that
        cannot keep them raise NotImplementedError.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot keep source offsets; it needs a source_offsets method")

    @abc.abstractmethod
    def windows(self, since: float | None = None, until: float | None = None) -> list[Window]:
        """Return windows whose start lies in [since, until], oldest first."""

    @abc.abstractmethod
    def window(self, start: float) -> Window | None: ...

    @abc.abstractmethod
    def export_window(self, start: float) -> WindowGraph:
        """Return the devices (sorted by id) and edges of one window; NotFoundError if absent."""

    def export_windows(self, starts: Iterable[float]) -> list[WindowGraph]:
        return [self.export_window(start) for start in starts]

    # -- devices -------------------------------------------------------------

    @abc.abstractmethod
    def device(self, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    def devices_by_id(self, device_ids: Sequence[str]) -> dict[str, Device]:
        """Return the known devices among ``device_ids`` in one store call."""

    @abc.abstractmethod
    def list_devices(
        self,
        *,
        min_score: float | None = None,
        internal: bool | None = None,
        label: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Device]:
        """Return devices ordered by id, starting after the id ``after`` (cursor paging)."""

    @abc.abstractmethod
    def label_device(self, device_id: str, label: str, *, note: str | None, analyst: str, at: float) -> Device:
        """Store an analyst decision apart from the ground-truth label; NotFoundError if unknown."""

    # -- scores --------------------------------------------------------------

    @abc.abstractmethod
    def write_scores(
        self,
        window_start: float,
        scores: Sequence[DeviceScore],
        model_version: str,
        *,
        edge_scores: Sequence[EdgeScore] = (),
        scored_at: float,
    ) -> None:
        """Write a window's device scores, history rows and edge scores in one transaction.

        Device properties (``anomaly_score`` …) change only when this window is
        at least as recent as the window they were last scored from.
        """

    @abc.abstractmethod
    def suspicious(self, window_start: float | None = None, *, min_score: float = 0.0, limit: int = 20) -> list[DeviceScore]:
        """Return a window's scores ranked by score, highest first; the latest scored window when None."""

    @abc.abstractmethod
    def score_history(self, device_id: str, *, since: float | None = None, until: float | None = None) -> list[DeviceScore]:
        """Return every stored score of a device, oldest window first."""

    @abc.abstractmethod
    def scores_for(self, device_ids: Sequence[str], window_start: float | None = None) -> dict[str, DeviceScore]:
        """Return the latest score per device (or of one window) in one store call."""

    @abc.abstractmethod
    def explanation(self, device_id: str, window_start: float | None = None) -> Explanation | None:
        """Return the stored reasons of a device's score; the latest scored window when None."""

    @abc.abstractmethod
    def neighborhood(
        self,
        device_id: str,
        *,
        hops: int = 1,
        since: float | None = None,
        until: float | None = None,
        limit: int = 500,
    ) -> Subgraph:
        """Return devices within ``hops`` of a device over edges whose window lies in [since, until].

        At most ``limit`` nodes, nearest first; ``truncated`` is True when the limit cut the result.
        """

    # -- jobs ----------------------------------------------------------------

    @abc.abstractmethod
    def enqueue_job(
        self,
        *,
        kind: str,
        window_start: float | None,
        window_end: float | None,
        model: str | None,
        requested_by: str | None,
        at: float,
    ) -> Job: ...

    @abc.abstractmethod
    def claim_job(self, worker_id: str, *, at: float) -> Job | None:
        """Atomically move the oldest queued job to running for ``worker_id``."""

    @abc.abstractmethod
    def heartbeat_job(self, job_id: str, worker_id: str, *, at: float) -> bool:
        """Refresh a running job's heartbeat; False when the job is no longer this worker's."""

    @abc.abstractmethod
    def finish_job(self, job_id: str, status: str, *, error: str | None = None, at: float) -> Job: ...

    @abc.abstractmethod
    def cancel_job(self, job_id: str, *, at: float) -> Job:
        """Cancel a queued or running job; NotFoundError if unknown, no change if already finished."""

    @abc.abstractmethod
    def requeue_stale_jobs(self, *, older_than: float) -> int:
        """Put running jobs whose heartbeat is older than ``older_than`` back in the queue."""

    @abc.abstractmethod
    def job(self, job_id: str) -> Job | None: ...

    @abc.abstractmethod
    def jobs(self, status: str | None = None, *, limit: int = 100) -> list[Job]:
        """Return jobs, newest first."""

    @abc.abstractmethod
    def record_worker_heartbeat(self, worker_id: str, *, at: float) -> None: ...

    @abc.abstractmethod
    def worker_heartbeats(self) -> dict[str, float]:
        """Return the last heartbeat time of every worker."""

    # -- pseudonyms (admin only) ---------------------------------------------

    def set_pseudonym_key_id(self, key_id: str | None) -> None:
        """Fix whether the store contains pseudonyms, and under which key (its fingerprint; None for real addresses).

        Raises StoreConfigError when the store was fixed otherwise, so that a
        store never mixes real addresses with pseudonyms, or pseudonyms of two keys.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot hold pseudonyms; it needs a set_pseudonym_key_id method")

    def add_pseudonyms(self, rows: Sequence[tuple[str, str, float]]) -> None:
        """Store (pseudonym, real address, last flow time) rows where only ``resolve_pseudonym`` reads them."""
        raise NotImplementedError(f"{type(self).__name__} cannot hold pseudonyms; it needs an add_pseudonyms method")

    def resolve_pseudonym(self, pseudonym: str) -> str | None:
        """Return the real address behind a pseudonym, or None when unknown. Callers must check the admin role."""
        raise NotImplementedError(f"{type(self).__name__} cannot hold pseudonyms; it needs a resolve_pseudonym method")

    # -- retention and bookkeeping ------------------------------------------

    @abc.abstractmethod
    def purge(self, before: float, *, batch_size: int | None = None) -> dict[str, int]:
        """Delete windows starting before ``before`` with their edges, scores and finished jobs.

        Devices left without any window go too, with their pseudonyms, and a
        device's latest score is cleared when it came from a deleted window.
        Deletes in transactions of about ``batch_size`` rows (the store's
        default when None). Returns deleted counts by kind.
        """

    @abc.abstractmethod
    def counts(self) -> StoreCounts: ...

    # -- helpers shared by implementations -----------------------------------

    @staticmethod
    def empty_edges() -> pd.DataFrame:
        from graphdb.model import EDGE_COLUMNS

        return pd.DataFrame({name: [] for name in EDGE_COLUMNS})


def check_pseudonym_key_id(store: str, *, stored: str, wanted: str) -> None:
    """Raise StoreConfigError when a store's pseudonym setting (``""`` for real addresses) differs from the requested one."""
    if stored == wanted:
        return
    if not stored:
        raise StoreConfigError(
            f"store {store} contains real addresses, so pseudonymised flows would mix with them; "
            "ingest with --pseudonymise into a new store"
        )
    if not wanted:
        raise StoreConfigError(
            f"store {store} contains pseudonyms; ingest with --pseudonymise and the key it was created with ({KEY_HINT})"
        )
    raise StoreConfigError(
        f"store {store} was pseudonymised with another key (fingerprint {stored}, this key has {wanted}); "
        f"set {KEY_HINT} to the original key, or ingest into a new store"
    )

