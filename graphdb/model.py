"""Entities of the temporal device graph, shared by every GraphStore.

Times are epoch seconds (float, UTC). A window is identified by its start.
Histogram fields (``protocols``, ``dst_ports``, ``conn_states``, ``services``,
``attacks``) are ``dict[str, int]`` of value -> flow count, so two partial
aggregates of one window merge by adding counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pandas as pd

# Columns of an edge aggregate frame: one row per (window_start, src, dst),
# the window's aggregate of all flows the pair exchanged.
EDGE_COLUMNS: tuple[str, ...] = (
    "window_start",
    "window_end",
    "src",
    "dst",
    "flows",
    "bytes_out",
    "bytes_in",
    "pkts_out",
    "pkts_in",
    "duration_sum",
    "failed_flows",
    "malicious_flows",
    "benign_flows",
    "first_ts",
    "last_ts",
    "protocols",
    "dst_ports",
    "conn_states",
    "services",
    "attacks",
)
EDGE_COUNT_COLUMNS: tuple[str, ...] = (
    "flows",
    "bytes_out",
    "bytes_in",
    "pkts_out",
    "pkts_in",
    "failed_flows",
    "malicious_flows",
    "benign_flows",
)
EDGE_HISTOGRAM_COLUMNS: tuple[str, ...] = ("protocols", "dst_ports", "conn_states", "services", "attacks")

# Columns of a device frame in an ingest batch: what the batch saw of each
# device, merged into the store with min/max/sum. ``malicious_flows`` counts
# malicious flows the device originated; ``labelled_flows`` counts flows with a
# known label (benign or malicious) that it took part in at either end.
DEVICE_COLUMNS: tuple[str, ...] = (
    "id",
    "ip",
    "internal",
    "first_seen",
    "last_seen",
    "malicious_flows",
    "labelled_flows",
)


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AnalystLabel(str, Enum):
    MALICIOUS = "malicious"
    BENIGN = "benign"
    UNSURE = "unsure"


@dataclass(frozen=True)
class WindowSpec:
    """Window length and step in seconds; ``step == size`` means tumbling windows."""

    size: float
    step: float

    @property
    def tumbling(self) -> bool:
        return self.step == self.size


@dataclass
class IngestBatch:
    """New flows of one chunk, already aggregated, written in one transaction.

    ``flow_ids`` are the ids of the flows this batch aggregates; a store
    rejects the batch with ``DuplicateFlowError`` when any of them was stored
    before, so a batch is never counted twice. The histogram columns of
    ``edges`` hold dicts or their compact JSON text with sorted keys.
    """

    flow_ids: list[str]
    edges: pd.DataFrame
    devices: pd.DataFrame
    # Start of the last window of each flow, in ``flow_ids`` order; retention
    # uses it to forget flow ids together with their windows.
    flow_windows: list[float] | None = None
    # Read positions of followed log files after this batch's lines; the store
    # writes them in the batch's transaction, so a restart resumes exactly there.
    source_offsets: list[SourceOffset] = field(default_factory=list)


@dataclass
class SourceOffset:
    """How far ``iotgraph watch`` has read one log file.

    ``offset`` is the byte position just after the last complete line
    consumed and ``line`` the number of lines before it. ``device`` and
    ``inode`` identify the file on disk, so a rotated or replaced file is
    recognised. ``header`` is the Zeek ``#`` header state in force at
    ``offset`` (None for JSON logs), ``max_ts`` the newest flow timestamp read
    from the file (epoch seconds), and ``updated_at`` the time of the write.
    """

    path: str
    device: int
    inode: int
    offset: int
    line: int
    format: str
    header: dict[str, Any] | None = None
    max_ts: float | None = None
    updated_at: float | None = None


@dataclass
class BatchSummary:
    flows: int
    edges: int
    devices: int
    windows: int


@dataclass
class Window:
    start: float
    end: float
    flows: int = 0
    devices: int = 0
    edges: int = 0
    status: str = "open"
    scored_at: float | None = None
    model_version: str | None = None


@dataclass
class Device:
    id: str
    ip: str | None = None
    internal: bool = False
    first_seen: float | None = None
    last_seen: float | None = None
    label: str = "unknown"
    anomaly_score: float | None = None
    anomaly_window: float | None = None
    predicted_label: str | None = None
    model_version: str | None = None
    scored_at: float | None = None
    analyst_label: str | None = None
    analyst_note: str | None = None
    analyst_by: str | None = None
    analyst_at: float | None = None


@dataclass
class WindowGraph:
    """One window exported for scoring.

    ``devices`` has columns ``id`` and ``internal`` sorted by ``id``: that order
    is the node order of every tensor export. ``edges`` has ``EDGE_COLUMNS``
    (without ``window_start``/``window_end`` being meaningful beyond this
    window) and may be empty.
    """

    window: Window
    devices: pd.DataFrame
    edges: pd.DataFrame


@dataclass
class DeviceScore:
    device_id: str
    window_start: float
    score: float
    model_version: str
    rank: int | None = None
    predicted: bool | None = None
    scored_at: float | None = None
    explanation: dict[str, Any] | None = None


@dataclass
class EdgeScore:
    src: str
    dst: str
    score: float


@dataclass
class Edge:
    """A ``COMMUNICATED`` relationship: one pair's aggregate for one window."""

    src: str
    dst: str
    window_start: float
    window_end: float
    flows: int
    bytes_out: int
    bytes_in: int
    pkts_out: int
    pkts_in: int
    failed_flows: int
    malicious_flows: int
    first_ts: float
    last_ts: float
    protocols: dict[str, int] = field(default_factory=dict)
    dst_ports: dict[str, int] = field(default_factory=dict)
    score: float | None = None
    score_model_version: str | None = None


@dataclass
class Subgraph:
    nodes: list[Device]
    edges: list[Edge]
    truncated: bool = False


@dataclass
class Explanation:
    device_id: str
    window_start: float
    score: float
    model_version: str
    reasons: dict[str, Any]


@dataclass
class Job:
    id: str
    kind: str
    status: str
    window_start: float | None
    window_end: float | None
    model: str | None
    requested_by: str | None
    requested_at: float
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    worker_id: str | None = None
    error: str | None = None


@dataclass
class StoreCounts:
    """Row counts used to prove idempotency: re-ingesting must leave them equal."""

    flows: int
    devices: int
    windows: int
    edges: int
    scores: int
    jobs: int
