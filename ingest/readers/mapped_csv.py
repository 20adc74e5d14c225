"""Any delimited file with a header row, read through a ``ColumnMapping``.

Numeric protocol values are turned into names (6 → tcp). Unmapped fields get
unset values (see ``ingest.mapping``). In mapped columns an empty port means
no port (-1). An empty count, duration or timestamp rejects the line, as
does a value that does not parse. Flow ids come from the mapped ``flow_id`` column,
else from the raw line salted with its line number, because identical lines
can be distinct flows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.mapping import DURATION_UNITS, ColumnMapping
from ingest.readers.base import FlowFormatError, ReadOptions, ReadReport
from ingest.readers.delimited import DelimitedBatch, iter_delimited
from ingest.readers.fields import (
    RowErrors,
    addresses,
    build_flows,
    counts,
    durations,
    epoch_seconds,
    flag_invalid_utf8,
    labels,
    line_ids,
    number_column,
    ports,
    protocol_names,
    read_columns,
    texts,
)
from ingest.record import normalise_label

NUMERIC_FIELDS = frozenset({"src_port", "dst_port", "duration", "bytes_out", "bytes_in", "pkts_out", "pkts_in"})
EPOCH_SCALE = {"epoch": 1.0, "epoch_ms": 1e-3, "epoch_us": 1e-6}
COUNT_FIELDS = ("bytes_out", "bytes_in", "pkts_out", "pkts_in")


def read_mapped_csv(path: Path, options: ReadOptions, report: ReadReport) -> Iterator[pd.DataFrame]:
    mapping = options.mapping
    if mapping is None:
        raise FlowFormatError(f"{path}: the csv format needs a column mapping; pass --map field=column,... or a TOML file")
    sep = mapping.separator.encode()
    checked = False
    for batch in iter_delimited(path, options=options, report=report, sep=sep, quoted=True):
        if not checked:
            missing = mapping.missing_columns(batch.header)
            if missing:
                raise FlowFormatError(
                    f"{path}: the header row lacks the mapped column(s) {', '.join(missing)}; "
                    f"found {', '.join(batch.header)}; fix the mapping"
                )
            checked = True
        yield _batch_flows(batch, mapping=mapping, report=report)


def _batch_flows(batch: DelimitedBatch, *, mapping: ColumnMapping, report: ReadReport) -> pd.DataFrame:
    positions = {name: batch.header.index(column) for name, column in mapping.columns.items()}
    numeric = set(NUMERIC_FIELDS)
    if mapping.time_format in EPOCH_SCALE:
        numeric.add("ts")
    # An empty port means no port and an empty epoch time is reported as missing; an empty count or duration is invalid.
    unset = {"src_port": [""], "dst_port": [""], "ts": [""]}
    frame, errors = read_columns(batch.rows, sep=mapping.separator, positions=positions, numeric=numeric, unset=unset, quoted=True)
    if not batch.utf8:
        text_fields = [name for name in frame.columns if name not in numeric]
        flag_invalid_utf8({name: frame[name] for name in text_fields}, errors=errors)

    def mapped(name: str) -> pd.Series | None:
        return frame[name] if name in frame else None

    fields: dict[str, object] = {
        "ts": _timestamps(frame["ts"], mapping=mapping, errors=errors),
        "src": addresses(frame["src"], column=mapping.columns["src"], errors=errors, unset=[""]),
        "dst": addresses(frame["dst"], column=mapping.columns["dst"], errors=errors, unset=[""]),
        "proto": protocol_names(frame["proto"]) if "proto" in frame else "",
        "service": texts(frame["service"], unset=[""]) if "service" in frame else "",
        "conn_state": texts(frame["conn_state"], unset=[""]) if "conn_state" in frame else "",
        "attack": texts(frame["attack"], unset=[""]) if "attack" in frame else "",
        "label": _labels(frame["label"], mapping=mapping) if "label" in frame else "unknown",
        "flow_id": texts(frame["flow_id"], unset=[""]) if "flow_id" in frame else line_ids(batch.rows, with_line_number=True),
    }
    for name in ("src_port", "dst_port"):
        series = mapped(name)
        fields[name] = -1 if series is None else ports(series, column=mapping.columns[name], errors=errors, unset=[""])
    for name in COUNT_FIELDS:
        series = mapped(name)
        fields[name] = 0 if series is None else counts(series, column=mapping.columns[name], errors=errors, unset=[])
    duration = mapped("duration")
    fields["duration"] = (
        0.0
        if duration is None
        else durations(
            duration, column=mapping.columns["duration"], errors=errors, unset=[], scale=DURATION_UNITS[mapping.duration_unit]
        )
    )
    if isinstance(fields["flow_id"], np.ndarray):
        errors.flag(fields["flow_id"] == "", f"missing flow id in {mapping.columns.get('flow_id')}")
    return build_flows(fields, errors=errors, rows=batch.rows, report=report)


def _timestamps(series: pd.Series, *, mapping: ColumnMapping, errors: RowErrors) -> np.ndarray:
    column = mapping.columns["ts"]
    if mapping.time_format in EPOCH_SCALE:
        values, unset, invalid = number_column(series, unset=[""])
        errors.flag(unset, f"missing timestamp in {column}")
        errors.flag(invalid, f"invalid timestamp in {column}")
        return values * EPOCH_SCALE[mapping.time_format]

    text = series.astype(object)
    missing = text.isna().to_numpy() | (text == "").to_numpy()
    parsed = pd.to_datetime(text.where(~missing), format=mapping.time_format, errors="coerce", utc=True)
    seconds = epoch_seconds(parsed)
    errors.flag(missing, f"missing timestamp in {column}")
    errors.flag(~np.isfinite(seconds), f"invalid timestamp in {column} (expected {mapping.time_format})")
    return seconds


def _labels(series: pd.Series, *, mapping: ColumnMapping) -> np.ndarray:
    if not mapping.label_values:
        return labels(series)
    raw = series.to_numpy(dtype=object, na_value=None)
    lookup = {value: mapping.label_values.get(str(value).strip(), normalise_label(value)) for value in pd.unique(raw)}
    return np.array([lookup[value] for value in raw], dtype=object)
