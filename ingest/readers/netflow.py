"""NetFlow v9-style CSV of the NF-* datasets (NF-BoT-IoT-v2, NF-ToN-IoT-v2, ...).

Column mapping. In these sets (exported by nProbe) ``IN_BYTES``/``IN_PKTS``
count traffic from the source to the destination and ``OUT_BYTES``/
``OUT_PKTS`` the reply, so IN_* → bytes_out/pkts_out and OUT_* → bytes_in/
pkts_in. In NF-BoT-IoT-v2, 85,233 of its 85,272 UDP flows have IN_BYTES > 0
and OUT_BYTES = 0, as one-way traffic from the source should.
``FLOW_DURATION_MILLISECONDS`` / 1000 → duration, ``PROTOCOL`` (IANA number)
→ proto name (6 → tcp, 17 → udp, 1 → icmp), ``Label`` (0/1) → label,
``Attack`` → attack as written (``Benign`` for benign flows). There is no
service or connection state: both are empty strings.

Timestamps. NF v1/v2 files have no time column. When ``netflow_rate``
(flows per second) is given, the n-th data row (0-based, header not counted)
gets ``ts = netflow_start + n / netflow_rate``. Without it every flow gets
``ts = netflow_start``, so the whole file falls into one window. Files that
carry ``FLOW_START_MILLISECONDS`` (NF v3) use it instead.

Flow ids. Rows have no uid, so ``flow_id`` hashes the raw line salted with
its line number: NF files hold identical rows (NF-BoT-IoT-v2 has 2) that are
distinct flows, and hashing the line alone would merge them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.readers.base import FlowFormatError, ReadOptions, ReadReport
from ingest.readers.delimited import DelimitedBatch, iter_delimited
from ingest.readers.fields import (
    addresses,
    build_flows,
    counts,
    durations,
    flag_invalid_utf8,
    labels,
    line_ids,
    ports,
    protocol_names,
    read_columns,
    texts,
    timestamps,
)

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = (
    "IPV4_SRC_ADDR",
    "L4_SRC_PORT",
    "IPV4_DST_ADDR",
    "L4_DST_PORT",
    "PROTOCOL",
    "IN_BYTES",
    "IN_PKTS",
    "OUT_BYTES",
    "OUT_PKTS",
    "FLOW_DURATION_MILLISECONDS",
)
START_COLUMN = "FLOW_START_MILLISECONDS"
NUMERIC_COLUMNS = frozenset(
    {"L4_SRC_PORT", "L4_DST_PORT", "IN_BYTES", "IN_PKTS", "OUT_BYTES", "OUT_PKTS", "FLOW_DURATION_MILLISECONDS", START_COLUMN}
)
TEXT_COLUMNS = ("IPV4_SRC_ADDR", "IPV4_DST_ADDR", "PROTOCOL", "Label", "Attack")


def read_netflow(path: Path, options: ReadOptions, report: ReadReport) -> Iterator[pd.DataFrame]:
    checked = False
    for batch in iter_delimited(path, options=options, report=report, sep=b",", quoted=True):
        if not checked:
            _check_header(batch.header, path=path, options=options)
            checked = True
        yield _batch_flows(batch, options=options, report=report)


def _check_header(header: list[str], *, path: Path, options: ReadOptions) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise FlowFormatError(
            f"{path}: the NetFlow CSV header lacks {', '.join(missing)}; "
            "pass an NF-* dataset file, or map the columns of another CSV with --map"
        )
    if START_COLUMN in header and (options.netflow_rate is not None or options.netflow_start):
        logger.info("%s has %s; using it and ignoring netflow_start/netflow_rate", path, START_COLUMN)


def _batch_flows(batch: DelimitedBatch, *, options: ReadOptions, report: ReadReport) -> pd.DataFrame:
    used_columns = (*REQUIRED_COLUMNS, START_COLUMN, "Label", "Attack")
    positions = {name: index for index, name in enumerate(batch.header) if name in used_columns}
    frame, errors = read_columns(batch.rows, sep=",", positions=positions, numeric=NUMERIC_COLUMNS, unset=[], quoted=True)
    if not batch.utf8:
        flag_invalid_utf8({name: frame[name] for name in TEXT_COLUMNS if name in frame}, errors=errors)

    if START_COLUMN in frame:
        ts = timestamps(frame[START_COLUMN], column=START_COLUMN, errors=errors, unset=[]) / 1000.0
    elif options.netflow_rate:
        ts = options.netflow_start + batch.rows.ordinals / options.netflow_rate
    else:
        ts = np.full(len(frame), float(options.netflow_start))

    fields = {
        "ts": ts,
        "src": addresses(frame["IPV4_SRC_ADDR"], column="IPV4_SRC_ADDR", errors=errors, unset=[]),
        "src_port": ports(frame["L4_SRC_PORT"], column="L4_SRC_PORT", errors=errors, unset=[]),
        "dst": addresses(frame["IPV4_DST_ADDR"], column="IPV4_DST_ADDR", errors=errors, unset=[]),
        "dst_port": ports(frame["L4_DST_PORT"], column="L4_DST_PORT", errors=errors, unset=[]),
        "proto": protocol_names(frame["PROTOCOL"]),
        "service": "",
        "duration": durations(
            frame["FLOW_DURATION_MILLISECONDS"], column="FLOW_DURATION_MILLISECONDS", errors=errors, unset=[], scale=0.001
        ),
        "bytes_out": counts(frame["IN_BYTES"], column="IN_BYTES", errors=errors, unset=[]),
        "bytes_in": counts(frame["OUT_BYTES"], column="OUT_BYTES", errors=errors, unset=[]),
        "pkts_out": counts(frame["IN_PKTS"], column="IN_PKTS", errors=errors, unset=[]),
        "pkts_in": counts(frame["OUT_PKTS"], column="OUT_PKTS", errors=errors, unset=[]),
        "conn_state": "",
        "label": labels(frame["Label"]) if "Label" in frame else "unknown",
        "attack": texts(frame["Attack"], unset=[""]) if "Attack" in frame else "",
        "flow_id": line_ids(batch.rows, with_line_number=True),
    }
    return build_flows(fields, errors=errors, rows=batch.rows, report=report)
