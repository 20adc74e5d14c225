"""Table layout of the embedded SQLite store.

The tables mirror the Neo4j model: ``devices`` are Device nodes, ``edges`` are
COMMUNICATED relationships keyed by (window_start, src, dst), ``scores`` are
SCORED relationships, ``windows`` and ``jobs`` are nodes of their own.
``source_offsets`` keeps the read position of each log file ``iotgraph
watch`` follows.
Histograms are JSON objects of value -> flow count.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS flows_seen (
    flow_id TEXT PRIMARY KEY,
    window_start REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS flows_seen_window ON flows_seen (window_start);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    ip TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    first_seen REAL,
    last_seen REAL,
    malicious_flows INTEGER NOT NULL DEFAULT 0,
    labelled_flows INTEGER NOT NULL DEFAULT 0,
    anomaly_score REAL,
    anomaly_window REAL,
    predicted_label TEXT,
    model_version TEXT,
    scored_at REAL,
    analyst_label TEXT,
    analyst_note TEXT,
    analyst_by TEXT,
    analyst_at REAL
);
CREATE INDEX IF NOT EXISTS devices_anomaly_score ON devices (anomaly_score);
CREATE TABLE IF NOT EXISTS windows (
    start REAL PRIMARY KEY,
    "end" REAL NOT NULL,
    flows INTEGER NOT NULL DEFAULT 0,
    devices INTEGER NOT NULL DEFAULT 0,
    edges INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'open',
    scored_at REAL,
    model_version TEXT
);
CREATE TABLE IF NOT EXISTS edges (
    window_start REAL NOT NULL,
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    window_end REAL NOT NULL,
    flows INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    pkts_out INTEGER NOT NULL,
    pkts_in INTEGER NOT NULL,
    duration_sum REAL NOT NULL,
    failed_flows INTEGER NOT NULL,
    malicious_flows INTEGER NOT NULL,
    benign_flows INTEGER NOT NULL,
    first_ts REAL NOT NULL,
    last_ts REAL NOT NULL,
    protocols TEXT NOT NULL,
    dst_ports TEXT NOT NULL,
    conn_states TEXT NOT NULL,
    services TEXT NOT NULL,
    attacks TEXT NOT NULL,
    score REAL,
    score_model_version TEXT,
    PRIMARY KEY (window_start, src, dst)
);
CREATE INDEX IF NOT EXISTS edges_src ON edges (src, window_start);
CREATE INDEX IF NOT EXISTS edges_dst ON edges (dst, window_start);
CREATE TABLE IF NOT EXISTS scores (
    device_id TEXT NOT NULL,
    window_start REAL NOT NULL,
    model_version TEXT NOT NULL,
    score REAL NOT NULL,
    rank INTEGER,
    predicted INTEGER,
    scored_at REAL NOT NULL,
    explanation TEXT,
    PRIMARY KEY (device_id, window_start, model_version)
);
CREATE INDEX IF NOT EXISTS scores_window ON scores (window_start, model_version, score DESC);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    window_start REAL,
    window_end REAL,
    model TEXT,
    requested_by TEXT,
    requested_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    heartbeat_at REAL,
    worker_id TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, requested_at);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    heartbeat_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS source_offsets (
    path TEXT PRIMARY KEY,
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    line INTEGER NOT NULL,
    format TEXT NOT NULL,
    header TEXT,
    max_ts REAL,
    updated_at REAL
);
"""

UPSERT_SOURCE_OFFSET = """
INSERT INTO source_offsets (path, device, inode, "offset", line, format, header, max_ts, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (path) DO UPDATE SET
    device = excluded.device,
    inode = excluded.inode,
    "offset" = excluded."offset",
    line = excluded.line,
    format = excluded.format,
    header = excluded.header,
    max_ts = excluded.max_ts,
    updated_at = excluded.updated_at
"""

EDGE_SQL_COLUMNS = (
    "window_start",
    "src",
    "dst",
    "window_end",
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

# Adds counts, keeps min/max of timestamps and merges histograms per key with
# the merge_counts() function the store registers on every connection.
UPSERT_EDGE = f"""
INSERT INTO edges ({", ".join(EDGE_SQL_COLUMNS)})
VALUES ({", ".join("?" for _ in EDGE_SQL_COLUMNS)})
ON CONFLICT (window_start, src, dst) DO UPDATE SET
    flows = flows + excluded.flows,
    bytes_out = bytes_out + excluded.bytes_out,
    bytes_in = bytes_in + excluded.bytes_in,
    pkts_out = pkts_out + excluded.pkts_out,
    pkts_in = pkts_in + excluded.pkts_in,
    duration_sum = duration_sum + excluded.duration_sum,
    failed_flows = failed_flows + excluded.failed_flows,
    malicious_flows = malicious_flows + excluded.malicious_flows,
    benign_flows = benign_flows + excluded.benign_flows,
    first_ts = min(first_ts, excluded.first_ts),
    last_ts = max(last_ts, excluded.last_ts),
    protocols = merge_counts(protocols, excluded.protocols),
    dst_ports = merge_counts(dst_ports, excluded.dst_ports),
    conn_states = merge_counts(conn_states, excluded.conn_states),
    services = merge_counts(services, excluded.services),
    attacks = merge_counts(attacks, excluded.attacks)
"""

UPSERT_DEVICE = """
INSERT INTO devices (id, ip, internal, first_seen, last_seen, malicious_flows, labelled_flows)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    malicious_flows = malicious_flows + excluded.malicious_flows,
    labelled_flows = labelled_flows + excluded.labelled_flows
"""

UPSERT_WINDOW = """
INSERT INTO windows (start, "end", flows) VALUES (?, ?, ?)
ON CONFLICT (start) DO UPDATE SET flows = flows + excluded.flows
"""

REFRESH_WINDOW_SIZES = """
UPDATE windows SET
    edges = (SELECT COUNT(*) FROM edges WHERE edges.window_start = windows.start),
    devices = (
        SELECT COUNT(*) FROM (
            SELECT src AS id FROM edges WHERE edges.window_start = windows.start
            UNION
            SELECT dst AS id FROM edges WHERE edges.window_start = windows.start
        )
    )
WHERE start = ?
"""

DEVICE_LABEL_SQL = (
    "CASE WHEN malicious_flows > 0 THEN 'malicious' "
    "WHEN labelled_flows > 0 THEN 'benign' ELSE 'unknown' END"
)
