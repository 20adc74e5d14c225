"""Choice of the format reader for a file: ``open_flows``."""

from __future__ import annotations

import math
from pathlib import Path

from ingest.mapping import ColumnMapping
from ingest.readers.argus import read_argus
from ingest.readers.base import FlowFormatError, FlowReader, FormatReader, ReadOptions
from ingest.readers.detect import FORMATS, check_file, detect_format
from ingest.readers.mapped_csv import read_mapped_csv
from ingest.readers.netflow import read_netflow
from ingest.readers.nfdump import read_nfdump
from ingest.readers.zeek import read_zeek, read_zeek_csv
from ingest.readers.zeek_json import read_zeek_json

READERS: dict[str, FormatReader] = {
    "zeek": read_zeek,
    "zeek-csv": read_zeek_csv,
    "zeek-json": read_zeek_json,
    "netflow": read_netflow,
    "argus": read_argus,
    "nfdump": read_nfdump,
    "csv": read_mapped_csv,
}


def open_flows(
    path: str | Path,
    *,
    format: str | None = None,
    mapping: ColumnMapping | None = None,
    chunk_rows: int = 100_000,
    progress: bool = False,
    netflow_start: float = 0.0,
    netflow_rate: float | None = None,
) -> FlowReader:
    """Open a flow file for reading in chunks of normalised flows.

    The format is detected from the file's first bytes unless ``format``
    names it; a ``mapping`` selects the csv format. gzip input is detected by
    its magic bytes. ``chunk_rows`` bounds the lines read per chunk, so the
    rows per frame. ``progress`` draws a progress bar over the bytes read on
    stderr. ``netflow_start`` (epoch seconds) and ``netflow_rate`` (flows per
    second) give NetFlow rows their timestamps (see ``ingest.readers.netflow``).

    Raises FlowFormatError when the file is empty, an archive, of an
    unsupported or unknown format, and FileNotFoundError when it is missing.
    Bad lines do not raise; they are counted in ``FlowReader.report``.
    """
    path = Path(path)
    _check_options(format=format, mapping=mapping, chunk_rows=chunk_rows, netflow_start=netflow_start, netflow_rate=netflow_rate)
    head = check_file(path)
    if format is None:
        format = "csv" if mapping is not None else detect_format(path, head=head)
    if format == "csv" and mapping is None:
        raise FlowFormatError(
            f"{path}: the csv format needs a column mapping; pass --map ts=Time,src=SrcIP,dst=DstIP,... or a TOML file"
        )
    options = ReadOptions(
        chunk_rows=chunk_rows,
        progress=progress,
        netflow_start=float(netflow_start),
        netflow_rate=netflow_rate,
        mapping=mapping,
    )
    return FlowReader(path, format=format, options=options, read=READERS[format])


def _check_options(
    *,
    format: str | None,
    mapping: ColumnMapping | None,
    chunk_rows: int,
    netflow_start: float,
    netflow_rate: float | None,
) -> None:
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    if mapping is not None and format not in (None, "csv"):
        raise ValueError(f"a column mapping applies to the csv format only, not {format!r}; drop --map or --format")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if not math.isfinite(netflow_start):
        raise ValueError(f"netflow_start must be a finite number of epoch seconds, got {netflow_start}")
    if netflow_rate is not None and not (math.isfinite(netflow_rate) and netflow_rate > 0):
        raise ValueError(f"netflow_rate must be a positive number of flows per second, got {netflow_rate}")
