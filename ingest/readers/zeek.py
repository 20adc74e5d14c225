"""Zeek conn.log readers: the TSV log with ``#`` header lines, and its CSV rendering.

Zeek columns map to the flow record as ``uid`` → flow_id, ``id.orig_h``/
``id.orig_p`` → src/src_port, ``id.resp_h``/``id.resp_p`` → dst/dst_port,
``orig_bytes``/``orig_pkts`` → bytes_out/pkts_out, ``resp_bytes``/
``resp_pkts`` → bytes_in/pkts_in, and ``label`` plus ``detailed-label``
(IoT-23) or ``detailedlabel`` (Stratosphere) → label/attack. Only ``ts``,
``id.orig_h`` and ``id.resp_h`` are required; a missing optional column gets
the value of an unset field.

Unset fields (``-`` unless ``#unset_field`` sets another token) become 0 for
counts, 0.0 for duration, -1 for ports and an empty string for text. An unset
``ts`` or address rejects the line. ``(empty)`` (an empty set) is also read as
an empty string in text columns.

IoT-23 ``.labeled`` files separate their last three columns
(``tunnel_parents``, ``label``, ``detailed-label``) with three spaces instead
of the separator, in the ``#fields`` line and in every data line. When the
``#fields`` line has that quirk, every run of three spaces in a data line is
read as a separator.

The header may change mid-file (logs concatenated with ``cat``): each
``#fields`` line applies to the data lines after it. A later ``#fields``
line without ``ts``, ``id.orig_h`` or ``id.resp_h`` does not reject the
file, because its earlier flows may be stored already. The data lines under
it are skipped with that reason instead.

``flow_id`` is the Zeek uid. A log without uids gets a hash of the raw line,
which differs between records because ``ts`` carries microseconds.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.readers.base import FlowFormatError, ReadOptions, ReadReport
from ingest.readers.delimited import iter_delimited
from ingest.readers.fields import (
    RowErrors,
    Rows,
    addresses,
    build_flows,
    counts,
    durations,
    flag_invalid_utf8,
    is_text_utf8,
    labels,
    line_ids,
    ports,
    read_columns,
    split_by_field_count,
    texts,
    timestamps,
)
from ingest.readers.source import iter_line_batches

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("ts", "id.orig_h", "id.resp_h")
NUMERIC_COLUMNS = frozenset(
    {"ts", "id.orig_p", "id.resp_p", "duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts"}
)
TEXT_COLUMNS = ("uid", "id.orig_h", "id.resp_h", "proto", "service", "conn_state", "label")
ATTACK_COLUMNS = ("detailed-label", "detailedlabel", "detailed_label")
USED_COLUMNS = (*sorted(NUMERIC_COLUMNS), *TEXT_COLUMNS, *ATTACK_COLUMNS)
IOT23_COLUMN_SEPARATOR = b"   "


def zeek_flows(
    frame: pd.DataFrame,
    *,
    rows: Rows,
    report: ReadReport,
    unset: Sequence[str],
    empty: str,
    utf8: bool,
    errors: RowErrors | None = None,
) -> pd.DataFrame:
    """Convert parsed Zeek conn columns (raw text or JSON values) into a flow frame."""
    if errors is None:
        errors = RowErrors(len(frame))
    unset_tokens = list(unset)
    text_unset = [*unset_tokens, empty]
    if not utf8:
        used_text = [name for name in (*TEXT_COLUMNS, *ATTACK_COLUMNS) if name in frame]
        flag_invalid_utf8({name: frame[name] for name in used_text}, errors=errors)

    def optional(name: str) -> pd.Series:
        if name in frame:
            return frame[name]
        return pd.Series(np.full(len(frame), None, dtype=object))

    ts = timestamps(frame["ts"], column="ts", errors=errors, unset=unset_tokens)
    src = addresses(frame["id.orig_h"], column="id.orig_h", errors=errors, unset=unset_tokens)
    dst = addresses(frame["id.resp_h"], column="id.resp_h", errors=errors, unset=unset_tokens)
    attack_column = next((name for name in ATTACK_COLUMNS if name in frame), None)
    fields = {
        "ts": ts,
        "src": src,
        "src_port": ports(optional("id.orig_p"), column="id.orig_p", errors=errors, unset=unset_tokens),
        "dst": dst,
        "dst_port": ports(optional("id.resp_p"), column="id.resp_p", errors=errors, unset=unset_tokens),
        "proto": texts(optional("proto"), unset=text_unset),
        "service": texts(optional("service"), unset=text_unset),
        "duration": durations(optional("duration"), column="duration", errors=errors, unset=unset_tokens),
        "bytes_out": counts(optional("orig_bytes"), column="orig_bytes", errors=errors, unset=unset_tokens),
        "bytes_in": counts(optional("resp_bytes"), column="resp_bytes", errors=errors, unset=unset_tokens),
        "pkts_out": counts(optional("orig_pkts"), column="orig_pkts", errors=errors, unset=unset_tokens),
        "pkts_in": counts(optional("resp_pkts"), column="resp_pkts", errors=errors, unset=unset_tokens),
        "conn_state": texts(optional("conn_state"), unset=text_unset),
        "label": labels(optional("label")),
        "attack": texts(frame[attack_column], unset=text_unset) if attack_column else "",
        "flow_id": _flow_ids(optional("uid"), rows=rows, unset=text_unset),
    }
    return build_flows(fields, errors=errors, rows=rows, report=report)


def _flow_ids(uids: pd.Series, *, rows: Rows, unset: list[str]) -> np.ndarray:
    ids = texts(uids, unset=unset, default="")
    missing = ids == ""
    if missing.any():
        hashed = line_ids(rows.select(np.flatnonzero(missing)), with_line_number=False)
        ids = ids.copy()
        ids[missing] = hashed
    return ids


def check_required(columns: list[str], *, path: Path, where: str) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise FlowFormatError(
            f"{path}: {where} lacks the conn.log column(s) {', '.join(missing)} "
            f"(found {', '.join(columns) or 'none'}); pass a Zeek conn.log, or a CSV with --map"
        )


@dataclass
class ZeekHeader:
    """The ``#`` directives in force at a point of a Zeek TSV log."""

    separator: bytes = b"\t"
    unset: str = "-"
    empty: str = "(empty)"
    fields: list[str] | None = None
    positions: dict[str, int] = field(default_factory=dict)
    three_space_columns: bool = False
    # Why the data lines under the current header cannot be read, when a later
    # #fields line lacks a required column. The first one rejects the file.
    problem: str | None = None

    def apply(self, line: bytes, *, path: Path, number: int) -> None:
        """Update the header from one ``#`` line; empty lines and unknown directives change nothing."""
        if line.startswith(b"#separator"):
            # The separator line is the one directive written with a space, as
            # its value (usually \x09) is not known yet.
            value = line[len(b"#separator") :].strip()
            try:
                separator = codecs.escape_decode(value)[0] or b"\t"
            except ValueError:
                separator = b""
            if len(separator) != 1:
                raise FlowFormatError(
                    f"{path} line {number}: invalid #separator {value.decode('utf-8', 'replace')[:20]!r}; "
                    "Zeek logs use one character such as \\x09; fix the header line"
                )
            self.separator = separator
            return

        parts = line[1:].split(self.separator)
        key = parts[0].decode("utf-8", "replace").strip()
        values = [part.decode("utf-8", "replace") for part in parts[1:]]
        if key == "fields":
            first = self.fields is None and self.problem is None
            try:
                self._set_fields(values, path=path, number=number)
            except FlowFormatError:
                if first:
                    raise
                # Flows above this line may already be stored, so rejecting the file now would leave it half read.
                self.fields, self.positions = None, {}
                self.problem = f"the #fields header on line {number} lacks a conn.log column (ts, id.orig_h, id.resp_h)"
        elif key == "unset_field" and values:
            self.unset = values[0]
        elif key == "empty_field" and values:
            self.empty = values[0]
        elif key == "path" and values and not values[0].startswith("conn"):
            raise FlowFormatError(
                f"{path} line {number}: this is a Zeek {values[0]!r} log, not a conn log; pass conn.log"
            )

    def _set_fields(self, values: list[str], *, path: Path, number: int) -> None:
        names: list[str] = []
        self.three_space_columns = False
        for value in values:
            pieces = value.split(IOT23_COLUMN_SEPARATOR.decode())
            if len(pieces) > 1:
                self.three_space_columns = True
            names.extend(piece.strip() for piece in pieces)
        check_required(names, path=path, where=f"the #fields header on line {number}")
        self.fields = names
        self.problem = None
        self.positions = {name: index for index, name in enumerate(names) if name in USED_COLUMNS}


def read_zeek(path: Path, options: ReadOptions, report: ReadReport) -> Iterator[pd.DataFrame]:
    """Read a Zeek TSV conn log (``#fields`` header), including the IoT-23 ``.labeled`` variant."""
    header = ZeekHeader()
    checked_start = False
    for batch in iter_line_batches(path, batch_lines=options.chunk_rows, progress=options.progress):
        report.lines_read += len(batch.lines)
        lines = batch.lines
        # Header, comment and empty lines split the batch into runs of data lines.
        specials = [index for index, line in enumerate(lines) if not line or line[0] == 0x23 or line.isspace()]
        if not checked_start:
            checked_start = _check_starts_with_header(lines, specials, path=path)

        start = 0
        for index in [*specials, len(lines)]:
            if index > start:
                numbers = np.arange(batch.first_line + start, batch.first_line + index, dtype=np.int64)
                frame = _read_data_run(lines[start:index], numbers, header=header, report=report)
                if frame is not None:
                    yield frame
            if index < len(lines):
                report.header_lines += 1
                if lines[index][:1] == b"#":
                    header.apply(lines[index], path=path, number=batch.first_line + index)
            start = index + 1


def _check_starts_with_header(lines: list[bytes], specials: list[int], *, path: Path) -> bool:
    """Raise unless the first non-empty line is a ``#`` line; return whether the start was seen."""
    first_data = next((index for index, line in enumerate(lines) if line), None)
    if first_data is None:
        return False
    if lines[first_data][:1] != b"#":
        raise FlowFormatError(
            f"{path}: line {first_data + 1} is data but Zeek TSV logs start with #separator/#fields header lines; "
            "pass the complete log, or choose another --format"
        )
    return True


def _read_data_run(lines: list[bytes], numbers: np.ndarray, *, header: ZeekHeader, report: ReadReport) -> pd.DataFrame | None:
    if header.fields is None:
        reason = header.problem or "data line before the #fields header"
        report.add_bad_lines(numbers, [reason] * len(lines), lines)
        return None

    rows = Rows(numbers=numbers, lines=lines)
    if header.three_space_columns:
        rows.blob = rows.parser_blob().replace(IOT23_COLUMN_SEPARATOR, header.separator)
    rows = split_by_field_count(rows, sep=header.separator, expected=len(header.fields), quoted=False, report=report)
    if not rows.lines:
        return None

    frame, errors = read_columns(
        rows,
        sep=header.separator.decode(),
        positions=header.positions,
        numeric=NUMERIC_COLUMNS,
        unset=[header.unset],
        quoted=False,
    )
    utf8 = is_text_utf8(rows.lines)
    return zeek_flows(frame, rows=rows, report=report, unset=[header.unset], empty=header.empty, utf8=utf8, errors=errors)


def read_zeek_csv(path: Path, options: ReadOptions, report: ReadReport) -> Iterator[pd.DataFrame]:
    """Read the comma-separated rendering of a conn log: one header row of Zeek column names.

    Unset fields are ``-`` or, as some converted IoT-23 files write them,
    empty. A Zeek set value with commas inside (``tunnel_parents``,
    ``service`` lists) adds fields, so such a line is skipped as having too
    many fields.
    """
    unset = ["-", ""]
    for batch in iter_delimited(path, options=options, report=report, sep=b",", quoted=True):
        check_required(batch.header, path=path, where="the header row")
        positions = {name: index for index, name in enumerate(batch.header) if name in USED_COLUMNS}
        frame, errors = read_columns(batch.rows, sep=",", positions=positions, numeric=NUMERIC_COLUMNS, unset=unset, quoted=True)
        yield zeek_flows(frame, rows=batch.rows, report=report, unset=unset, empty="(empty)", utf8=batch.utf8, errors=errors)
