"""Zeek conn logs written as JSON, one object per line (``LogAscii::use_json``).

Zeek leaves unset fields out of a JSON record, so a missing key reads like
``-`` in the TSV log: 0 for counts, 0.0 for duration, -1 for ports. A missing
``ts`` or address rejects the line. ``ts`` may be epoch seconds or an ISO 8601
string (``LogAscii::json_timestamps``); an ISO time without a zone is taken
as UTC.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.readers.base import ReadOptions, ReadReport
from ingest.readers.fields import Rows, epoch_seconds, is_text_utf8
from ingest.readers.source import iter_line_batches
from ingest.readers.zeek import USED_COLUMNS, zeek_flows


def read_zeek_json(path: Path, options: ReadOptions, report: ReadReport) -> Iterator[pd.DataFrame]:
    for batch in iter_line_batches(path, batch_lines=options.chunk_rows, progress=options.progress):
        report.lines_read += len(batch.lines)
        records: list[dict] = []
        good_lines: list[bytes] = []
        good_numbers: list[int] = []
        bad_numbers: list[int] = []
        bad_reasons: list[str] = []
        bad_lines: list[bytes] = []
        for offset, line in enumerate(batch.lines):
            if not line.strip():
                report.header_lines += 1
                continue
            record, reason = _parse_object(line)
            if reason is None:
                records.append(record)
                good_lines.append(line)
                good_numbers.append(batch.first_line + offset)
            else:
                bad_numbers.append(batch.first_line + offset)
                bad_reasons.append(reason)
                bad_lines.append(line)
        if bad_numbers:
            report.add_bad_lines(bad_numbers, bad_reasons, bad_lines)
        if not records:
            continue

        frame = pd.DataFrame.from_records(records, columns=list(USED_COLUMNS))
        frame["ts"] = _epoch_seconds(frame["ts"])
        rows = Rows(numbers=np.array(good_numbers, dtype=np.int64), lines=good_lines)
        utf8 = is_text_utf8(good_lines)
        yield zeek_flows(frame, rows=rows, report=report, unset=["-"], empty="(empty)", utf8=utf8)


def _parse_object(line: bytes) -> tuple[dict, str | None]:
    # surrogateescape keeps bytes that are not UTF-8, so the row check can name the field they are in.
    text = line.decode("utf-8", "surrogateescape")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}, "invalid JSON"
    if not isinstance(value, dict):
        return {}, "JSON value is not an object"
    return value, None


def _epoch_seconds(values: pd.Series) -> pd.Series:
    """Convert ISO 8601 strings to epoch seconds and leave every other value as it is."""
    is_text = values.map(lambda value: isinstance(value, str))
    if not is_text.any():
        return values
    parsed = pd.to_datetime(values[is_text], format="ISO8601", utc=True, errors="coerce")
    seconds = pd.Series(epoch_seconds(parsed), index=parsed.index)
    converted = values.astype(object).copy()
    # An unparsable string stays text, so the timestamp check reports it.
    parsed_ok = seconds.notna()
    converted[parsed_ok.index[parsed_ok]] = seconds[parsed_ok]
    return converted
