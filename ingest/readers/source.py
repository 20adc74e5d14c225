"""Byte-level access to a flow file: gzip detection, line batches and progress.

Lines are split on ``\\n`` only. A ``\\r`` before it (CRLF files) is removed,
and so is a UTF-8 byte order mark at the start of the file. Decoding is left
to the format readers, so a line that is not valid UTF-8 still has its line
number.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ingest.readers.base import FlowFormatError

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
BLOCK_BYTES = 4 * 1024 * 1024
# No flow format has lines this long; a longer one means the file is not line-based text.
MAX_LINE_BYTES = 16 * 1024 * 1024


@dataclass
class LineBatch:
    """Consecutive lines of a file without their line endings, ``lines[0]`` being line ``first_line`` (1-based)."""

    first_line: int
    lines: list[bytes]


@contextlib.contextmanager
def open_bytes(path: Path) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """Open ``path`` for reading, gunzipping it when it starts with the gzip magic bytes.

    Yields the decompressed stream and the raw file, whose position measures
    progress through the file on disk.
    """
    with open(path, "rb") as raw:
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream, raw
        else:
            raw.seek(0)
            yield raw, raw


def read_head(path: Path, *, size: int = 64 * 1024) -> bytes:
    """Return up to ``size`` decompressed bytes from the start of ``path``, without a byte order mark."""
    with open_bytes(path) as (stream, _raw):
        try:
            head = stream.read(size)
        except (OSError, EOFError, zlib.error) as error:
            raise_corrupt_gzip(path, error)
    return head.removeprefix(UTF8_BOM)


def raise_corrupt_gzip(path: Path, error: Exception) -> None:
    raise FlowFormatError(
        f"{path}: cannot decompress the gzip data ({error}); the file is truncated or not gzip, "
        "check it with `gzip -t` or pass the uncompressed file"
    ) from error


def iter_line_batches(path: Path, *, batch_lines: int, progress: bool = False) -> Iterator[LineBatch]:
    """Yield the lines of ``path`` in batches of ``batch_lines`` (the last batch may be shorter)."""
    with open_bytes(path) as (stream, raw), _progress_bar(path, enabled=progress) as advance:
        pending: list[bytes] = []
        next_line = 1
        tail = b""
        first_block = True
        while True:
            try:
                block = stream.read(BLOCK_BYTES)
            except (OSError, EOFError, zlib.error) as error:
                raise_corrupt_gzip(path, error)
            advance(raw.tell())
            if not block:
                break
            if first_block:
                block = block.removeprefix(UTF8_BOM)
                first_block = False
            block = tail + block
            cut = block.rfind(b"\n")
            if cut < 0:
                tail = block
                if len(tail) > MAX_LINE_BYTES:
                    raise FlowFormatError(
                        f"{path}: line {next_line + len(pending)} is longer than {MAX_LINE_BYTES // 2**20} MiB, "
                        "so this is not a line-based flow file; check the file or its --format"
                    )
                continue
            tail = block[cut + 1 :]
            pending.extend(_split_lines(block[:cut]))
            while len(pending) >= batch_lines:
                yield LineBatch(first_line=next_line, lines=pending[:batch_lines])
                del pending[:batch_lines]
                next_line += batch_lines
        if tail:
            # The last line has no line ending.
            pending.extend(_split_lines(tail))
        for start in range(0, len(pending), batch_lines):
            yield LineBatch(first_line=next_line + start, lines=pending[start : start + batch_lines])


def _split_lines(block: bytes) -> list[bytes]:
    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n")
        lines = block.split(b"\n")
        # The block was cut before the last line's LF, so its CR is still there.
        if lines and lines[-1].endswith(b"\r"):
            lines[-1] = lines[-1][:-1]
        return lines
    return block.split(b"\n")


@contextlib.contextmanager
def _progress_bar(path: Path, *, enabled: bool) -> Iterator:
    """Yield a callback taking the byte offset reached in the file on disk; draws a rich bar on stderr."""
    if not enabled:
        yield lambda _offset: None
        return

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    total = path.stat().st_size
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(path.name, total=total)
        yield lambda offset: bar.update(task, completed=offset)
