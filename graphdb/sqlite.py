"""The embedded GraphStore on SQLite (WAL mode, one connection per thread).

Every write that spans several rows runs in one ``BEGIN IMMEDIATE``
transaction, so a crash leaves either all of a batch or none of it, and two
processes that claim jobs at once are serialised by SQLite's write lock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphdb.errors import DuplicateFlowError, InvalidRequestError, NotFoundError, SchemaVersionError, StoreConfigError
from graphdb.model import (
    EDGE_COLUMNS,
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
from graphdb.sqlite_schema import (
    DEVICE_LABEL_SQL,
    EDGE_SQL_COLUMNS,
    REFRESH_WINDOW_SIZES,
    SCHEMA,
    SCHEMA_VERSION,
    UPSERT_DEVICE,
    UPSERT_EDGE,
    UPSERT_SOURCE_OFFSET,
    UPSERT_WINDOW,
)
from graphdb.sqlite_pseudonyms import PseudonymVault, vault_path
from graphdb.store import GraphStore, check_pseudonym_key_id

logger = logging.getLogger(__name__)

# SQLite allows 32766 host parameters per statement since 3.32; stay well below.
_IN_CHUNK = 900
_EDGE_FLOAT_COLUMNS = frozenset({"window_start", "window_end", "duration_sum", "first_ts", "last_ts"})
# One encoder for every histogram: json.dumps with options builds a new encoder per call.
_HISTOGRAM_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
# Rows (flows and edges of whole windows, jobs, devices) a purge deletes per transaction.
DEFAULT_PURGE_BATCH = 5000
_FINISHED = (JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)

# Peers of the frontier (?1, a JSON array of ids) over edges whose window
# lies in [?2, ?3], without those already reached (?4), in id order, at most ?5.
_NEW_PEERS = """
SELECT peer FROM (
    SELECT dst AS peer FROM edges
    WHERE src IN (SELECT value FROM json_each(?1)) AND window_start >= ?2 AND window_start <= ?3
    UNION
    SELECT src AS peer FROM edges
    WHERE dst IN (SELECT value FROM json_each(?1)) AND window_start >= ?2 AND window_start <= ?3
)
WHERE peer NOT IN (SELECT value FROM json_each(?4))
ORDER BY peer
LIMIT ?5
"""
# Edges between members of a neighbourhood (?1 and ?2, JSON arrays of ids)
# whose window lies in [?3, ?4]. The unary + keeps SQLite on the src index:
# hubs such as gateways and clouds receive far more edges than they send,
# and the dst index would read every edge a hub received.
_EDGES_AMONG = """
SELECT * FROM edges
WHERE src IN (SELECT value FROM json_each(?1)) AND +dst IN (SELECT value FROM json_each(?2))
  AND window_start >= ?3 AND window_start <= ?4
"""

_DEVICE_SELECT = f"""
SELECT id, ip, internal, first_seen, last_seen, {DEVICE_LABEL_SQL} AS label, anomaly_score, anomaly_window,
       predicted_label, model_version, scored_at, analyst_label, analyst_note, analyst_by, analyst_at
FROM devices
"""


def _merge_counts(left: str | None, right: str | None) -> str:
    merged = Counter(json.loads(left or "{}"))
    merged.update(json.loads(right or "{}"))
    return json.dumps(dict(merged), separators=(",", ":"), sort_keys=True)


def _histogram_json(value: Any) -> str:
    if isinstance(value, str):
        return value
    if not value:
        return "{}"
    # The aggregation already gives str keys and int counts, so only other callers need converting.
    if not all(type(key) is str for key in value) or not all(type(count) is int for count in value.values()):
        value = {str(key): int(count) for key, count in value.items()}
    return _HISTOGRAM_ENCODER.encode(value)


def _decode_histograms(texts: list[str]) -> list[dict[str, int]]:
    """Decode a column of histogram JSON texts.

    One ``json.loads`` of the texts joined into an array is several times
    faster than one call per text. When that fails, the per-text fallback
    names the text that is not valid JSON.
    """
    if not texts:
        return []
    try:
        decoded = json.loads("[" + ",".join(texts) + "]")
    except json.JSONDecodeError:
        decoded = None
    if decoded is None or len(decoded) != len(texts):
        decoded = [json.loads(text) for text in texts]
    return decoded


def _source_offset_row(offset: SourceOffset) -> tuple:
    header = None if offset.header is None else json.dumps(offset.header, sort_keys=True)
    return (
        offset.path,
        int(offset.device),
        int(offset.inode),
        int(offset.offset),
        int(offset.line),
        offset.format,
        header,
        offset.max_ts,
        offset.updated_at,
    )


def _predicted_label(predicted: bool | None) -> str | None:
    if predicted is None:
        return None
    return "malicious" if predicted else "benign"


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def _check_range(since: float | None, until: float | None) -> None:
    if since is not None and until is not None and since > until:
        raise InvalidRequestError(f"invalid time range: since {since} is after until {until}; swap them")


class SqliteStore(GraphStore):
    """GraphStore on a SQLite file; ``sqlite:///path.db`` or ``sqlite:///:memory:``."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._vault = PseudonymVault(vault_path(self.path), timeout=timeout)
        self._create_schema()

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        prefix = "sqlite:///"
        if not url.startswith(prefix) or len(url) == len(prefix):
            raise StoreConfigError(f"invalid SQLite store URL {url!r}: expected sqlite:///path/to/file.db")
        return cls(url[len(prefix) :])

    # -- connections ---------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
            conn.create_function("merge_counts", 2, _merge_counts, deterministic=True)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one immediate transaction: all of it commits or none of it."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _create_schema(self) -> None:
        with self._write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row["value"]) > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"store {self.path} has schema version {row['value']}, newer than this iotgraph ({SCHEMA_VERSION}); upgrade iotgraph"
                )

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass
            self._connections.clear()
        self._local = threading.local()
        self._vault.close()

    def ping(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            logger.exception("SQLite store %s failed a trivial read", self.path)
            return False
        return True

    # -- windows and ingest --------------------------------------------------

    def window_spec(self) -> WindowSpec | None:
        rows = dict(self._connection().execute("SELECT key, value FROM meta WHERE key IN ('window_size', 'window_step')").fetchall())
        if "window_size" not in rows:
            return None
        return WindowSpec(size=float(rows["window_size"]), step=float(rows["window_step"]))

    def set_window_spec(self, spec: WindowSpec) -> None:
        with self._write() as conn:
            rows = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('window_size', 'window_step')").fetchall())
            if rows:
                stored = WindowSpec(size=float(rows["window_size"]), step=float(rows["window_step"]))
                if stored != spec:
                    raise StoreConfigError(
                        f"store {self.path} uses {stored.size:g}s windows with a {stored.step:g}s step, not "
                        f"{spec.size:g}s/{spec.step:g}s; pass --window {stored.size:g}s --step {stored.step:g}s or use a new store"
                    )
                return
            conn.execute("INSERT INTO meta (key, value) VALUES ('window_size', ?), ('window_step', ?)", (repr(spec.size), repr(spec.step)))

    def new_flow_ids(self, flow_ids: Sequence[str]) -> set[str]:
        conn = self._connection()
        seen: set[str] = set()
        unique = list(dict.fromkeys(flow_ids))
        for chunk in _chunks(unique):
            placeholders = ",".join("?" * len(chunk))
            seen.update(row[0] for row in conn.execute(f"SELECT flow_id FROM flows_seen WHERE flow_id IN ({placeholders})", chunk))
        return set(unique) - seen

    def iter_flow_ids(self, *, batch_size: int = 10_000) -> Iterator[list[tuple[str, float | None]]]:
        conn = self._connection()
        after = ""
        while True:
            page = conn.execute(
                "SELECT flow_id, window_start FROM flows_seen WHERE flow_id > ? ORDER BY flow_id LIMIT ?", (after, batch_size)
            ).fetchall()
            if not page:
                return
            yield [(row[0], row[1]) for row in page]
            after = page[-1][0]

    def upsert_batch(self, batch: IngestBatch) -> BatchSummary:
        edges = batch.edges
        windows = edges.groupby("window_start", sort=True).agg(window_end=("window_end", "first"), flows=("flows", "sum")) if len(edges) else None
        flow_windows = batch.flow_windows if batch.flow_windows is not None else [None] * len(batch.flow_ids)

        with self._write() as conn:
            before = conn.total_changes
            conn.executemany("INSERT OR IGNORE INTO flows_seen (flow_id, window_start) VALUES (?, ?)", zip(batch.flow_ids, flow_windows))
            inserted = conn.total_changes - before
            if inserted != len(batch.flow_ids):
                raise DuplicateFlowError(len(batch.flow_ids) - inserted)

            conn.executemany(UPSERT_EDGE, self._edge_rows(edges))
            conn.executemany(
                UPSERT_DEVICE,
                (
                    (str(r.id), r.ip, int(bool(r.internal)), float(r.first_seen), float(r.last_seen), int(r.malicious_flows), int(r.labelled_flows))
                    for r in batch.devices.itertuples(index=False)
                ),
            )
            if windows is not None:
                conn.executemany(UPSERT_WINDOW, ((float(s), float(r.window_end), int(r.flows)) for s, r in windows.iterrows()))
                conn.executemany(REFRESH_WINDOW_SIZES, ((float(s),) for s in windows.index))
            conn.executemany(UPSERT_SOURCE_OFFSET, (_source_offset_row(offset) for offset in batch.source_offsets))

        return BatchSummary(
            flows=len(batch.flow_ids),
            edges=len(edges),
            devices=len(batch.devices),
            windows=0 if windows is None else len(windows),
        )

    def source_offsets(self) -> dict[str, SourceOffset]:
        rows = self._connection().execute('SELECT * FROM source_offsets ORDER BY path')
        return {
            row["path"]: SourceOffset(
                path=row["path"],
                device=row["device"],
                inode=row["inode"],
                offset=row["offset"],
                line=row["line"],
                format=row["format"],
                header=None if row["header"] is None else json.loads(row["header"]),
                max_ts=row["max_ts"],
                updated_at=row["updated_at"],
            )
            for row in rows
        }

    @staticmethod
    def _edge_rows(edges: pd.DataFrame) -> Iterator[tuple]:
        # Column-wise conversion to Python values: much faster than a tuple per row from itertuples.
        columns = []
        for name in EDGE_SQL_COLUMNS:
            values = edges[name]
            if name in EDGE_HISTOGRAM_COLUMNS:
                columns.append([_histogram_json(value) for value in values])
            elif name in ("src", "dst"):
                columns.append([str(value) for value in values])
            elif name in _EDGE_FLOAT_COLUMNS:
                columns.append(values.to_numpy(dtype=np.float64).tolist())
            else:
                columns.append(values.to_numpy(dtype=np.int64).tolist())
        return zip(*columns)

    @staticmethod
    def _window(row: sqlite3.Row) -> Window:
        return Window(
            start=row["start"],
            end=row["end"],
            flows=row["flows"],
            devices=row["devices"],
            edges=row["edges"],
            status=row["status"],
            scored_at=row["scored_at"],
            model_version=row["model_version"],
        )

    def windows(self, since: float | None = None, until: float | None = None) -> list[Window]:
        _check_range(since, until)
        rows = self._connection().execute(
            'SELECT * FROM windows WHERE start >= ? AND start <= ? ORDER BY start',
            (float("-inf") if since is None else since, float("inf") if until is None else until),
        )
        return [self._window(row) for row in rows]

    def window(self, start: float) -> Window | None:
        row = self._connection().execute("SELECT * FROM windows WHERE start = ?", (start,)).fetchone()
        return None if row is None else self._window(row)

    def export_window(self, start: float) -> WindowGraph:
        conn = self._connection()
        window = self.window(start)
        if window is None:
            raise NotFoundError(f"window starting at {start} not found; list windows with `iotgraph windows`")

        edges = pd.read_sql_query(
            f"SELECT {', '.join(EDGE_SQL_COLUMNS)} FROM edges WHERE window_start = ? ORDER BY src, dst",
            conn,
            params=(start,),
        )
        for column in EDGE_HISTOGRAM_COLUMNS:
            edges[column] = _decode_histograms(edges[column].tolist())
        edges = edges.loc[:, list(EDGE_COLUMNS)]

        ids = sorted(set(edges["src"]).union(edges["dst"]))
        internal = {}
        for chunk in _chunks(ids):
            placeholders = ",".join("?" * len(chunk))
            internal.update(conn.execute(f"SELECT id, internal FROM devices WHERE id IN ({placeholders})", chunk).fetchall())
        devices = pd.DataFrame({"id": ids, "internal": [bool(internal.get(i, 0)) for i in ids]})
        return WindowGraph(window=window, devices=devices, edges=edges)

    # -- devices -------------------------------------------------------------

    @staticmethod
    def _device(row: sqlite3.Row) -> Device:
        return Device(
            id=row["id"],
            ip=row["ip"],
            internal=bool(row["internal"]),
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
            label=row["label"],
            anomaly_score=row["anomaly_score"],
            anomaly_window=row["anomaly_window"],
            predicted_label=row["predicted_label"],
            model_version=row["model_version"],
            scored_at=row["scored_at"],
            analyst_label=row["analyst_label"],
            analyst_note=row["analyst_note"],
            analyst_by=row["analyst_by"],
            analyst_at=row["analyst_at"],
        )

    def device(self, device_id: str) -> Device | None:
        row = self._connection().execute(_DEVICE_SELECT + " WHERE id = ?", (device_id,)).fetchone()
        return None if row is None else self._device(row)

    def devices_by_id(self, device_ids: Sequence[str]) -> dict[str, Device]:
        conn = self._connection()
        found: dict[str, Device] = {}
        for chunk in _chunks(list(dict.fromkeys(device_ids))):
            placeholders = ",".join("?" * len(chunk))
            for row in conn.execute(_DEVICE_SELECT + f" WHERE id IN ({placeholders})", chunk):
                found[row["id"]] = self._device(row)
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
        if limit < 1:
            raise InvalidRequestError(f"invalid limit {limit}: it must be at least 1")
        clauses, params = [], []
        if min_score is not None:
            clauses.append("anomaly_score >= ?")
            params.append(min_score)
        if internal is not None:
            clauses.append("internal = ?")
            params.append(int(internal))
        if label is not None:
            clauses.append(f"{DEVICE_LABEL_SQL} = ?")
            params.append(label)
        if after is not None:
            clauses.append("id > ?")
            params.append(after)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._connection().execute(_DEVICE_SELECT + where + " ORDER BY id LIMIT ?", (*params, limit))
        return [self._device(row) for row in rows]

    def label_device(self, device_id: str, label: str, *, note: str | None, analyst: str, at: float) -> Device:
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE devices SET analyst_label = ?, analyst_note = ?, analyst_by = ?, analyst_at = ? WHERE id = ?",
                (label, note, analyst, at, device_id),
            ).rowcount
        if not updated:
            raise NotFoundError(f"device {device_id!r} not found")
        device = self.device(device_id)
        assert device is not None  # the update above just matched it
        return device

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
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM windows WHERE start = ?", (window_start,)).fetchone() is None:
                raise NotFoundError(f"window starting at {window_start} not found; scores were not written")
            conn.executemany(
                "INSERT OR REPLACE INTO scores (device_id, window_start, model_version, score, rank, predicted, scored_at, explanation) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        s.device_id,
                        window_start,
                        model_version,
                        float(s.score),
                        s.rank,
                        None if s.predicted is None else int(s.predicted),
                        scored_at,
                        None if s.explanation is None else json.dumps(s.explanation),
                    )
                    for s in scores
                ),
            )
            conn.executemany(
                "UPDATE devices SET anomaly_score = ?, anomaly_window = ?, predicted_label = ?, model_version = ?, scored_at = ? "
                "WHERE id = ? AND (anomaly_window IS NULL OR anomaly_window <= ?)",
                (
                    (
                        float(s.score),
                        window_start,
                        _predicted_label(s.predicted),
                        model_version,
                        scored_at,
                        s.device_id,
                        window_start,
                    )
                    for s in scores
                ),
            )
            conn.executemany(
                "UPDATE edges SET score = ?, score_model_version = ? WHERE window_start = ? AND src = ? AND dst = ?",
                ((float(e.score), model_version, window_start, e.src, e.dst) for e in edge_scores),
            )
            conn.execute(
                "UPDATE windows SET status = 'scored', scored_at = ?, model_version = ? WHERE start = ?",
                (scored_at, model_version, window_start),
            )

    @staticmethod
    def _score(row: sqlite3.Row) -> DeviceScore:
        explanation = row["explanation"] if "explanation" in row.keys() else None
        return DeviceScore(
            device_id=row["device_id"],
            window_start=row["window_start"],
            score=row["score"],
            model_version=row["model_version"],
            rank=row["rank"],
            predicted=None if row["predicted"] is None else bool(row["predicted"]),
            scored_at=row["scored_at"],
            explanation=None if explanation is None else json.loads(explanation),
        )

    def _latest_scored_window(self) -> float | None:
        row = self._connection().execute("SELECT MAX(start) FROM windows WHERE status = 'scored'").fetchone()
        return row[0]

    def suspicious(self, window_start: float | None = None, *, min_score: float = 0.0, limit: int = 20) -> list[DeviceScore]:
        if limit < 1:
            raise InvalidRequestError(f"invalid limit {limit}: it must be at least 1")
        if window_start is None:
            window_start = self._latest_scored_window()
            if window_start is None:
                return []
        rows = self._connection().execute(
            "SELECT s.* FROM scores s JOIN windows w ON w.start = s.window_start AND w.model_version = s.model_version "
            "WHERE s.window_start = ? AND s.score >= ? ORDER BY s.score DESC, s.device_id LIMIT ?",
            (window_start, min_score, limit),
        )
        return [self._score(row) for row in rows]

    def score_history(self, device_id: str, *, since: float | None = None, until: float | None = None) -> list[DeviceScore]:
        _check_range(since, until)
        rows = self._connection().execute(
            "SELECT * FROM scores WHERE device_id = ? AND window_start >= ? AND window_start <= ? ORDER BY window_start, scored_at",
            (device_id, float("-inf") if since is None else since, float("inf") if until is None else until),
        )
        return [self._score(row) for row in rows]

    def scores_for(self, device_ids: Sequence[str], window_start: float | None = None) -> dict[str, DeviceScore]:
        conn = self._connection()
        found: dict[str, DeviceScore] = {}
        for chunk in _chunks(list(dict.fromkeys(device_ids))):
            placeholders = ",".join("?" * len(chunk))
            if window_start is None:
                query = (
                    "SELECT s.* FROM scores s JOIN devices d ON d.id = s.device_id AND d.anomaly_window = s.window_start "
                    f"AND d.model_version = s.model_version WHERE s.device_id IN ({placeholders})"
                )
                params: tuple = tuple(chunk)
            else:
                query = (
                    "SELECT s.* FROM scores s JOIN windows w ON w.start = s.window_start AND w.model_version = s.model_version "
                    f"WHERE s.window_start = ? AND s.device_id IN ({placeholders})"
                )
                params = (window_start, *chunk)
            for row in conn.execute(query, params):
                found[row["device_id"]] = self._score(row)
        return found

    def explanation(self, device_id: str, window_start: float | None = None) -> Explanation | None:
        conn = self._connection()
        if window_start is None:
            row = conn.execute(
                "SELECT * FROM scores WHERE device_id = ? AND explanation IS NOT NULL ORDER BY window_start DESC, scored_at DESC LIMIT 1",
                (device_id,),
            ).fetchone()
        else:
            row = conn.execute(
                "SELECT * FROM scores WHERE device_id = ? AND window_start = ? AND explanation IS NOT NULL ORDER BY scored_at DESC LIMIT 1",
                (device_id, window_start),
            ).fetchone()
        if row is None:
            return None
        return Explanation(
            device_id=row["device_id"],
            window_start=row["window_start"],
            score=row["score"],
            model_version=row["model_version"],
            reasons=json.loads(row["explanation"]),
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
        if limit < 1:
            raise InvalidRequestError(f"invalid limit {limit}: it must be at least 1")
        _check_range(since, until)
        if self.device(device_id) is None:
            raise NotFoundError(f"device {device_id!r} not found")

        low = float("-inf") if since is None else since
        high = float("inf") if until is None else until
        conn = self._connection()
        order = [device_id]
        reached = {device_id}
        frontier = [device_id]
        truncated = False
        for _ in range(hops):
            room = limit - len(order)
            # SQLite finds, sorts and cuts the new peers, so a hub's thousands
            # of edges never become Python rows; one more than the room shows truncation.
            fresh = [
                row[0]
                for row in conn.execute(
                    _NEW_PEERS, (json.dumps(frontier), low, high, json.dumps(sorted(reached)), room + 1)
                )
            ]
            if len(fresh) > room:
                fresh = fresh[:room]
                truncated = True
            order.extend(fresh)
            reached.update(fresh)
            frontier = fresh
            if truncated or not frontier:
                break

        nodes = self.devices_by_id(order)
        members = json.dumps(order)
        rows = conn.execute(_EDGES_AMONG, (members, members, low, high))
        edges = sorted((self._edge(row) for row in rows), key=lambda e: (e.window_start, e.src, e.dst))
        return Subgraph(nodes=[nodes[i] for i in order if i in nodes], edges=edges, truncated=truncated)

    @staticmethod
    def _edge(row: sqlite3.Row) -> Edge:
        return Edge(
            src=row["src"],
            dst=row["dst"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            flows=row["flows"],
            bytes_out=row["bytes_out"],
            bytes_in=row["bytes_in"],
            pkts_out=row["pkts_out"],
            pkts_in=row["pkts_in"],
            failed_flows=row["failed_flows"],
            malicious_flows=row["malicious_flows"],
            first_ts=row["first_ts"],
            last_ts=row["last_ts"],
            protocols=json.loads(row["protocols"]),
            dst_ports=json.loads(row["dst_ports"]),
            score=row["score"],
            score_model_version=row["score_model_version"],
        )

    # -- jobs ----------------------------------------------------------------

    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        return Job(**{key: row[key] for key in row.keys()})

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
        job_id = uuid.uuid4().hex
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, status, window_start, window_end, model, requested_by, requested_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, JobStatus.QUEUED.value, window_start, window_end, model, requested_by, at),
            )
        job = self.job(job_id)
        assert job is not None  # inserted just above
        return job

    def claim_job(self, worker_id: str, *, at: float) -> Job | None:
        with self._write() as conn:
            row = conn.execute(
                "SELECT id FROM jobs WHERE status = ? ORDER BY requested_at, id LIMIT 1", (JobStatus.QUEUED.value,)
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET status = ?, worker_id = ?, started_at = ?, heartbeat_at = ? WHERE id = ?",
                (JobStatus.RUNNING.value, worker_id, at, at, row["id"]),
            )
            claimed = conn.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return self._job(claimed)

    def heartbeat_job(self, job_id: str, worker_id: str, *, at: float) -> bool:
        with self._write() as conn:
            updated = conn.execute(
                "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND worker_id = ? AND status = ?",
                (at, job_id, worker_id, JobStatus.RUNNING.value),
            ).rowcount
        return bool(updated)

    def finish_job(self, job_id: str, status: str, *, error: str | None = None, at: float) -> Job:
        allowed = (*_FINISHED, JobStatus.QUEUED.value)
        if status not in allowed:
            raise InvalidRequestError(f"invalid final job status {status!r}: expected one of {', '.join(allowed)}")
        with self._write() as conn:
            if status == JobStatus.QUEUED.value:
                updated = conn.execute(
                    "UPDATE jobs SET status = ?, worker_id = NULL, started_at = NULL, heartbeat_at = NULL WHERE id = ? AND status = ?",
                    (status, job_id, JobStatus.RUNNING.value),
                ).rowcount
            else:
                updated = conn.execute(
                    "UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status NOT IN (?, ?, ?)",
                    (status, error, at, job_id, *_FINISHED),
                ).rowcount
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"job {job_id!r} not found")
        if not updated:
            logger.info("job %s was already %s; status %s not applied", job_id, row["status"], status)
        return self._job(row)

    def cancel_job(self, job_id: str, *, at: float) -> Job:
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, finished_at = ? WHERE id = ? AND status IN (?, ?)",
                (JobStatus.CANCELLED.value, at, job_id, JobStatus.QUEUED.value, JobStatus.RUNNING.value),
            )
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"job {job_id!r} not found")
        return self._job(row)

    def requeue_stale_jobs(self, *, older_than: float) -> int:
        with self._write() as conn:
            requeued = conn.execute(
                "UPDATE jobs SET status = ?, worker_id = NULL, started_at = NULL, heartbeat_at = NULL "
                "WHERE status = ? AND heartbeat_at < ?",
                (JobStatus.QUEUED.value, JobStatus.RUNNING.value, older_than),
            ).rowcount
        if requeued:
            logger.warning("requeued %d job(s) whose worker stopped heartbeating before %.0f", requeued, older_than)
        return requeued

    def job(self, job_id: str) -> Job | None:
        row = self._connection().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._job(row)

    def jobs(self, status: str | None = None, *, limit: int = 100) -> list[Job]:
        if status is None:
            rows = self._connection().execute("SELECT * FROM jobs ORDER BY requested_at DESC, id LIMIT ?", (limit,))
        else:
            rows = self._connection().execute(
                "SELECT * FROM jobs WHERE status = ? ORDER BY requested_at DESC, id LIMIT ?", (status, limit)
            )
        return [self._job(row) for row in rows]

    def record_worker_heartbeat(self, worker_id: str, *, at: float) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO workers (id, heartbeat_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                (worker_id, at),
            )

    def worker_heartbeats(self) -> dict[str, float]:
        return {row["id"]: row["heartbeat_at"] for row in self._connection().execute("SELECT id, heartbeat_at FROM workers")}

    # -- pseudonyms (admin only) ---------------------------------------------

    def set_pseudonym_key_id(self, key_id: str | None) -> None:
        wanted = key_id or ""
        with self._write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'pseudonym_key_id'").fetchone()
            if row is None:
                if key_id is not None and conn.execute("SELECT 1 FROM devices LIMIT 1").fetchone() is not None:
                    raise StoreConfigError(
                        f"store {self.path} already contains devices under their real addresses, so pseudonymised flows "
                        "would mix with them; ingest with --pseudonymise into a new store"
                    )
                conn.execute("INSERT INTO meta (key, value) VALUES ('pseudonym_key_id', ?)", (wanted,))
                return
        check_pseudonym_key_id(self.path, stored=row["value"], wanted=wanted)

    def add_pseudonyms(self, rows: Sequence[tuple[str, str, float]]) -> None:
        self._vault.add(rows)

    def resolve_pseudonym(self, pseudonym: str) -> str | None:
        return self._vault.resolve(pseudonym)

    # -- retention and bookkeeping ------------------------------------------

    def purge(self, before: float, *, batch_size: int | None = None) -> dict[str, int]:
        """Delete old data in transactions of about ``batch_size`` rows, each leaving the store consistent.

        Windows go oldest first and whole, each with its edges, scores and flow
        ids in the same transaction, so no window is ever half deleted. Then
        finished jobs, devices left without edges and their pseudonyms.
        """
        size = DEFAULT_PURGE_BATCH if batch_size is None else batch_size
        if size < 1:
            raise InvalidRequestError(f"invalid purge batch size {size}: it must be at least 1")
        deleted = dict.fromkeys(("windows", "edges", "scores", "flow_ids", "jobs", "devices", "pseudonyms"), 0)
        transactions = 0

        while self._purge_windows(before, size, deleted):
            transactions += 1
        while self._purge_rows(
            "DELETE FROM flows_seen WHERE flow_id IN (SELECT flow_id FROM flows_seen WHERE window_start < ? LIMIT ?)",
            (before, size),
            deleted,
            "flow_ids",
        ):
            transactions += 1
        while self._purge_rows(
            "UPDATE devices SET anomaly_score = NULL, anomaly_window = NULL, predicted_label = NULL, model_version = NULL, "
            "scored_at = NULL WHERE id IN (SELECT id FROM devices WHERE anomaly_window < ? LIMIT ?)",
            (before, size),
            None,
            None,
        ):
            transactions += 1
        while self._purge_rows(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE requested_at < ? AND status IN (?, ?, ?) LIMIT ?)",
            (before, *_FINISHED, size),
            deleted,
            "jobs",
        ):
            transactions += 1
        while self._purge_rows(
            "DELETE FROM devices WHERE id IN (SELECT id FROM devices WHERE NOT EXISTS (SELECT 1 FROM edges WHERE edges.src = devices.id) "
            "AND NOT EXISTS (SELECT 1 FROM edges WHERE edges.dst = devices.id) LIMIT ?)",
            (size,),
            deleted,
            "devices",
        ):
            transactions += 1
        deleted["pseudonyms"] = self._vault.delete_orphans(
            before=before, existing=lambda ids: set(self.devices_by_id(ids)), batch_size=size
        )
        logger.info("purged data before %.0f in %d transaction(s) of at most about %d rows: %s", before, transactions, size, deleted)
        return deleted

    def _purge_windows(self, before: float, size: int, deleted: dict[str, int]) -> bool:
        """Delete the oldest windows before ``before`` whose flows and edges add up to about ``size`` rows; False when none is left."""
        with self._write() as conn:
            candidates = conn.execute(
                "SELECT start, flows + edges AS row_count FROM windows WHERE start < ? ORDER BY start LIMIT ?", (before, size)
            ).fetchall()
            if not candidates:
                return False
            starts: list[float] = []
            budget = 0
            for row in candidates:
                # A window larger than the batch still goes whole, alone in its transaction.
                if starts and budget + row["row_count"] > size:
                    break
                starts.append(row["start"])
                budget += row["row_count"]
            for chunk in _chunks(starts):
                placeholders = ",".join("?" * len(chunk))
                deleted["scores"] += conn.execute(f"DELETE FROM scores WHERE window_start IN ({placeholders})", chunk).rowcount
                deleted["edges"] += conn.execute(f"DELETE FROM edges WHERE window_start IN ({placeholders})", chunk).rowcount
                deleted["flow_ids"] += conn.execute(f"DELETE FROM flows_seen WHERE window_start IN ({placeholders})", chunk).rowcount
                deleted["windows"] += conn.execute(f"DELETE FROM windows WHERE start IN ({placeholders})", chunk).rowcount
        return True

    def _purge_rows(self, statement: str, params: tuple, deleted: dict[str, int] | None, kind: str | None) -> bool:
        """Run one bounded DELETE or UPDATE in its own transaction; False when it changed no row."""
        with self._write() as conn:
            changed = conn.execute(statement, params).rowcount
        if deleted is not None and kind is not None:
            deleted[kind] += changed
        return changed > 0

    def counts(self) -> StoreCounts:
        conn = self._connection()

        def count(table: str) -> int:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - table names are literals below

        return StoreCounts(
            flows=count("flows_seen"),
            devices=count("devices"),
            windows=count("windows"),
            edges=count("edges"),
            scores=count("scores"),
            jobs=count("jobs"),
        )

