"""Following Zeek conn logs as they grow: complete new lines in, flow frames out.

A ``LogFollower`` watches files and folders. A file is read from the byte
offset where the previous read stopped, and only up to its last line
ending: a line still being written waits for the next poll. A folder
contributes every file whose name matches a pattern, oldest first (by
modification time, then name), including files that appear later.

Rotation is recognised by the file's identity on disk (device and inode):

- a watched path whose inode changed was rotated (``mv conn.log
  conn.1.log`` and a new ``conn.log``). The rest of the old file is read
  first when the old inode still lives in the same folder, then the new file
  from its start;
- a file shorter than the stored offset was truncated in place
  (``copytruncate``) and is read again from its start;
- in a folder, a new name carrying a known inode is the same file renamed,
  and its position moves to the new name.

Gzip files are read whole once, when they appear, since compressed logs are
complete archives. TSV logs keep their ``#`` header state in the position,
so a restart parses the next lines with the header in force at the offset.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingest.readers.base import FlowFormatError, ReadReport
from ingest.readers.fields import Rows, is_text_utf8
from ingest.readers.source import GZIP_MAGIC, UTF8_BOM
from ingest.readers.zeek import USED_COLUMNS, ZeekHeader, _read_data_run, zeek_flows
from ingest.readers.zeek_json import _epoch_seconds, _parse_object
from ingest.record import empty_flows

logger = logging.getLogger(__name__)

ZEEK_TSV = "zeek"
ZEEK_JSON = "zeek-json"
GZIP_FORMAT_SUFFIX = "+gzip"
DEFAULT_PATTERN = "conn*"
# Bytes read per chunk, which becomes one store transaction: about 40 000
# lines of a Zeek conn.log.
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
# No conn.log line is this long, so a longer one means the file is not a log.
MAX_LINE_BYTES = 16 * 1024 * 1024


@dataclass
class FilePosition:
    """The read position in one file, with the fields of ``graphdb.model.SourceOffset``."""

    path: str
    device: int
    inode: int
    offset: int = 0
    line: int = 0
    format: str = ""
    header: dict[str, Any] | None = None
    max_ts: float | None = None


@dataclass
class TailChunk:
    """Flows parsed from consecutive complete lines of one file, and the position after them."""

    position: FilePosition
    flows: pd.DataFrame
    lines: int


def header_state(header: ZeekHeader) -> dict[str, Any]:
    """Return the JSON-ready state of a Zeek header."""
    return {
        "separator": header.separator.decode("latin-1"),
        "unset": header.unset,
        "empty": header.empty,
        "fields": header.fields,
        "three_space_columns": header.three_space_columns,
    }


def header_from_state(state: dict[str, Any] | None) -> ZeekHeader:
    """Rebuild a Zeek header from ``header_state`` output. None gives the defaults in force before any ``#`` line."""
    header = ZeekHeader()
    if not state:
        return header
    header.separator = str(state.get("separator", "\t")).encode("latin-1")
    header.unset = str(state.get("unset", "-"))
    header.empty = str(state.get("empty", "(empty)"))
    header.fields = state.get("fields")
    header.three_space_columns = bool(state.get("three_space_columns", False))
    if header.fields is not None:
        header.positions = {name: index for index, name in enumerate(header.fields) if name in USED_COLUMNS}
    return header


class LogFollower:
    """Read the complete new lines of watched files and folders as flow frames.

    ``paths`` are files or folders. ``positions`` are those stored by an
    earlier run, by path, and files without one are read from the start. Each
    file keeps one ``ReadReport`` in ``reports`` that accumulates its line
    accounting and bad lines over the follower's lifetime.
    """

    def __init__(
        self,
        paths: list[str | Path],
        *,
        positions: dict[str, FilePosition] | None = None,
        pattern: str = DEFAULT_PATTERN,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if not paths:
            raise ValueError("no paths to watch; pass at least one log file or folder")
        if chunk_bytes < 1:
            raise ValueError(f"invalid chunk_bytes {chunk_bytes}: read at least 1 byte per chunk")
        self.paths = [Path(path) for path in paths]
        self.pattern = pattern
        self.chunk_bytes = chunk_bytes
        self.positions: dict[str, FilePosition] = dict(positions or {})
        self.reports: dict[str, ReadReport] = {}
        self._rejected: set[tuple[str, int, int]] = set()

    # -- which files -----------------------------------------------------------

    def files(self) -> list[Path]:
        """Return the files to read now: the watched files, then each folder's matching files oldest first."""
        found: list[Path] = []
        for path in self.paths:
            if path.is_dir():
                found.extend(self._folder_files(path))
            elif path.exists() or str(path) in self.positions:
                found.append(path)
        return list(dict.fromkeys(found))

    def _folder_files(self, folder: Path) -> list[Path]:
        entries = []
        for entry in os.scandir(folder):
            if entry.name.startswith(".") or not fnmatch(entry.name, self.pattern):
                continue
            if not entry.is_file(follow_symlinks=True):
                continue
            entries.append((entry.stat().st_mtime_ns, entry.name, Path(entry.path)))
        return [path for _, _, path in sorted(entries)]

    # -- reading ---------------------------------------------------------------

    def poll(self) -> Iterator[TailChunk]:
        """Yield chunks of every file's complete new lines, file after file.

        ``positions`` moves on as each chunk is yielded, and the caller stores a
        chunk's position together with its flows.
        """
        listing = self.files()
        for path in listing:
            yield from self._poll_file(path, listing)

    def _poll_file(self, path: Path, listing: list[Path]) -> Iterator[TailChunk]:
        key = str(path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            # Rotated away and not yet recreated: its last lines were read before.
            return
        if (key, stat.st_dev, stat.st_ino) in self._rejected:
            return

        try:
            position = self.positions.get(key)
            if position is not None and (position.device, position.inode) != (stat.st_dev, stat.st_ino):
                yield from self._follow_rotation(path, position, listing)
                position = None
            if position is None:
                position = self._renamed_position(path, stat, listing)
            elif stat.st_size < position.offset:
                logger.warning(
                    "%s is shorter (%d bytes) than the offset already read (%d); it was truncated, reading it again from the start",
                    path,
                    stat.st_size,
                    position.offset,
                )
                position = FilePosition(path=key, device=stat.st_dev, inode=stat.st_ino)
            self.positions[key] = position

            if position.format.endswith(GZIP_FORMAT_SUFFIX) or (position.offset == 0 and _is_gzip(path)):
                yield from self._read_gzip(path, position)
            else:
                yield from self._read_text(path, position)
        except FlowFormatError as error:
            # One unreadable file must not stop a long-running watch of the others.
            logger.error("%s: not followed: %s", path, error)
            self._rejected.add((key, stat.st_dev, stat.st_ino))

    def _renamed_position(self, path: Path, stat: os.stat_result, listing: list[Path]) -> FilePosition:
        """Start a file's position. When another watched name had this inode, the file was renamed and keeps its offset."""
        for other_key, other in list(self.positions.items()):
            if other_key == str(path) or (other.device, other.inode) != (stat.st_dev, stat.st_ino):
                continue
            if _same_file(Path(other_key), stat):
                continue
            logger.info("%s is %s renamed; continuing at byte %d", path, other_key, other.offset)
            del self.positions[other_key]
            return replace(other, path=str(path))
        return FilePosition(path=str(path), device=stat.st_dev, inode=stat.st_ino)

    def _follow_rotation(self, path: Path, position: FilePosition, listing: list[Path]) -> Iterator[TailChunk]:
        """Handle a watched name that now names another file: read the rest of the old file unless it was renamed into the watch."""
        old = _find_inode(path.parent, position.device, position.inode)
        del self.positions[str(path)]
        if old is not None and old in listing:
            # A watched folder contains the old file under its new name, and it is followed there.
            if str(old) not in self.positions:
                self.positions[str(old)] = replace(position, path=str(old))
            return
        if old is None:
            logger.warning(
                "%s was rotated and its old file (inode %d) is gone; lines written to it after byte %d were not read",
                path,
                position.inode,
                position.offset,
            )
            return

        logger.info("%s was rotated to %s; reading its last lines from byte %d", path, old, position.offset)
        last = position
        for chunk in self._read_text(old, position, key=str(path)):
            last = chunk.position
            yield chunk
        self.positions.pop(str(path), None)
        remainder = old.stat().st_size - last.offset
        if remainder > 0:
            logger.warning("%s: %d byte(s) after the last line ending of rotated file %s were not read", path, remainder, old)

    def _read_text(self, path: Path, position: FilePosition, *, key: str | None = None) -> Iterator[TailChunk]:
        """Yield chunks of the complete lines after ``position``, counted for the watched path ``key``."""
        key = key or str(path)
        report = self._report(key, position)
        header = header_from_state(position.header)
        with open(path, "rb") as handle:
            handle.seek(position.offset)
            pending = b""
            while True:
                block = handle.read(self.chunk_bytes)
                if not block:
                    return
                block = pending + block
                cut = block.rfind(b"\n")
                if cut < 0:
                    if len(block) > MAX_LINE_BYTES:
                        raise FlowFormatError(
                            f"line {position.line + 1} is longer than {MAX_LINE_BYTES // 2**20} MiB, so this is not a conn log"
                        )
                    pending = block
                    continue
                pending = block[cut + 1 :]
                chunk = self._parse(block[: cut + 1], position, header, report)
                self.positions[key] = chunk.position
                position = chunk.position
                yield chunk

    def _parse(self, data: bytes, position: FilePosition, header: ZeekHeader, report: ReadReport) -> TailChunk:
        """Turn complete lines (ending in a newline) into flows and the position after them."""
        consumed = len(data)
        if position.offset == 0:
            data = data.removeprefix(UTF8_BOM)
        lines = data[:-1].split(b"\n")
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
        first_line = position.line + 1
        report.lines_read += len(lines)

        file_format = position.format or _detect(lines, path=report.path)
        if file_format == ZEEK_JSON:
            flows = _json_flows(lines, first_line=first_line, report=report)
            state = None
        elif file_format == ZEEK_TSV:
            flows = _tsv_flows(lines, first_line=first_line, header=header, report=report)
            state = header_state(header)
        else:
            # Only blank lines so far: the first line with content decides the format.
            report.header_lines += len(lines)
            flows, state = empty_flows(), None
        report.flows += len(flows)

        max_ts = position.max_ts
        if len(flows):
            newest = float(flows["ts"].max())
            max_ts = newest if max_ts is None else max(max_ts, newest)
        after = replace(
            position,
            offset=position.offset + consumed,
            line=position.line + len(lines),
            format=file_format,
            header=state,
            max_ts=max_ts,
        )
        return TailChunk(position=after, flows=flows, lines=len(lines))

    def _read_gzip(self, path: Path, position: FilePosition) -> Iterator[TailChunk]:
        """Read a gzip log whole, once. Its position is its size, so it is not read again.

        NOTE: the whole archive becomes one chunk, so one transaction and one
        frame in memory; a gzip log of millions of flows needs that much memory.
        """
        from ingest.readers import open_flows

        size = path.stat().st_size
        if position.offset >= size:
            return
        reader = open_flows(path, format=None, chunk_rows=max(1, self.chunk_bytes // 200))
        if reader.format not in (ZEEK_TSV, ZEEK_JSON):
            raise FlowFormatError(f"{path} is {reader.format}; watch follows Zeek conn logs (TSV or JSON) only")
        self.reports[str(path)] = reader.report
        frames = [frame for frame in reader]
        flows = pd.concat(frames, ignore_index=True) if frames else empty_flows()
        after = replace(
            position,
            offset=size,
            line=reader.report.lines_read,
            format=reader.format + GZIP_FORMAT_SUFFIX,
            max_ts=float(flows["ts"].max()) if len(flows) else position.max_ts,
        )
        self.positions[str(path)] = after
        yield TailChunk(position=after, flows=flows, lines=reader.report.lines_read)

    def _report(self, key: str, position: FilePosition) -> ReadReport:
        report = self.reports.get(key)
        if report is None:
            report = ReadReport(path=key, format=position.format or "zeek")
            self.reports[key] = report
        return report


def _tsv_flows(lines: list[bytes], *, first_line: int, header: ZeekHeader, report: ReadReport) -> pd.DataFrame:
    """Parse TSV lines, applying ``#`` lines to ``header`` in place as they come."""
    frames = []
    start = 0
    specials = [index for index, line in enumerate(lines) if not line or line[:1] == b"#" or line.isspace()]
    for index in [*specials, len(lines)]:
        if index > start:
            numbers = np.arange(first_line + start, first_line + index, dtype=np.int64)
            frame = _read_data_run(lines[start:index], numbers, header=header, report=report)
            if frame is not None and len(frame):
                frames.append(frame)
        if index < len(lines):
            report.header_lines += 1
            if lines[index][:1] == b"#":
                header.apply(lines[index], path=Path(report.path), number=first_line + index)
        start = index + 1
    return pd.concat(frames, ignore_index=True) if frames else empty_flows()


def _json_flows(lines: list[bytes], *, first_line: int, report: ReadReport) -> pd.DataFrame:
    records, good_lines, good_numbers = [], [], []
    bad_numbers, bad_reasons, bad_lines = [], [], []
    for offset, line in enumerate(lines):
        if not line.strip():
            report.header_lines += 1
            continue
        record, reason = _parse_object(line)
        if reason is None:
            records.append(record)
            good_lines.append(line)
            good_numbers.append(first_line + offset)
        else:
            bad_numbers.append(first_line + offset)
            bad_reasons.append(reason)
            bad_lines.append(line)
    if bad_numbers:
        report.add_bad_lines(bad_numbers, bad_reasons, bad_lines)
    if not records:
        return empty_flows()

    frame = pd.DataFrame.from_records(records, columns=list(USED_COLUMNS))
    frame["ts"] = _epoch_seconds(frame["ts"])
    rows = Rows(numbers=np.array(good_numbers, dtype=np.int64), lines=good_lines)
    return zeek_flows(frame, rows=rows, report=report, unset=["-"], empty="(empty)", utf8=is_text_utf8(good_lines))


def _detect(lines: list[bytes], *, path: str) -> str:
    """Return the format of a log from its first line with content, or "" when every line is blank."""
    first = next((line.strip() for line in lines if line.strip()), None)
    if first is None:
        return ""
    if first.startswith(b"#"):
        return ZEEK_TSV
    if first.startswith(b"{"):
        return ZEEK_JSON
    raise FlowFormatError(
        f"{path}: the first line {first[:60]!r} starts neither a Zeek TSV header (#) nor a JSON object; "
        "watch follows Zeek conn logs only (use `iotgraph ingest` for other formats)"
    )


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def _same_file(path: Path, stat: os.stat_result) -> bool:
    try:
        other = path.stat()
    except FileNotFoundError:
        return False
    return (other.st_dev, other.st_ino) == (stat.st_dev, stat.st_ino)


def _find_inode(folder: Path, device: int, inode: int) -> Path | None:
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return None
    for entry in entries:
        try:
            stat = entry.stat()
        except FileNotFoundError:
            continue
        if (stat.st_dev, stat.st_ino) == (device, inode) and entry.is_file():
            return Path(entry.path)
    return None


__all__ = ["DEFAULT_PATTERN", "FilePosition", "LogFollower", "TailChunk", "header_from_state", "header_state"]

