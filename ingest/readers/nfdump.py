"""nfdump text output (``nfdump -r FILE`` with the line or long format).

A data line reads ``2013-07-09 01:00:23.040  0.028 UDP  8.8.8.8:53 ->
10.0.0.150:49058  ......  0  1  126  1  [Label]``, aligned with spaces or
tabs. The header line (``Date flow start`` or ``Date first seen``) names the
columns after the destination, so the line format (Packets Bytes Flows), the
long format (Flags Tos Packets Bytes Flows) and an appended Label column are
all read. Without a header the layout is inferred from the field count.
Summary and footer lines (``Summary:``, ``Time window:``, ``Total flows
processed:``, ``Sys:``) count as header lines.

Mapping. nfdump records are unidirectional: Packets/Bytes → pkts_out/
bytes_out and pkts_in/bytes_in = 0. The start time has no zone (nfdump prints
the local time of the machine that ran it) and is read as UTC. Counts that
nfdump scaled (``1.2 M``) are read with its 1000-based units, so they are as
exact as the printed digits; ``nfdump -N`` prints exact counts. ICMP
destination ports written ``type.code`` become src_port = type and dst_port
= code, as Zeek does. Addresses: ``a.b.c.d:port``, ``[v6]:port`` and nfdump's
``v6.port``; a shortened IPv6 address (``2001:62..e0:fed5``, printed without
``-6``) is not a real address and its line is skipped. ``Flows`` (flows
aggregated into the line) is not kept: each line is one flow.

Flow ids hash the raw line salted with its line number, so identical lines
stay distinct flows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.readers.base import ReadOptions, ReadReport
from ingest.readers.fields import MAX_EXACT_COUNT, RowErrors, Rows, build_flows, epoch_seconds, labels, line_ids, texts
from ingest.readers.source import iter_line_batches

HEADER_PREFIXES = (b"Date flow start", b"Date first seen")
FOOTER_PREFIXES = (
    b"Summary:",
    b"Time window:",
    b"Total flows processed:",
    b"Sys:",
    b"No matched flows",
    b"Aggregated flows",
    b"Top ",
)
DATA_LINE = re.compile(rb"^\d{4}-\d{2}-\d{2}\s")
IPV4_ENDPOINT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):(.*)$")
BRACKETED_ENDPOINT = re.compile(r"^\[([0-9A-Fa-f:.]+)\]:(.*)$")
# IPv6 addresses have no dots, so the first dot starts the port.
IPV6_ENDPOINT = re.compile(r"^([0-9A-Fa-f]*:[0-9A-Fa-f:]*)\.(.*)$")
# A port written as two numbers is an ICMP/IGMP type and code.
TYPE_CODE = re.compile(r"^(\d+)[.:](\d+)$")
UNIT_SCALE = {b"k": 1e3, b"K": 1e3, b"M": 1e6, b"G": 1e9, b"T": 1e12}
# Columns after the destination when a file has no header, by how many fields there are.
LAYOUTS_BY_FIELD_COUNT = {
    3: ["Packets", "Bytes", "Flows"],
    5: ["Flags", "Tos", "Packets", "Bytes", "Flows"],
    6: ["Flags", "Tos", "Packets", "Bytes", "Flows", "Label"],
}
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")


class LineError(ValueError):
    """One nfdump line cannot be read; the message is the skip reason."""


def read_nfdump(path: Path, options: ReadOptions, report: ReadReport) -> Iterator[pd.DataFrame]:
    layout: list[str] | None = None
    for batch in iter_line_batches(path, batch_lines=options.chunk_rows, progress=options.progress):
        report.lines_read += len(batch.lines)
        records: list[dict] = []
        good_lines: list[bytes] = []
        good_numbers: list[int] = []
        bad: tuple[list[int], list[str], list[bytes]] = ([], [], [])
        for offset, line in enumerate(batch.lines):
            stripped = line.strip()
            if not stripped or stripped.startswith(FOOTER_PREFIXES):
                report.header_lines += 1
                continue
            if stripped.startswith(HEADER_PREFIXES):
                report.header_lines += 1
                layout = _layout_from_header(stripped)
                continue
            try:
                if not DATA_LINE.match(stripped):
                    raise LineError("not an nfdump flow line")
                record = _parse_line(stripped, layout)
            except LineError as error:
                bad[0].append(batch.first_line + offset)
                bad[1].append(str(error))
                bad[2].append(line)
                continue
            records.append(record)
            good_lines.append(line)
            good_numbers.append(batch.first_line + offset)
        if bad[0]:
            report.add_bad_lines(*bad)
        if records:
            rows = Rows(numbers=np.array(good_numbers, dtype=np.int64), lines=good_lines)
            yield _records_to_flows(records, rows=rows, report=report)


def _layout_from_header(header: bytes) -> list[str]:
    text = header.decode("utf-8", "replace")
    # The column names after the last "Addr:Port" belong to the fields after the destination.
    tail = text.rsplit("Addr:Port", 1)[-1]
    return tail.split()


def _parse_line(line: bytes, layout: list[str] | None) -> dict:
    tokens = line.split()
    if len(tokens) < 6:
        raise LineError("too few fields")
    start = tokens[0] + b" " + tokens[1]
    duration, proto, source = tokens[2], tokens[3], tokens[4]
    rest = tokens[5:]
    if rest and rest[0] == b"->":
        rest = rest[1:]
    if not rest:
        raise LineError("too few fields")
    destination, rest = rest[0], _merge_units(rest[1:])

    names = layout if layout is not None else LAYOUTS_BY_FIELD_COUNT.get(len(rest))
    if names is None:
        raise LineError(f"unexpected field count {len(rest)} after the destination and no header line")
    values = _assign(rest, names)

    try:
        src, src_port = _split_endpoint(source)
        dst, dst_port = _split_endpoint(destination)
    except UnicodeDecodeError as error:
        raise LineError("invalid UTF-8 in address") from error
    proto_name = proto.decode("ascii", "replace").lower()
    type_code = TYPE_CODE.match(dst_port)
    if type_code:
        # nfdump writes ICMP type.code where the destination port goes; Zeek keeps type and code as the two ports.
        src_port, dst_port = type_code.group(1), type_code.group(2)
    return {
        "start": start.decode("ascii", "replace"),
        "duration": _number(duration, field="Duration"),
        "proto": proto_name,
        "src": src,
        "src_port": _port(src_port),
        "dst": dst,
        "dst_port": _port(dst_port),
        "packets": _count(values.get("Packets"), field="Packets"),
        "bytes": _count(values.get("Bytes"), field="Bytes"),
        "label": values.get("Label", b"").decode("utf-8", "surrogateescape"),
    }


def _merge_units(tokens: list[bytes]) -> list[bytes]:
    """Join a scaled number and its unit (``1.2``, ``M``) back into one field."""
    merged: list[bytes] = []
    for token in tokens:
        if token in UNIT_SCALE and merged and _is_number(merged[-1]):
            merged[-1] = merged[-1] + token
        else:
            merged.append(token)
    return merged


def _assign(values: list[bytes], names: list[str]) -> dict[str, bytes]:
    if names and names[-1] == "Label":
        if len(values) == len(names) - 1:
            values = [*values, b""]
        elif len(values) > len(names):
            # A label with spaces in it.
            values = [*values[: len(names) - 1], b" ".join(values[len(names) - 1 :])]
    if len(values) < len(names):
        raise LineError(f"too few fields (expected {len(names)} after the destination)")
    if len(values) > len(names):
        raise LineError(f"too many fields (expected {len(names)} after the destination)")
    return dict(zip(names, values))


def _split_endpoint(token: bytes) -> tuple[str, str]:
    """Split ``address:port`` (IPv4), ``[address]:port`` or ``address.port`` (IPv6) into its two parts."""
    text = token.decode("utf-8")
    match = IPV4_ENDPOINT.match(text) or BRACKETED_ENDPOINT.match(text)
    if match is None and ".." in text:
        raise LineError("shortened IPv6 address (print full addresses with nfdump -6)")
    match = match or IPV6_ENDPOINT.match(text)
    if match is None:
        raise LineError(f"invalid address {text[:40]!r}")
    return match.group(1), match.group(2)


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _number(token: bytes, *, field: str) -> float:
    try:
        value = float(token)
    except ValueError as error:
        raise LineError(f"invalid number in {field}") from error
    if not np.isfinite(value):
        raise LineError(f"invalid number in {field}")
    if value < 0:
        raise LineError(f"negative duration in {field}")
    return value


def _count(token: bytes | None, *, field: str) -> int:
    if token is None:
        return 0
    scale = 1.0
    if token[-1:] in UNIT_SCALE:
        scale = UNIT_SCALE[token[-1:]]
        token = token[:-1]
    try:
        value = float(token) * scale
    except ValueError as error:
        raise LineError(f"invalid number in {field}") from error
    if not np.isfinite(value):
        raise LineError(f"invalid number in {field}")
    if value < 0:
        raise LineError(f"negative count in {field}")
    if value >= MAX_EXACT_COUNT:
        raise LineError(f"count too large in {field} (2^53 or more)")
    if scale == 1.0 and not value.is_integer():
        raise LineError(f"invalid count in {field} (not a whole number)")
    return int(round(value))


def _port(text: str) -> int:
    if text == "":
        return -1
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise LineError(f"invalid port {text!r}") from None
        if not number.is_integer():
            raise LineError(f"invalid port {text!r}") from None
        value = int(number)
    if not 0 <= value <= 65535:
        raise LineError("port out of range 0..65535")
    return value


def _records_to_flows(records: list[dict], *, rows: Rows, report: ReadReport) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    errors = RowErrors(len(frame))
    seconds = np.full(len(frame), np.nan)
    pending = np.ones(len(frame), dtype=bool)
    for time_format in TIME_FORMATS:
        parsed = pd.to_datetime(frame["start"][pending], format=time_format, errors="coerce")
        done = parsed.notna().to_numpy()
        indices = np.flatnonzero(pending)[done]
        seconds[indices] = epoch_seconds(parsed[done])
        pending[indices] = False
    errors.flag(pending, "invalid timestamp in Date flow start")
    label_text = texts(frame["label"], unset=[""])
    errors.flag(
        [_has_surrogate(text) for text in label_text],
        "invalid UTF-8 in Label",
    )
    fields = {
        "ts": seconds,
        "src": frame["src"].to_numpy(dtype=object),
        "src_port": frame["src_port"].to_numpy(dtype=np.int64),
        "dst": frame["dst"].to_numpy(dtype=object),
        "dst_port": frame["dst_port"].to_numpy(dtype=np.int64),
        "proto": frame["proto"].to_numpy(dtype=object),
        "service": "",
        "duration": frame["duration"].to_numpy(dtype=np.float64),
        "bytes_out": frame["bytes"].to_numpy(dtype=np.int64),
        "bytes_in": 0,
        "pkts_out": frame["packets"].to_numpy(dtype=np.int64),
        "pkts_in": 0,
        "conn_state": "",
        "label": labels(pd.Series(label_text)),
        "attack": label_text,
        "flow_id": line_ids(rows, with_line_number=True),
    }
    return build_flows(fields, errors=errors, rows=rows, report=report)


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and any("\udc80" <= char <= "\udcff" for char in text)
