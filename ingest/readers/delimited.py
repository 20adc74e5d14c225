"""Batches of rows from a delimited text file with one header row (CSV or TSV).

Shared by the NetFlow, Argus, Zeek CSV and mapped CSV readers. Empty lines
and repeats of the header row (files concatenated with ``cat``) count as
header lines. Lines with the wrong number of fields are reported and skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.readers.base import FlowFormatError, ReadOptions, ReadReport
from ingest.readers.fields import Rows, is_text_utf8, split_by_field_count
from ingest.readers.source import iter_line_batches


@dataclass
class DelimitedBatch:
    """Rows with the header's number of fields; ``utf8`` is false when some line is not valid UTF-8."""

    header: list[str]
    rows: Rows
    utf8: bool


def parse_header(line: bytes, *, sep: bytes, path: Path) -> list[str]:
    """Split a header row into stripped column names."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FlowFormatError(f"{path}: the header row is not valid UTF-8 ({error}); re-encode the file as UTF-8") from error
    try:
        names = next(csv.reader([text], delimiter=sep.decode()))
    except csv.Error as error:
        # A carriage return or NUL inside the header row, for one.
        raise FlowFormatError(f"{path}: the header row cannot be parsed as CSV ({error}); fix the first line of the file") from error
    return [name.strip() for name in names]


def iter_delimited(
    path: Path,
    *,
    options: ReadOptions,
    report: ReadReport,
    sep: bytes,
    quoted: bool,
    header: list[str] | None = None,
) -> Iterator[DelimitedBatch]:
    """Yield batches of data rows; the first non-empty line is the header unless ``header`` is given."""
    header_line: bytes | None = None
    ordinal = 0
    for batch in iter_line_batches(path, batch_lines=options.chunk_rows, progress=options.progress):
        report.lines_read += len(batch.lines)
        lines = batch.lines
        if header is None:
            first = next((i for i, line in enumerate(lines) if line.strip()), None)
            if first is None:
                report.header_lines += len(lines)
                continue
            header_line = lines[first]
            header = parse_header(header_line, sep=sep, path=path)

        numbers = np.arange(batch.first_line, batch.first_line + len(lines), dtype=np.int64)
        special = [i for i, line in enumerate(lines) if not line or line.isspace() or line == header_line]
        if special:
            report.header_lines += len(special)
            keep = np.ones(len(lines), dtype=bool)
            keep[special] = False
            numbers = numbers[keep]
            lines = [line for line, kept in zip(lines, keep) if kept]
        if not lines:
            continue

        rows = Rows(numbers=numbers, lines=lines, ordinals=np.arange(ordinal, ordinal + len(lines), dtype=np.int64))
        ordinal += len(lines)
        rows = split_by_field_count(rows, sep=sep, expected=len(header), quoted=quoted, report=report)
        if rows.lines:
            yield DelimitedBatch(header=header, rows=rows, utf8=is_text_utf8(rows.lines))
