"""Ingest pipeline: flow files -> windows -> aggregated edges -> a GraphStore.

Each chunk a reader yields becomes one ``IngestBatch`` written in one
transaction. Flow ids the store has already seen are dropped before
aggregation, so ingesting a file twice, or a file and a copy of part of it,
changes no count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from graphdb.errors import DuplicateFlowError
from ingest.readers.base import FlowFormatError
from graphdb.model import IngestBatch, WindowSpec
from graphdb.store import GraphStore

if TYPE_CHECKING:
    from ingest.pseudonym import PseudonymisedFlows, Pseudonymiser
    from ingest.readers import ReadReport
from ingest.aggregate import aggregate_devices, aggregate_edges
from ingest.windows import assign_windows, check_window, parse_duration

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = "5m"


@dataclass
class FileResult:
    """One file's contribution: its reader's line accounting and the flows that were new."""

    report: "ReadReport"
    new_flows: int = 0
    known_flows: int = 0
    duplicate_ids_in_file: int = 0


@dataclass
class LoadResult:
    spec: WindowSpec
    files: list[FileResult] = field(default_factory=list)

    @property
    def new_flows(self) -> int:
        return sum(f.new_flows for f in self.files)

    @property
    def known_flows(self) -> int:
        return sum(f.known_flows for f in self.files)


def resolve_window_spec(store: GraphStore, window: str | float | None, step: str | float | None) -> WindowSpec:
    """Return the window settings to use: the stored ones, or the requested ones for a new store."""
    stored = store.window_spec()
    if window is None and step is None and stored is not None:
        return stored
    if window is not None:
        size = parse_duration(window)
    elif stored is not None:
        size = stored.size
    else:
        size = parse_duration(DEFAULT_WINDOW)
    step_seconds = parse_duration(step) if step is not None else size
    check_window(size, step_seconds)
    spec = WindowSpec(size=size, step=step_seconds)
    store.set_window_spec(spec)
    return spec


def load_files(
    store: GraphStore,
    paths: list[str | Path],
    *,
    format: str | None = None,
    mapping=None,
    window: str | float | None = None,
    step: str | float | None = None,
    chunk_rows: int = 100_000,
    progress: bool = False,
    netflow_start: float = 0.0,
    netflow_rate: float | None = None,
    pseudonymiser: Pseudonymiser | None = None,
) -> LoadResult:
    """Read every file and merge its flows into the store; return per-file accounting.

    With a ``pseudonymiser`` each chunk's addresses and flow ids are replaced
    as soon as it is read, the mapping back goes to the store's admin-only
    pseudonym table, and skipped lines are reported without their text.
    Raises StoreConfigError when the store already contains the other kind
    of device ids (real addresses, or pseudonyms of another key). Raises
    FlowFormatError when a file is rejected, and its message then states how
    many flows were stored before the problem.
    """
    from ingest.readers import open_flows

    store.set_pseudonym_key_id(None if pseudonymiser is None else pseudonymiser.key_id)
    spec = resolve_window_spec(store, window, step)
    result = LoadResult(spec=spec)
    for path in paths:
        reader = open_flows(
            path,
            format=format,
            mapping=mapping,
            chunk_rows=chunk_rows,
            progress=progress,
            netflow_start=netflow_start,
            netflow_rate=netflow_rate,
        )
        reader.report.redact_text = pseudonymiser is not None
        file_result = FileResult(report=reader.report)
        try:
            for chunk in reader:
                pseudonymised = None if pseudonymiser is None else pseudonymiser.apply(chunk)
                _load_chunk(store, chunk if pseudonymised is None else pseudonymised.flows, spec, file_result, pseudonymised)
        except FlowFormatError as error:
            if not file_result.new_flows:
                raise
            raise FlowFormatError(
                f"{error}; the {file_result.new_flows} flow(s) read before the problem were stored, "
                "and ingesting the repaired file adds only the rest"
            ) from error
        result.files.append(file_result)
        logger.info(
            "ingested %s (%s): %s; %d new flows, %d already stored",
            path,
            reader.format,
            reader.report.summary(),
            file_result.new_flows,
            file_result.known_flows,
        )
    return result


def _load_chunk(
    store: GraphStore,
    flows: pd.DataFrame,
    spec: WindowSpec,
    file_result: FileResult,
    pseudonymised: PseudonymisedFlows | None = None,
) -> None:
    if flows.empty:
        return

    # Zeek can log one uid twice (a connection split across log rotation);
    # the first record wins so that the flow counts once.
    duplicated = flows["flow_id"].duplicated()
    if duplicated.any():
        file_result.duplicate_ids_in_file += int(duplicated.sum())
        flows = flows.loc[~duplicated]

    # Another writer may store some of these ids between the check and the
    # write; the store then rejects the batch whole, and one re-check suffices.
    for attempt in range(3):
        new_ids = store.new_flow_ids(flows["flow_id"].tolist())
        fresh = flows.loc[flows["flow_id"].isin(new_ids)]
        file_result_known = len(flows) - len(fresh)
        if fresh.empty:
            file_result.known_flows += file_result_known
            return
        batch = build_batch(fresh, spec)
        if pseudonymised is not None:
            from ingest.pseudonym import classify_devices

            batch.devices = classify_devices(batch.devices, pseudonymised)
            # The mapping is committed before the batch: a crash in between leaves
            # an unused mapping row, never a stored pseudonym without one.
            store.add_pseudonyms(pseudonymised.rows_for(set(batch.devices["id"])))
        try:
            store.upsert_batch(batch)
        except DuplicateFlowError:
            logger.warning("flow ids were stored concurrently; re-checking the chunk (attempt %d)", attempt + 1)
            continue
        file_result.known_flows += file_result_known
        file_result.new_flows += len(fresh)
        return
    raise DuplicateFlowError(len(flows))


def build_batch(flows: pd.DataFrame, spec: WindowSpec) -> IngestBatch:
    """Aggregate new flows into one batch of edges and devices."""
    windowed = assign_windows(flows, size=spec.size, step=spec.step)
    # JSON histograms: what the stores write, without one encoding call per edge in the store.
    edges = aggregate_edges(windowed, size=spec.size, histograms_as_json=True)
    devices = aggregate_devices(flows)
    last_window = (np.floor(flows["ts"].to_numpy(dtype=np.float64) / spec.step) * spec.step).tolist()
    return IngestBatch(flow_ids=flows["flow_id"].astype(str).tolist(), edges=edges, devices=devices, flow_windows=last_window)
