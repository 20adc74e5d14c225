"""The reader object, its read report and the error for a rejected file.

    ValueError
    └── FlowFormatError     the whole file is rejected (empty, unknown or
                            unsupported format, missing header, archive)

A bad data line does not raise. It is counted in ``ReadReport`` with its
line number and reason, and skipped. Only problems of the file as a whole
raise FlowFormatError.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ingest.mapping import ColumnMapping
from ingest.record import empty_flows

logger = logging.getLogger(__name__)

MAX_EXAMPLES = 20
# Bad lines beyond this many per file are only counted, so a broken file
# cannot flood the log.
MAX_LOGGED_BAD_LINES = 5
EXAMPLE_TEXT_CHARS = 80
REDACTED_TEXT = "(text withheld: pseudonymised ingest)"


class FlowFormatError(ValueError):
    """The whole file cannot be read: the message names the file, the problem and the fix."""


@dataclass
class BadLine:
    """One skipped line: its 1-based number, why it was skipped and its first 80 characters."""

    line: int
    reason: str
    text: str


@dataclass
class ReadReport:
    """Line accounting of one read of a file.

    ``header_lines`` counts header, comment, footer and empty lines. After a
    complete read every line is in exactly one of ``flows``, ``skipped`` and
    ``header_lines``.
    """

    path: str
    format: str
    lines_read: int = 0
    flows: int = 0
    header_lines: int = 0
    skipped: int = 0
    skipped_by_reason: collections.Counter[str] = field(default_factory=collections.Counter)
    examples: list[BadLine] = field(default_factory=list)
    # With pseudonymised ingest the text of a skipped line (addresses
    # included) is neither kept nor logged; its number and reason still are.
    redact_text: bool = False

    def accounted(self) -> bool:
        return self.lines_read == self.flows + self.skipped + self.header_lines

    def summary(self) -> str:
        """Return one line such as ``read 23153 lines: 23145 flows, 0 skipped, 8 header/comment``."""
        skipped = f"{self.skipped} skipped"
        if self.skipped_by_reason:
            reasons = ", ".join(f"{reason}: {count}" for reason, count in self.skipped_by_reason.most_common(3))
            more = len(self.skipped_by_reason) - 3
            if more > 0:
                reasons += f", {more} more reason(s)"
            skipped += f" ({reasons})"
        return f"read {self.lines_read} lines: {self.flows} flows, {skipped}, {self.header_lines} header/comment"

    def restart(self) -> None:
        """Zero every count, in place, so that holders of this report see the next read."""
        self.lines_read = 0
        self.flows = 0
        self.header_lines = 0
        self.skipped = 0
        self.skipped_by_reason = collections.Counter()
        self.examples = []

    def add_bad_lines(self, numbers: Sequence[int], reasons: Sequence[str], raw_lines: Sequence[bytes]) -> None:
        """Count skipped lines, keep the first examples and log the first few at WARNING."""
        self.skipped += len(numbers)
        self.skipped_by_reason.update(reasons)
        for number, reason, raw in zip(numbers, reasons, raw_lines):
            if len(self.examples) >= MAX_EXAMPLES:
                break
            text = REDACTED_TEXT if self.redact_text else raw.decode("utf-8", "replace")[:EXAMPLE_TEXT_CHARS]
            self.examples.append(BadLine(line=int(number), reason=reason, text=text))
            if len(self.examples) <= MAX_LOGGED_BAD_LINES:
                logger.warning("%s line %d skipped: %s: %r", self.path, number, reason, text)


# A format reader turns one file into flow frames, filling the report as it goes.
FormatReader = Callable[[Path, "ReadOptions", ReadReport], Iterator[pd.DataFrame]]


@dataclass(frozen=True)
class ReadOptions:
    """Options shared by every format reader; see ``open_flows`` for their meaning."""

    chunk_rows: int = 100_000
    progress: bool = False
    netflow_start: float = 0.0
    netflow_rate: float | None = None
    mapping: ColumnMapping | None = None


class FlowReader:
    """An iterable of flow frames read from one file.

    Each frame has exactly the columns and dtypes of ``ingest.record.FLOW_DTYPES``
    and at most ``chunk_rows`` rows. ``report`` is complete once iteration ends.
    Iterating again reads the file again and restarts the same report object.
    """

    def __init__(self, path: Path, *, format: str, options: ReadOptions, read: FormatReader) -> None:
        self.path = path
        self.format = format
        self.options = options
        self.report = ReadReport(path=str(path), format=format)
        self._read = read

    def __iter__(self) -> Iterator[pd.DataFrame]:
        self.report.restart()
        logger.info("reading %s as %s", self.path, self.format)
        for frame in self._read(self.path, self.options, self.report):
            if len(frame):
                self.report.flows += len(frame)
                yield frame
        self._log_summary()

    def read_all(self) -> pd.DataFrame:
        """Read the whole file into one frame; meant for files that fit in memory."""
        frames = list(self)
        if not frames:
            return empty_flows()
        return pd.concat(frames, ignore_index=True)

    def _log_summary(self) -> None:
        report = self.report
        if report.flows == 0:
            logger.warning("%s (%s): no flows found; %s", self.path, self.format, report.summary())
        elif report.skipped:
            logger.warning("%s (%s): %s", self.path, self.format, report.summary())
        else:
            logger.info("%s (%s): %s", self.path, self.format, report.summary())
        if not report.accounted():
            # Every reader counts each line once; a mismatch is a reader bug.
            logger.error("%s: line accounting mismatch: %s", self.path, report.summary())

    def __repr__(self) -> str:
        return f"FlowReader(path={str(self.path)!r}, format={self.format!r})"
