"""The GraphStore on Neo4j 5: the production store.

Graph model (labels, types and property keys are fixed in ``cypher/*.cypher``):

    (:Device {id, ip, internal, first_seen, last_seen, malicious_flows,
              labelled_flows, label, anomaly_score, anomaly_window,
              predicted_label, model_version, scored_at, risk, analyst_*})
    (:Device)-[:COMMUNICATED {window_start, window_end, flows, bytes_out,
              bytes_in, bytes, pkts_out, pkts_in, duration_sum, failed_flows,
              malicious_flows, benign_flows, first_ts, last_ts,
              <histogram>_json, protocols, dst_ports, score,
              score_model_version}]->(:Device)
    (:Window {start, end, flows, devices, edges, status, scored_at, model_version})
    (:Device)-[:SCORED {window_start, score, rank, predicted, model_version,
              scored_at, explanation}]->(:Window)
    (:Job {...}), (:Worker {id, heartbeat_at}), (:Meta {key, value})
    (:IngestedFlow {id, window_start})

Choices the model cannot show:

- Histograms are not valid Neo4j property values (maps), so each is stored
  as a JSON string (``protocols_json`` …). For Neo4j Browser, ``protocols``
  also lists the protocol names and ``dst_ports`` the most frequent
  destination ports (at most ``MAX_BROWSER_PORTS``).
- Ingested flow ids are ``IngestedFlow`` nodes under a uniqueness
  constraint: the constraint's index makes the duplicate check a lookup, and
  a concurrent batch that stores the same id first makes this batch fail at
  commit instead of counting the flow twice.
- A device's latest score sets a ``risk`` band property (``high``,
  ``medium``, ``low``) and the matching extra label ``HighRisk`` or
  ``MediumRisk``: Browser style sheets select by label only, so
  ``cypher/browser/iotgraph.grass`` colours and sizes devices by those labels.
- The read position of each log file ``iotgraph watch`` follows is a
  ``Meta`` node keyed ``source_offset:<path>`` with the position as a JSON
  string. It is bookkeeping like the window settings, not part of the graph.

Every statement runs in a managed transaction (``execute_read`` /
``execute_write``), so the driver retries transient errors such as deadlocks
and leader changes; the work functions below are safe to run again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import pandas as pd
from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j.exceptions import ConstraintError, DriverError, Neo4jError

import cypher
from graphdb.errors import DuplicateFlowError, InvalidRequestError, NotFoundError, SchemaVersionError, StoreConfigError
from graphdb.model import (
    EDGE_COLUMNS,
    EDGE_COUNT_COLUMNS,
    EDGE_HISTOGRAM_COLUMNS,
    BatchSummary,
    Device,
    DeviceScore,
    Edge,
    EdgeScore,
    Explanation,
    IngestBatch,
    Job,
    JobStatus,
    SourceOffset,
    StoreCounts,
    Subgraph,
    Window,
    WindowGraph,
    WindowSpec,
)
from graphdb.neo4j_config import Neo4jConfig, parse_neo4j_url
from graphdb.store import GraphStore, check_pseudonym_key_id

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_BROWSER_PORTS = 50
# Meta keys of the read positions of followed log files; the path follows the prefix.
SOURCE_OFFSET_KEY_PREFIX = "source_offset:"
# A worker that loses the race for a job tries the next one. After this many
# losses in a row claim_job returns None, and the worker polls again later.
_MAX_CLAIM_ATTEMPTS = 50
_FINISHED = (JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)
_DEVICE_FIELDS = tuple(f.name for f in dataclasses.fields(Device))
_JOB_FIELDS = tuple(f.name for f in dataclasses.fields(Job))
_WINDOW_FIELDS = tuple(f.name for f in dataclasses.fields(Window))

T = TypeVar("T")


class Neo4jStore(GraphStore):
    """GraphStore on a Neo4j 5 database; open it with ``Neo4jStore.from_url("neo4j://host:7687")``.

    Creates the constraints and indexes of ``cypher/schema.cypher`` when
    opened, and raises SchemaVersionError when the database was written by a
    newer schema.
    """

    def __init__(self, config: Neo4jConfig, *, driver: Driver | None = None) -> None:
        self.config = config
        self.url = config.display_url
        self._driver = driver or GraphDatabase.driver(
            config.uri, auth=(config.user, config.password), user_agent="iotgraph"
        )
        logger.info("opening Neo4j store %s", self.url)
        try:
            self._create_schema()
        except BaseException:
            self._driver.close()
            raise

    @classmethod
    def from_url(cls, url: str) -> Neo4jStore:
        """Open the store a ``neo4j://`` or ``bolt://`` URL names; see ``graphdb.neo4j_config``."""
        return cls(parse_neo4j_url(url))

    # -- transactions --------------------------------------------------------

    def _read(self, work: Callable[..., T], *args: Any) -> T:
        with self._driver.session(database=self.config.database) as session:
            return session.execute_read(work, *args)

    def _write(self, work: Callable[..., T], *args: Any) -> T:
        with self._driver.session(database=self.config.database) as session:
            return session.execute_write(work, *args)

    def _chunks(self, items: Sequence[T]) -> Iterator[Sequence[T]]:
        size = self.config.batch_size
        for offset in range(0, len(items), size):
            yield items[offset : offset + size]

    # -- lifecycle -----------------------------------------------------------

    def _create_schema(self) -> None:
        # Schema commands cannot share a transaction with data writes, so each
        # runs alone; IF NOT EXISTS makes them no-ops after the first start.
        for statement in cypher.split_statements(cypher.load("schema")):
            self._write(_run_consume, statement, {})

        rows = [{"key": "schema_version", "value": SCHEMA_VERSION}]
        stored = self._write(_meta_put_if_absent, rows)
        version = stored.get("schema_version", SCHEMA_VERSION)
        if int(version) > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"Neo4j store {self.url} has schema version {version}, newer than this iotgraph ({SCHEMA_VERSION}); "
                "upgrade iotgraph"
            )

    def close(self) -> None:
        self._driver.close()

    def ping(self) -> bool:
        try:
            self._read(_single_value, cypher.load("ping"), {}, "ok")
        except (Neo4jError, DriverError):
            logger.exception("Neo4j store %s failed a trivial read", self.url)
            return False
        return True

    # -- windows and ingest --------------------------------------------------

    def window_spec(self) -> WindowSpec | None:
        stored = self._read(_meta_get, ["window_size", "window_step"])
        if "window_size" not in stored:
            return None
        return WindowSpec(size=float(stored["window_size"]), step=float(stored["window_step"]))

    def set_window_spec(self, spec: WindowSpec) -> None:
        rows = [{"key": "window_size", "value": float(spec.size)}, {"key": "window_step", "value": float(spec.step)}]
        stored_values = self._write(_meta_put_if_absent, rows)
        stored = WindowSpec(size=float(stored_values["window_size"]), step=float(stored_values["window_step"]))
        if stored != spec:
            raise StoreConfigError(
                f"store {self.url} uses {stored.size:g}s windows with a {stored.step:g}s step, not "
                f"{spec.size:g}s/{spec.step:g}s; pass --window {stored.size:g}s --step {stored.step:g}s or use a new store"
            )

    def new_flow_ids(self, flow_ids: Sequence[str]) -> set[str]:
        unique = list(dict.fromkeys(str(flow_id) for flow_id in flow_ids))
        known: set[str] = set()
        for chunk in self._chunks(unique):
            known.update(self._read(_values, cypher.load("flow_ids_known"), {"ids": list(chunk)}, "id"))
        return set(unique) - known

    def iter_flow_ids(self, *, batch_size: int = 10_000) -> Iterator[list[tuple[str, float | None]]]:
        """Yield every stored flow id with the start of its last window, in id order, ``batch_size`` at a time."""
        after: str | None = None
        while True:
            page = self._read(_records, cypher.load("flow_ids_page"), {"after": after, "limit": batch_size})
            if not page:
                return
            yield [(record["id"], record["window_start"]) for record in page]
            after = page[-1]["id"]

    def upsert_batch(self, batch: IngestBatch) -> BatchSummary:
        flow_rows = _flow_rows(batch)
        edge_rows = _combine_edge_rows(_edge_rows(batch.edges))
        device_rows = _device_rows(batch.devices)
        window_rows = _window_rows(edge_rows)
        offset_rows = [_source_offset_row(offset) for offset in batch.source_offsets]

        try:
            self._write(self._upsert_batch_work, flow_rows, device_rows, edge_rows, window_rows, offset_rows)
        except ConstraintError:
            # A concurrent batch stored some of these ids between our check and
            # our commit; the whole batch was rolled back.
            unique_ids = [row["id"] for row in flow_rows]
            known = len(unique_ids) - len(self.new_flow_ids(unique_ids))
            raise DuplicateFlowError(max(known, 1)) from None

        return BatchSummary(flows=len(batch.flow_ids), edges=len(batch.edges), devices=len(batch.devices), windows=len(window_rows))

    def _upsert_batch_work(
        self,
        tx: ManagedTransaction,
        flow_rows: list[dict[str, Any]],
        device_rows: list[dict[str, Any]],
        edge_rows: list[dict[str, Any]],
        window_rows: list[dict[str, Any]],
        offset_rows: list[dict[str, Any]],
    ) -> None:
        ids = [row["id"] for row in flow_rows]
        known = 0
        for chunk in self._chunks(ids):
            known += len(_values(tx, cypher.load("flow_ids_known"), {"ids": list(chunk)}, "id"))
        # Repeats inside the batch count as duplicates too, as they would in SQLite.
        duplicates = known + len(ids) - len(set(ids))
        if duplicates:
            raise DuplicateFlowError(duplicates)

        for chunk in self._chunks(flow_rows):
            tx.run(cypher.load("flow_ids_create"), {"rows": list(chunk)}).consume()
        for chunk in self._chunks(device_rows):
            tx.run(cypher.load("devices_upsert"), {"rows": list(chunk)}).consume()
        for chunk in self._chunks(edge_rows):
            self._upsert_edge_chunk(tx, list(chunk))
        for chunk in self._chunks(window_rows):
            tx.run(cypher.load("windows_upsert"), {"rows": list(chunk)}).consume()
        starts = [row["start"] for row in window_rows]
        for chunk in self._chunks(starts):
            tx.run(cypher.load("windows_refresh_sizes"), {"starts": list(chunk)}).consume()
        if offset_rows:
            tx.run(cypher.load("source_offsets_upsert"), {"rows": offset_rows}).consume()

    @staticmethod
    def _upsert_edge_chunk(tx: ManagedTransaction, rows: list[dict[str, Any]]) -> None:
        count_rows = [{key: value for key, value in row.items() if key not in EDGE_HISTOGRAM_COLUMNS} for row in rows]
        before = {
            (record["src"], record["dst"], record["window_start"]): record
            for record in tx.run(cypher.load("edges_upsert"), {"rows": count_rows})
        }
        histogram_rows = []
        for row in rows:
            key = (row["src"], row["dst"], row["window_start"])
            if key not in before:
                raise InvalidRequestError(
                    f"edge {row['src']} -> {row['dst']} in window {row['window_start']} names a device missing from "
                    "the batch's devices frame; every edge endpoint needs a device row"
                )
            histogram_rows.append(_histogram_row(row, before[key]))
        tx.run(cypher.load("edges_set_histograms"), {"rows": histogram_rows}).consume()

    def source_offsets(self) -> dict[str, SourceOffset]:
        records = self._read(_records, cypher.load("source_offsets_get"), {"prefix": SOURCE_OFFSET_KEY_PREFIX})
        offsets = [_source_offset(json.loads(record["value"])) for record in records]
        return {offset.path: offset for offset in offsets}

    def windows(self, since: float | None = None, until: float | None = None) -> list[Window]:
        _check_range(since, until)
        records = self._read(_records, cypher.load("windows_list"), {"since": since, "until": until})
        return [_window(record["window"]) for record in records]

    def window(self, start: float) -> Window | None:
        records = self._read(_records, cypher.load("window_get"), {"start": float(start)})
        return _window(records[0]["window"]) if records else None

    def export_window(self, start: float) -> WindowGraph:
        window = self.window(start)
        if window is None:
            raise NotFoundError(f"window starting at {start} not found; list windows with `iotgraph windows`")
        columns, internal = self._read(_stream_window_edges, float(start))

        if columns["src"]:
            edges = pd.DataFrame({name: columns[name] for name in EDGE_COLUMNS})
        else:
            edges = self.empty_edges()
        ids = sorted(internal)
        devices = pd.DataFrame({"id": ids, "internal": [internal[i] for i in ids]})
        return WindowGraph(window=window, devices=devices, edges=edges)

    # -- devices -------------------------------------------------------------

    def device(self, device_id: str) -> Device | None:
        return self.devices_by_id([device_id]).get(device_id)

    def devices_by_id(self, device_ids: Sequence[str]) -> dict[str, Device]:
        unique = list(dict.fromkeys(device_ids))
        found: dict[str, Device] = {}
        for chunk in self._chunks(unique):
            for record in self._read(_records, cypher.load("devices_by_id"), {"ids": list(chunk)}):
                device = _device(record["device"])
                found[device.id] = device
        return found

    def list_devices(
        self,
        *,
        min_score: float | None = None,
        internal: bool | None = None,
        label: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Device]:
        _check_limit(limit)
        params = {"min_score": min_score, "internal": internal, "label": label, "after": after, "limit": int(limit)}
        return [_device(record["device"]) for record in self._read(_records, cypher.load("devices_list"), params)]

    def label_device(self, device_id: str, label: str, *, note: str | None, analyst: str, at: float) -> Device:
        params = {"id": device_id, "label": label, "note": note, "analyst": analyst, "at": float(at)}
        records = self._write(_records, cypher.load("device_set_analyst_label"), params)
        if not records:
            raise NotFoundError(f"device {device_id!r} not found")
        return _device(records[0]["device"])

    # -- scores --------------------------------------------------------------

    def write_scores(
        self,
        window_start: float,
        scores: Sequence[DeviceScore],
        model_version: str,
        *,
        edge_scores: Sequence[EdgeScore] = (),
        scored_at: float,
    ) -> None:
        rows = [
            {
                "device_id": str(score.device_id),
                "score": float(score.score),
                "rank": None if score.rank is None else int(score.rank),
                "predicted": None if score.predicted is None else bool(score.predicted),
                "explanation": None if score.explanation is None else json.dumps(score.explanation),
            }
            for score in scores
        ]
        edge_rows = [{"src": str(e.src), "dst": str(e.dst), "score": float(e.score)} for e in edge_scores]
        scored = self._write(self._write_scores_work, float(window_start), rows, edge_rows, model_version, float(scored_at))
        if scored < len(rows):
            # NOTE: SQLite keeps a score for an id it has no device row for; a
            # SCORED relationship needs a Device node, so Neo4j skips those.
            logger.warning(
                "window %s: %d of %d score(s) name devices that are not stored; they were skipped",
                window_start,
                len(rows) - scored,
                len(rows),
            )

    def _write_scores_work(
        self,
        tx: ManagedTransaction,
        window_start: float,
        rows: list[dict[str, Any]],
        edge_rows: list[dict[str, Any]],
        model_version: str,
        scored_at: float,
    ) -> int:
        if not _single_value(tx, cypher.load("window_exists"), {"start": window_start}, "found"):
            raise NotFoundError(f"window starting at {window_start} not found; scores were not written")

        scored = 0
        for chunk in self._chunks(rows):
            params = {
                "rows": list(chunk),
                "window_start": window_start,
                "model_version": model_version,
                "scored_at": scored_at,
                "high_risk": self.config.high_risk,
                "medium_risk": self.config.medium_risk,
            }
            scored += int(_single_value(tx, cypher.load("scores_write"), params, "scored") or 0)
        for chunk in self._chunks(edge_rows):
            params = {"rows": list(chunk), "window_start": window_start, "model_version": model_version}
            tx.run(cypher.load("edge_scores_write"), params).consume()
        params = {"start": window_start, "scored_at": scored_at, "model_version": model_version}
        tx.run(cypher.load("window_mark_scored"), params).consume()
        return scored

    def suspicious(self, window_start: float | None = None, *, min_score: float = 0.0, limit: int = 20) -> list[DeviceScore]:
        _check_limit(limit)
        if window_start is None:
            window_start = self._read(_single_value, cypher.load("window_latest_scored"), {}, "start")
            if window_start is None:
                return []
        params = {"window_start": float(window_start), "min_score": float(min_score), "limit": int(limit)}
        return [_score(record) for record in self._read(_records, cypher.load("scores_suspicious"), params)]

    def score_history(self, device_id: str, *, since: float | None = None, until: float | None = None) -> list[DeviceScore]:
        _check_range(since, until)
        params = {"id": device_id, "since": since, "until": until}
        return [_score(record) for record in self._read(_records, cypher.load("scores_history"), params)]

    def scores_for(self, device_ids: Sequence[str], window_start: float | None = None) -> dict[str, DeviceScore]:
        unique = list(dict.fromkeys(device_ids))
        found: dict[str, DeviceScore] = {}
        for chunk in self._chunks(unique):
            if window_start is None:
                records = self._read(_records, cypher.load("scores_latest_for"), {"ids": list(chunk)})
            else:
                params = {"ids": list(chunk), "window_start": float(window_start)}
                records = self._read(_records, cypher.load("scores_window_for"), params)
            for record in records:
                score = _score(record)
                found[score.device_id] = score
        return found

    def explanation(self, device_id: str, window_start: float | None = None) -> Explanation | None:
        params = {"id": device_id, "window_start": None if window_start is None else float(window_start)}
        records = self._read(_records, cypher.load("explanation_get"), params)
        if not records:
            return None
        score = _score(records[0])
        return Explanation(
            device_id=score.device_id,
            window_start=score.window_start,
            score=score.score,
            model_version=score.model_version,
            reasons=score.explanation or {},
        )

    def neighborhood(
        self,
        device_id: str,
        *,
        hops: int = 1,
        since: float | None = None,
        until: float | None = None,
        limit: int = 500,
    ) -> Subgraph:
        if hops < 1:
            raise InvalidRequestError(f"invalid hops {hops}: it must be at least 1")
        _check_limit(limit)
        _check_range(since, until)
        if self.device(device_id) is None:
            raise NotFoundError(f"device {device_id!r} not found")
        return self._read(_neighborhood_work, device_id, hops, since, until, limit)

    # -- jobs ----------------------------------------------------------------

    def enqueue_job(
        self,
        *,
        kind: str,
        window_start: float | None,
        window_end: float | None,
        model: str | None,
        requested_by: str | None,
        at: float,
    ) -> Job:
        _check_range(window_start, window_end)
        params = {
            "id": uuid.uuid4().hex,
            "kind": kind,
            "window_start": window_start,
            "window_end": window_end,
            "model": model,
            "requested_by": requested_by,
            "at": float(at),
        }
        records = self._write(_records, cypher.load("job_create"), params)
        return _job(records[0]["job"])

    def claim_job(self, worker_id: str, *, at: float) -> Job | None:
        # Each attempt is its own transaction, so a worker that lost a job to
        # another releases that job's lock before it tries the next one.
        for _ in range(_MAX_CLAIM_ATTEMPTS):
            params = {"worker_id": worker_id, "claim_id": uuid.uuid4().hex, "at": float(at)}
            record = self._write(_single_record, cypher.load("job_claim"), params)
            if record is None:
                return None
            if record["claimable"]:
                return _job(record["job"])
            logger.debug("worker %s lost job %s to another worker; trying the next one", worker_id, record["job"]["id"])
        logger.warning("worker %s lost %d job claims in a row; claiming again later", worker_id, _MAX_CLAIM_ATTEMPTS)
        return None

    def heartbeat_job(self, job_id: str, worker_id: str, *, at: float) -> bool:
        params = {"id": job_id, "worker_id": worker_id, "at": float(at)}
        return bool(self._write(_single_value, cypher.load("job_heartbeat"), params, "updated"))

    def finish_job(self, job_id: str, status: str, *, error: str | None = None, at: float) -> Job:
        allowed = (*_FINISHED, JobStatus.QUEUED.value)
        if status not in allowed:
            raise InvalidRequestError(f"invalid final job status {status!r}: expected one of {', '.join(allowed)}")
        if status == JobStatus.QUEUED.value:
            records = self._write(_records, cypher.load("job_requeue"), {"id": job_id})
        else:
            params = {"id": job_id, "status": status, "error": error, "at": float(at)}
            records = self._write(_records, cypher.load("job_finish"), params)
        if not records:
            raise NotFoundError(f"job {job_id!r} not found")
        job = _job(records[0]["job"])
        if not records[0]["updated"]:
            logger.info("job %s was already %s; status %s not applied", job_id, job.status, status)
        return job

    def cancel_job(self, job_id: str, *, at: float) -> Job:
        records = self._write(_records, cypher.load("job_cancel"), {"id": job_id, "at": float(at)})
        if not records:
            raise NotFoundError(f"job {job_id!r} not found")
        return _job(records[0]["job"])

    def requeue_stale_jobs(self, *, older_than: float) -> int:
        params = {"older_than": float(older_than)}
        requeued = int(self._write(_single_value, cypher.load("jobs_requeue_stale"), params, "requeued") or 0)
        if requeued:
            logger.warning("requeued %d job(s) whose worker stopped heartbeating before %.0f", requeued, older_than)
        return requeued

    def job(self, job_id: str) -> Job | None:
        records = self._read(_records, cypher.load("job_get"), {"id": job_id})
        return _job(records[0]["job"]) if records else None

    def jobs(self, status: str | None = None, *, limit: int = 100) -> list[Job]:
        params = {"status": status, "limit": int(limit)}
        return [_job(record["job"]) for record in self._read(_records, cypher.load("jobs_list"), params)]

    def record_worker_heartbeat(self, worker_id: str, *, at: float) -> None:
        self._write(_run_consume, cypher.load("worker_heartbeat"), {"id": worker_id, "at": float(at)})

    def worker_heartbeats(self) -> dict[str, float]:
        records = self._read(_records, cypher.load("worker_heartbeats"), {})
        return {record["id"]: record["heartbeat_at"] for record in records}

    # -- pseudonyms (admin only) ---------------------------------------------

    def set_pseudonym_key_id(self, key_id: str | None) -> None:
        # NOTE: unlike SQLite's separate file, Pseudonym nodes share the database with the graph;
        # only the store's resolve_pseudonym reads them, but a Browser user can MATCH them.
        wanted = key_id or ""
        if key_id is not None:
            # A schema command runs alone, so it cannot join the writes below; IF NOT EXISTS makes it cheap to repeat.
            self._write(_run_consume, cypher.load("pseudonym_schema"), {})
        stored = self._read(_meta_get, ["pseudonym_key_id"])
        if "pseudonym_key_id" not in stored:
            if key_id is not None and self.counts().devices > 0:
                raise StoreConfigError(
                    f"store {self.url} already contains devices under their real addresses, so pseudonymised flows "
                    "would mix with them; ingest with --pseudonymise into a new store"
                )
            stored = self._write(_meta_put_if_absent, [{"key": "pseudonym_key_id", "value": wanted}])
        check_pseudonym_key_id(self.url, stored=str(stored["pseudonym_key_id"]), wanted=wanted)

    def add_pseudonyms(self, rows: Sequence[tuple[str, str, float]]) -> None:
        records = [{"id": pseudonym, "address": address, "last_seen": float(last_seen)} for pseudonym, address, last_seen in rows]
        for chunk in self._chunks(records):
            self._write(_run_consume, cypher.load("pseudonyms_add"), {"rows": list(chunk)})

    def resolve_pseudonym(self, pseudonym: str) -> str | None:
        return self._read(_single_value, cypher.load("pseudonym_resolve"), {"id": pseudonym}, "address")

    # -- retention and bookkeeping ------------------------------------------

    def purge(self, before: float, *, batch_size: int | None = None) -> dict[str, int]:
        # NOTE: each kind is deleted in transactions of batch_size elements, so
        # a large purge never holds the whole deletion in Neo4j's heap. Unlike
        # SQLite's, a purge that fails half-way has deleted part of the data;
        # running it again deletes the rest.
        size = self.config.batch_size if batch_size is None else batch_size
        if size < 1:
            raise InvalidRequestError(f"invalid purge batch size {size}: it must be at least 1")
        steps = (
            ("scores", cypher.load("purge_scores")),
            ("edges", cypher.load("purge_edges")),
            ("windows", cypher.load("purge_windows")),
            ("flow_ids", cypher.load("purge_flow_ids")),
            ("jobs", cypher.load("purge_jobs")),
        )
        deleted: dict[str, int] = {}
        for kind, statement in steps:
            deleted[kind] = self._delete_in_batches(statement, {"before": float(before)}, size)
        self._delete_in_batches(cypher.load("purge_device_scores"), {"before": float(before)}, size)
        deleted["devices"] = self._delete_in_batches(cypher.load("purge_devices"), {}, size)
        deleted["pseudonyms"] = self._delete_in_batches(cypher.load("purge_pseudonyms"), {"before": float(before)}, size)
        logger.info("purged data before %.0f: %s", before, deleted)
        return deleted

    def _delete_in_batches(self, statement: str, params: dict[str, Any], batch_size: int | None = None) -> int:
        size = self.config.batch_size if batch_size is None else batch_size
        total = 0
        while True:
            batch_params = {**params, "batch_size": size}
            deleted = int(self._write(_single_value, statement, batch_params, "deleted") or 0)
            total += deleted
            if deleted < size:
                return total

    def counts(self) -> StoreCounts:
        records = self._read(_records, cypher.load("counts"), {})
        if not records:
            return StoreCounts(flows=0, devices=0, windows=0, edges=0, scores=0, jobs=0)
        record = records[0]
        return StoreCounts(
            flows=int(record["flows"]),
            devices=int(record["devices"]),
            windows=int(record["windows"]),
            edges=int(record["edges"]),
            scores=int(record["scores"]),
            jobs=int(record["jobs"]),
        )


def clear_database(store: GraphStore) -> None:
    """Delete every node a Neo4j store wrote, keeping constraints and indexes; for test clean-up.

    Runs ``CALL … IN TRANSACTIONS``, which Neo4j allows only in an auto-commit
    transaction, so this is the one statement the store runs outside a
    managed transaction and without retries.
    """
    if not isinstance(store, Neo4jStore):
        raise TypeError(f"clear_database needs a Neo4jStore, got {type(store).__name__}")
    with store._driver.session(database=store.config.database) as session:
        session.run(cypher.load("clear_database")).consume()
    logger.info("cleared Neo4j store %s", store.url)


# -- transaction work functions ----------------------------------------------
# Each takes the managed transaction first and consumes its results inside it,
# as the driver requires.


def _run_consume(tx: ManagedTransaction, statement: str, params: dict[str, Any]) -> None:
    tx.run(statement, params).consume()


def _records(tx: ManagedTransaction, statement: str, params: dict[str, Any]) -> list[Any]:
    return list(tx.run(statement, params))


def _values(tx: ManagedTransaction, statement: str, params: dict[str, Any], key: str) -> list[Any]:
    return [record[key] for record in tx.run(statement, params)]


def _single_value(tx: ManagedTransaction, statement: str, params: dict[str, Any], key: str) -> Any:
    record = tx.run(statement, params).single()
    return None if record is None else record[key]


def _single_record(tx: ManagedTransaction, statement: str, params: dict[str, Any]) -> dict[str, Any] | None:
    record = tx.run(statement, params).single()
    return None if record is None else {key: record[key] for key in record.keys()}


def _meta_get(tx: ManagedTransaction, keys: list[str]) -> dict[str, Any]:
    return {record["key"]: record["value"] for record in tx.run(cypher.load("meta_get"), {"keys": keys})}


def _meta_put_if_absent(tx: ManagedTransaction, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {record["key"]: record["value"] for record in tx.run(cypher.load("meta_put_if_absent"), {"rows": rows})}


def _stream_window_edges(tx: ManagedTransaction, start: float) -> tuple[dict[str, list[Any]], dict[str, bool]]:
    """Read a window's edges record by record into column lists (the driver fetches in batches)."""
    columns: dict[str, list[Any]] = {name: [] for name in EDGE_COLUMNS}
    internal: dict[str, bool] = {}
    for record in tx.run(cypher.load("window_edges"), {"start": start}):
        for name in EDGE_COLUMNS:
            if name in EDGE_HISTOGRAM_COLUMNS:
                columns[name].append(json.loads(record[f"{name}_json"] or "{}"))
            else:
                columns[name].append(record[name])
        internal[record["src"]] = bool(record["src_internal"])
        internal[record["dst"]] = bool(record["dst_internal"])
    return columns, internal


def _neighborhood_work(
    tx: ManagedTransaction, device_id: str, hops: int, since: float | None, until: float | None, limit: int
) -> Subgraph:
    """Breadth-first search over COMMUNICATED edges in the time range; nearest first, then by id."""
    order = [device_id]
    reached = {device_id}
    frontier = [device_id]
    truncated = False
    for _ in range(hops):
        peers = set(_values(tx, cypher.load("neighborhood_peers"), {"ids": frontier, "since": since, "until": until}, "id"))
        fresh = sorted(peers - reached)
        room = limit - len(order)
        if len(fresh) > room:
            fresh = fresh[:room]
            truncated = True
        order.extend(fresh)
        reached.update(fresh)
        frontier = fresh
        if truncated or not frontier:
            break

    nodes = {}
    for record in tx.run(cypher.load("devices_by_id"), {"ids": order}):
        device = _device(record["device"])
        nodes[device.id] = device
    edges = [
        _edge(record["src"], record["dst"], record["edge"])
        for record in tx.run(cypher.load("neighborhood_edges"), {"ids": order, "since": since, "until": until})
    ]
    edges.sort(key=lambda e: (e.window_start, e.src, e.dst))
    return Subgraph(nodes=[nodes[i] for i in order if i in nodes], edges=edges, truncated=truncated)


# -- rows sent to Neo4j --------------------------------------------------------


def _flow_rows(batch: IngestBatch) -> list[dict[str, Any]]:
    windows = batch.flow_windows if batch.flow_windows is not None else [None] * len(batch.flow_ids)
    if len(windows) != len(batch.flow_ids):
        raise InvalidRequestError(
            f"batch has {len(batch.flow_ids)} flow ids but {len(windows)} flow windows; they must pair up one to one"
        )
    return [
        {"id": str(flow_id), "window_start": None if window is None else float(window)}
        for flow_id, window in zip(batch.flow_ids, windows)
    ]


def _device_rows(devices: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "id": str(row.id),
            "ip": None if pd.isna(row.ip) else str(row.ip),
            "internal": bool(row.internal),
            "first_seen": float(row.first_seen),
            "last_seen": float(row.last_seen),
            "malicious_flows": int(row.malicious_flows),
            "labelled_flows": int(row.labelled_flows),
        }
        for row in devices.itertuples(index=False)
    ]


def _edge_rows(edges: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for row in edges.itertuples(index=False):
        item: dict[str, Any] = {
            "src": str(row.src),
            "dst": str(row.dst),
            "window_start": float(row.window_start),
            "window_end": float(row.window_end),
            "duration_sum": float(row.duration_sum),
            "first_ts": float(row.first_ts),
            "last_ts": float(row.last_ts),
        }
        for name in EDGE_COUNT_COLUMNS:
            item[name] = int(getattr(row, name))
        for name in EDGE_HISTOGRAM_COLUMNS:
            item[name] = _histogram(getattr(row, name))
        rows.append(item)
    return rows


def _combine_edge_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge rows naming the same (src, dst, window) so that each relationship is written once per batch."""
    combined: dict[tuple[str, str, float], dict[str, Any]] = {}
    for row in rows:
        key = (row["src"], row["dst"], row["window_start"])
        seen = combined.get(key)
        if seen is None:
            combined[key] = row
            continue
        for name in (*EDGE_COUNT_COLUMNS, "duration_sum"):
            seen[name] += row[name]
        seen["first_ts"] = min(seen["first_ts"], row["first_ts"])
        seen["last_ts"] = max(seen["last_ts"], row["last_ts"])
        for name in EDGE_HISTOGRAM_COLUMNS:
            seen[name] = dict(Counter(seen[name]) + Counter(row[name]))
    return list(combined.values())


def _window_rows(edge_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    windows: dict[float, dict[str, Any]] = {}
    for row in edge_rows:
        window = windows.setdefault(row["window_start"], {"start": row["window_start"], "end": row["window_end"], "flows": 0})
        window["flows"] += row["flows"]
    return [windows[start] for start in sorted(windows)]


def _source_offset_row(offset: SourceOffset) -> dict[str, Any]:
    value = dataclasses.asdict(offset)
    return {"key": SOURCE_OFFSET_KEY_PREFIX + offset.path, "value": json.dumps(value, sort_keys=True)}


def _source_offset(value: dict[str, Any]) -> SourceOffset:
    return SourceOffset(**{field.name: value.get(field.name) for field in dataclasses.fields(SourceOffset)})


def _histogram(value: Any) -> dict[str, int]:
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return {str(key): int(count) for key, count in (value or {}).items()}


def _histogram_json(histogram: dict[str, int]) -> str:
    # The same compact, key-sorted form the SQLite store writes.
    return json.dumps(histogram, separators=(",", ":"), sort_keys=True)


def _histogram_row(row: dict[str, Any], before: Any) -> dict[str, Any]:
    """Return the histogram properties of one edge: this batch's counts added to the stored ones."""
    out: dict[str, Any] = {"src": row["src"], "dst": row["dst"], "window_start": row["window_start"]}
    merged: dict[str, dict[str, int]] = {}
    for name in EDGE_HISTOGRAM_COLUMNS:
        stored = Counter(json.loads(before[f"{name}_json"] or "{}"))
        stored.update(row[name])
        merged[name] = dict(stored)
        out[f"{name}_json"] = _histogram_json(merged[name])
    out["protocols"] = _most_frequent(merged["protocols"])
    out["dst_ports"] = [int(port) for port in _most_frequent(merged["dst_ports"]) if _is_int(port)][:MAX_BROWSER_PORTS]
    return out


def _most_frequent(histogram: dict[str, int]) -> list[str]:
    return [key for key, _ in sorted(histogram.items(), key=lambda item: (-item[1], item[0]))]


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


# -- entities built from records ---------------------------------------------


def _device(props: dict[str, Any]) -> Device:
    values = {name: props[name] for name in _DEVICE_FIELDS if props.get(name) is not None}
    values["internal"] = bool(values.get("internal", False))
    return Device(**values)


def _window(props: dict[str, Any]) -> Window:
    return Window(**{name: props[name] for name in _WINDOW_FIELDS if props.get(name) is not None})


def _job(props: dict[str, Any]) -> Job:
    return Job(**{name: props.get(name) for name in _JOB_FIELDS})


def _score(record: Any) -> DeviceScore:
    props = record["score"]
    explanation = props.get("explanation")
    return DeviceScore(
        device_id=record["device_id"],
        window_start=props["window_start"],
        score=props["score"],
        model_version=props["model_version"],
        rank=props.get("rank"),
        predicted=props.get("predicted"),
        scored_at=props.get("scored_at"),
        explanation=None if explanation is None else json.loads(explanation),
    )


def _edge(src: str, dst: str, props: dict[str, Any]) -> Edge:
    return Edge(
        src=src,
        dst=dst,
        window_start=props["window_start"],
        window_end=props["window_end"],
        flows=props["flows"],
        bytes_out=props["bytes_out"],
        bytes_in=props["bytes_in"],
        pkts_out=props["pkts_out"],
        pkts_in=props["pkts_in"],
        failed_flows=props["failed_flows"],
        malicious_flows=props["malicious_flows"],
        first_ts=props["first_ts"],
        last_ts=props["last_ts"],
        # The plain protocols/dst_ports properties are Browser lists; the counts are in the JSON.
        protocols=json.loads(props.get("protocols_json") or "{}"),
        dst_ports=json.loads(props.get("dst_ports_json") or "{}"),
        score=props.get("score"),
        score_model_version=props.get("score_model_version"),
    )


def _check_range(since: float | None, until: float | None) -> None:
    if since is not None and until is not None and since > until:
        raise InvalidRequestError(f"invalid time range: since {since} is after until {until}; swap them")


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidRequestError(f"invalid limit {limit}: it must be at least 1")
