"""The watch loop: follow growing Zeek logs into a store and score each window once it is complete.

Each chunk of complete new lines becomes one ``IngestBatch`` written in one
transaction together with the file's read position (``SourceOffset``), so a
restart resumes at the first line not yet stored and counts nothing twice.
Flow ids already stored are dropped as in ``graphdb.load``.

After each batch the watermark (newest flow timestamp minus the lateness)
closes every window that ends at or before it. A closed window is scored
with the scorer passed in, normally ``ml.scoring.score_windows`` with the
latest model, and one line per window is logged. Late flows, those of a
window already closed, are counted, stored and their windows scored again.

At start-up the stored windows that the stored watermark has passed and
that have no score yet are closed first, which also covers a stop between
a batch and the scoring of the windows it completed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from graphdb.errors import DuplicateFlowError
from graphdb.load import build_batch
from graphdb.model import DEVICE_COLUMNS, IngestBatch, SourceOffset, WindowSpec
from graphdb.store import GraphStore
from ingest.tail import DEFAULT_CHUNK_BYTES, DEFAULT_PATTERN, FilePosition, LogFollower, TailChunk
from ingest.watch import Watermark, late_windows

logger = logging.getLogger(__name__)

DEFAULT_POLL = 1.0
DEFAULT_LATENESS = 30.0
# Attempts at writing one chunk when another writer stores some of its flow ids first.
_WRITE_ATTEMPTS = 3


@dataclass
class ScoredWindow:
    """A scorer's result for one window: the model version, the highest score and the device that has it."""

    window_start: float
    model_version: str
    max_score: float | None
    top_device: str | None


# scorer(store, window_starts) -> one ScoredWindow per window, or None when no model exists yet.
WindowScorer = Callable[[GraphStore, Sequence[float]], Sequence[ScoredWindow] | None]


@dataclass
class WatchStats:
    """Counts of one watch run.

    ``scored`` counts, per window start, the scorings when the window closed,
    and ``rescored`` those after late flows.
    """

    batches: int = 0
    lines: int = 0
    new_flows: int = 0
    known_flows: int = 0
    late_flows: int = 0
    closed: list[float] = field(default_factory=list)
    scored: Counter[float] = field(default_factory=Counter)
    rescored: Counter[float] = field(default_factory=Counter)


class Watcher:
    """Follow log files and folders into one store until stopped.

    ``lateness`` (seconds) is how far behind the newest flow a flow may
    arrive and still count as on time. ``scorer`` scores closed windows. With
    None, windows are closed without scores.
    """

    def __init__(
        self,
        store: GraphStore,
        paths: Sequence[str | Path],
        *,
        spec: WindowSpec,
        lateness: float = DEFAULT_LATENESS,
        scorer: WindowScorer | None = None,
        poll: float = DEFAULT_POLL,
        pattern: str = DEFAULT_PATTERN,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if poll <= 0:
            raise ValueError(f"invalid poll interval {poll}s: it must be positive, e.g. 1s")
        self.store = store
        self.spec = spec
        self.scorer = scorer
        self.poll = poll
        self.stats = WatchStats()

        stored = {path: _position(offset) for path, offset in store.source_offsets().items()}
        newest = [position.max_ts for position in stored.values() if position.max_ts is not None]
        self.watermark = Watermark(lateness=lateness, newest=max(newest) if newest else None)
        self.follower = LogFollower(list(paths), positions=stored, pattern=pattern, chunk_bytes=chunk_bytes)
        # Windows ending at or before this watermark are closed; None until the first close.
        self._closed_until: float | None = None
        self._closed: set[float] = set()
        self._warned_no_model = False
        self._stop = threading.Event()

    # -- control ---------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to stop after the batch it is writing; safe from a signal handler."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, *, once: bool = False) -> WatchStats:
        """Follow the logs until stopped, or with ``once`` until every complete line is stored; return the counts."""
        logger.info(
            "watching %s: %gs windows, %gs lateness, poll %gs, resuming %d file position(s)",
            ", ".join(str(path) for path in self.follower.paths),
            self.spec.size,
            self.watermark.lateness,
            self.poll,
            len(self.follower.positions),
        )
        self._close_due(backlog=True)
        while not self.stopping:
            worked = self.step()
            if once:
                break
            if not worked:
                self._stop.wait(self.poll)
        logger.info(
            "watch stopped: %d batch(es), %d new flows, %d already stored, %d late, %d window(s) closed",
            self.stats.batches,
            self.stats.new_flows,
            self.stats.known_flows,
            self.stats.late_flows,
            len(self.stats.closed),
        )
        return self.stats

    def step(self) -> bool:
        """Store every complete new line once and close the windows it completes; return whether any line was read."""
        worked = False
        for chunk in self.follower.poll():
            worked = True
            self._store_chunk(chunk)
            self._close_due()
            if self.stopping:
                break
        return worked

    # -- ingest ----------------------------------------------------------------

    def _store_chunk(self, chunk: TailChunk) -> None:
        flows = chunk.flows
        duplicated = flows["flow_id"].duplicated()
        if duplicated.any():
            flows = flows.loc[~duplicated]

        for attempt in range(_WRITE_ATTEMPTS):
            new_ids = self.store.new_flow_ids(flows["flow_id"].tolist()) if len(flows) else set()
            fresh = flows.loc[flows["flow_id"].isin(new_ids)]
            late, late_starts = late_windows(
                fresh["ts"].to_numpy(), size=self.spec.size, step=self.spec.step, closed_until=self._closed_until
            )
            batch = build_batch(fresh, self.spec) if len(fresh) else _empty_batch()
            batch.source_offsets = [_offset(chunk.position)]
            try:
                self.store.upsert_batch(batch)
            except DuplicateFlowError:
                logger.warning("flow ids of %s were stored concurrently; re-checking the chunk (attempt %d)", chunk.position.path, attempt + 1)
                continue
            break
        else:
            raise DuplicateFlowError(len(flows))

        self.stats.batches += 1
        self.stats.lines += chunk.lines
        self.stats.new_flows += len(fresh)
        self.stats.known_flows += len(chunk.flows) - len(fresh)
        # Flows already stored advance the watermark too, since the stored windows contain them.
        self.watermark.observe(chunk.flows["ts"].to_numpy())
        logger.debug(
            "%s: stored lines up to %d (byte %d): %d new flows, %d already stored",
            chunk.position.path,
            chunk.position.line,
            chunk.position.offset,
            len(fresh),
            len(chunk.flows) - len(fresh),
        )

        late_count = int(late.sum())
        if late_count:
            self.stats.late_flows += late_count
            logger.warning(
                "%s: %d late flow(s) for closed window(s) %s; stored, and the window(s) scored again",
                chunk.position.path,
                late_count,
                ", ".join(_format_start(start) for start in late_starts),
            )
            self._score(late_starts, again=True)

    # -- windows ---------------------------------------------------------------

    def _close_due(self, *, backlog: bool = False) -> None:
        """Close and score the windows the watermark has passed since the last call.

        With ``backlog`` every stored window the watermark has passed that has
        no score yet counts as due, as after a restart.
        """
        watermark = self.watermark.value
        if watermark is None:
            return
        if not backlog and self._closed_until is not None and watermark <= self._closed_until:
            return
        # Before the first close every passed window counts as backlog, so windows scored before this run are left as they are.
        backlog = backlog or self._closed_until is None

        since = None if backlog or self._closed_until is None else self._closed_until - self.spec.size
        candidates = self.store.windows(since=since, until=watermark - self.spec.size)
        due = []
        for window in candidates:
            if window.start in self._closed or window.start + self.spec.size > watermark:
                continue
            if backlog and window.status == "scored":
                self._closed.add(window.start)
                continue
            due.append(window.start)
        self._closed_until = watermark if self._closed_until is None else max(self._closed_until, watermark)
        if due:
            self._closed.update(due)
            self.stats.closed.extend(due)
            self._score(due, again=False)

    def _score(self, starts: Sequence[float], *, again: bool) -> None:
        for start in starts:
            began = time.perf_counter()
            results = self.scorer(self.store, [start]) if self.scorer is not None else None
            elapsed = time.perf_counter() - began
            window = self.store.window(start)
            devices = window.devices if window is not None else 0
            edges = window.edges if window is not None else 0
            verb = "re-scored" if again else "closed"
            if not results:
                self._warn_no_model()
                logger.info("window %s %s: %d devices, %d edges, not scored (no model)", _format_start(start), verb, devices, edges)
                continue
            (self.stats.rescored if again else self.stats.scored)[start] += 1
            result = results[0]
            top = "-" if result.max_score is None else f"{result.max_score:.3f} ({result.top_device})"
            logger.info(
                "window %s %s: %d devices, %d edges, top score %s, model %s, %.2f s",
                _format_start(start),
                verb,
                devices,
                edges,
                top,
                result.model_version,
                elapsed,
            )

    def _warn_no_model(self) -> None:
        if self._warned_no_model:
            return
        self._warned_no_model = True
        logger.warning("no model to score with yet; windows are closed without scores until `iotgraph train` saves one")


def _empty_batch() -> IngestBatch:
    return IngestBatch(
        flow_ids=[],
        edges=GraphStore.empty_edges(),
        devices=pd.DataFrame({name: [] for name in DEVICE_COLUMNS}),
        flow_windows=[],
    )


def _offset(position: FilePosition) -> SourceOffset:
    return SourceOffset(
        path=position.path,
        device=position.device,
        inode=position.inode,
        offset=position.offset,
        line=position.line,
        format=position.format,
        header=position.header,
        max_ts=position.max_ts,
        updated_at=time.time(),
    )


def _position(offset: SourceOffset) -> FilePosition:
    return FilePosition(
        path=offset.path,
        device=offset.device,
        inode=offset.inode,
        offset=offset.offset,
        line=offset.line,
        format=offset.format,
        header=offset.header,
        max_ts=offset.max_ts,
    )


def _format_start(start: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
