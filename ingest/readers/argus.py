"""Argus bidirectional flow files (``binetflow``), comma- or tab-separated.

The header row names the columns (matched case-insensitively). A file
without one, such as the CTU-13 captures, must have the standard CTU-13
columns: StartTime, Dur, Proto, SrcAddr, Sport, Dir, DstAddr, Dport, State,
sTos, dTos, TotPkts, TotBytes, SrcBytes, Label.

Mapping. ``StartTime`` (``2019/04/04 16:23:00.123456``) has no zone: Argus
prints the capture machine's local time, which the file does not record, so
it is read as UTC. Epoch seconds are accepted too. ``SrcBytes`` →
bytes_out and ``TotBytes − SrcBytes`` (or ``DstBytes``) → bytes_in. Packets:
``SrcPkts``/``DstPkts`` when present, ``TotPkts − SrcPkts`` for the reply;
without ``SrcPkts`` see ``split_packets``. Ports may be hexadecimal
(``0x0303``, ICMP type and code) or empty (-1). ``State`` → conn_state (Argus
states such as CON, INT, FIN, not Zeek's). ``Label`` → label through
``normalise_label`` (``flow=From-Botnet-…`` is malicious,
``flow=Background-…`` unknown), and the label text itself → attack.

Skipped records: Argus management records (proto ``man``), frames between
MAC addresses (``llc``, some ``arp``) and address ``0`` have no IP endpoint
for the device graph. Each is counted with its reason.

Flow ids hash the raw line salted with its line number, because identical
lines (same microsecond, same endpoints) are distinct flows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

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
    ports,
    protocol_names,
    read_columns,
    texts,
)
from ingest.readers.source import read_head

CTU13_COLUMNS = [
    "StartTime",
    "Dur",
    "Proto",
    "SrcAddr",
    "Sport",
    "Dir",
    "DstAddr",
    "Dport",
    "State",
    "sTos",
    "dTos",
    "TotPkts",
    "TotBytes",
    "SrcBytes",
    "Label",
]
REQUIRED_COLUMNS = ("StartTime", "Proto", "SrcAddr", "DstAddr")
USED_COLUMNS = (
    "StartTime",
    "Dur",
    "Proto",
    "SrcAddr",
    "Sport",
    "DstAddr",
    "Dport",
    "State",
    "TotPkts",
    "TotBytes",
    "SrcBytes",
    "DstBytes",
    "SrcPkts",
    "DstPkts",
    "Label",
)
NUMERIC_COLUMNS = frozenset({"Dur", "TotPkts", "TotBytes", "SrcBytes", "DstBytes", "SrcPkts", "DstPkts"})
TEXT_COLUMNS = ("StartTime", "Proto", "SrcAddr", "DstAddr", "State", "Label")
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")
MAC_ADDRESS = r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}"


def read_argus(path: Path, options: ReadOptions, report: ReadReport) -> Iterator[pd.DataFrame]:
    first_line = next((line for line in read_head(path).splitlines() if line.strip()), b"")
    sep = b"\t" if b"\t" in first_line else b","
    has_header = first_line.split(sep)[0].strip().lower() == b"starttime"
    header = None if has_header else CTU13_COLUMNS

    canonical: dict[str, str] | None = None
    for batch in iter_delimited(path, options=options, report=report, sep=sep, quoted=False, header=header):
        if canonical is None:
            canonical = _canonical_names(batch.header, path=path)
        yield _batch_flows(batch, canonical=canonical, sep=sep, report=report)


def _canonical_names(header: list[str], *, path: Path) -> dict[str, str]:
    """Map each used Argus column name to its header position name, ignoring case."""
    by_lower = {name.lower(): name for name in header}
    canonical = {name: by_lower[name.lower()] for name in USED_COLUMNS if name.lower() in by_lower}
    missing = [name for name in REQUIRED_COLUMNS if name not in canonical]
    if missing:
        raise FlowFormatError(
            f"{path}: the Argus header lacks {', '.join(missing)}; export with "
            "`ra -s stime dur proto saddr sport dir daddr dport state ...`, or map the columns with --map"
        )
    return canonical


def _batch_flows(batch: DelimitedBatch, *, canonical: dict[str, str], sep: bytes, report: ReadReport) -> pd.DataFrame:
    positions = {name: batch.header.index(source) for name, source in canonical.items()}
    frame, errors = read_columns(batch.rows, sep=sep.decode(), positions=positions, numeric=NUMERIC_COLUMNS, unset=[""], quoted=False)
    if not batch.utf8:
        flag_invalid_utf8({name: frame[name] for name in TEXT_COLUMNS if name in frame}, errors=errors)

    def optional(name: str) -> pd.Series:
        if name in frame:
            return frame[name]
        return pd.Series(np.full(len(frame), None, dtype=object))

    proto = protocol_names(frame["Proto"])
    errors.flag(proto == "man", "Argus management record (no flow)")
    src = _ip_addresses(frame["SrcAddr"], column="SrcAddr", errors=errors)
    dst = _ip_addresses(frame["DstAddr"], column="DstAddr", errors=errors)
    ts = _start_times(frame["StartTime"], errors=errors)

    bytes_out, bytes_in = _split_bytes(frame, errors=errors)
    pkts_out, pkts_in = _split_packets(frame, bytes_out=bytes_out, bytes_in=bytes_in, errors=errors)
    label_text = texts(optional("Label").map(_strip), unset=[""])
    fields = {
        "ts": ts,
        "src": src,
        "src_port": ports(optional("Sport"), column="Sport", errors=errors, unset=[""], hexadecimal=True),
        "dst": dst,
        "dst_port": ports(optional("Dport"), column="Dport", errors=errors, unset=[""], hexadecimal=True),
        "proto": proto,
        "service": "",
        "duration": durations(optional("Dur"), column="Dur", errors=errors, unset=[""]),
        "bytes_out": bytes_out,
        "bytes_in": bytes_in,
        "pkts_out": pkts_out,
        "pkts_in": pkts_in,
        "conn_state": texts(optional("State").map(_strip), unset=[""]),
        "label": labels(pd.Series(label_text)),
        "attack": label_text,
        "flow_id": line_ids(batch.rows, with_line_number=True),
    }
    return build_flows(fields, errors=errors, rows=batch.rows, report=report)


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _ip_addresses(series: pd.Series, *, column: str, errors: RowErrors) -> np.ndarray:
    values = addresses(series.map(_strip), column=column, errors=errors, unset=[""])
    text = pd.Series(values, dtype=object)
    errors.flag(text.str.fullmatch(MAC_ADDRESS).to_numpy(dtype=bool), f"MAC address instead of IP in {column}")
    errors.flag(values == "0", f"no IP address in {column} (0)")
    return values


def _start_times(series: pd.Series, *, errors: RowErrors) -> np.ndarray:
    """Parse StartTime as UTC epoch seconds: Argus' date format first, then plain epoch numbers."""
    text = series.map(_strip)
    missing = text.isna() | (text == "")
    seconds = np.full(len(text), np.nan)
    pending = ~missing.to_numpy()
    for time_format in TIME_FORMATS:
        if not pending.any():
            break
        parsed = pd.to_datetime(text[pending], format=time_format, errors="coerce")
        done = parsed.notna().to_numpy()
        indices = np.flatnonzero(pending)[done]
        seconds[indices] = epoch_seconds(parsed[done])
        pending[indices] = False
    if pending.any():
        numbers = pd.to_numeric(text[pending], errors="coerce").to_numpy(dtype=np.float64)
        indices = np.flatnonzero(pending)
        seconds[indices] = numbers
    errors.flag(missing.to_numpy(), "missing timestamp in StartTime")
    errors.flag(~np.isfinite(seconds), "invalid timestamp in StartTime")
    return seconds


def _split_bytes(frame: pd.DataFrame, *, errors: RowErrors) -> tuple[np.ndarray, np.ndarray]:
    """Return (bytes_out, bytes_in): SrcBytes, and DstBytes or TotBytes − SrcBytes."""
    total = counts(_column(frame, "TotBytes"), column="TotBytes", errors=errors, unset=[""])
    if "SrcBytes" not in frame:
        # Without a direction split all bytes count as sent by the source.
        return total, np.zeros(len(frame), dtype=np.int64)
    sent = counts(frame["SrcBytes"], column="SrcBytes", errors=errors, unset=[""])
    if "DstBytes" in frame:
        return sent, counts(frame["DstBytes"], column="DstBytes", errors=errors, unset=[""])
    errors.flag(sent > total, "SrcBytes larger than TotBytes")
    return sent, np.maximum(total - sent, 0)


def _split_packets(
    frame: pd.DataFrame, *, bytes_out: np.ndarray, bytes_in: np.ndarray, errors: RowErrors
) -> tuple[np.ndarray, np.ndarray]:
    """Return (pkts_out, pkts_in) from SrcPkts/DstPkts, or SrcPkts and TotPkts, or an estimate from TotPkts.

    Without SrcPkts the direction split of TotPkts is not in the file. A
    one-way flow (no bytes back, or none sent) puts all packets on the side
    that sent bytes. A two-way flow splits packets in proportion to bytes,
    with at least one packet on each side.
    """
    total = counts(_column(frame, "TotPkts"), column="TotPkts", errors=errors, unset=[""])
    if "SrcPkts" in frame:
        sent = counts(frame["SrcPkts"], column="SrcPkts", errors=errors, unset=[""])
        if "DstPkts" in frame:
            return sent, counts(frame["DstPkts"], column="DstPkts", errors=errors, unset=[""])
        errors.flag(sent > total, "SrcPkts larger than TotPkts")
        return sent, np.maximum(total - sent, 0)

    # NOTE: this split is an estimate; per-direction packet counts are exact only for one-way flows.
    total_bytes = bytes_out + bytes_in
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total_bytes > 0, bytes_out / total_bytes, 1.0)
    estimate = np.rint(total * share).astype(np.int64)
    two_way = (bytes_out > 0) & (bytes_in > 0) & (total >= 2)
    estimate = np.where(two_way, np.clip(estimate, 1, np.maximum(total - 1, 1)), estimate)
    sent = np.where(bytes_in == 0, total, np.where(bytes_out == 0, 0, estimate))
    return sent, total - sent


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return frame[name]
    return pd.Series(np.full(len(frame), None, dtype=object))
