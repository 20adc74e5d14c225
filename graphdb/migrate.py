"""Copy a device graph from one GraphStore to another, e.g. the embedded SQLite store to Neo4j.

The copy goes through the GraphStore interface only, so any pair of stores
works. It is idempotent: a window already in the target is skipped, devices
and flow ids already there are not added again, and scores and analyst labels
are upserts. Running it twice, or again after an interruption, leaves the
target as one complete run would.

What is copied: the window settings, every window with its edges and
devices, every score with its explanation, analyst labels, and the ingested
flow ids (so the target, too, rejects flows ingested before).

What is not copied:

- the job queue and worker heartbeats, which belong to the running workers
  of the source; drain the queue before migrating;
- per-edge scores, which ``export_window`` does not return;
- the exact flow counts behind a device's ground-truth label: the target
  gets one malicious and one labelled flow for a malicious device (one
  labelled flow for a benign one), which keeps the label.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from graphdb.errors import InvalidRequestError
from graphdb.model import DEVICE_COLUMNS, Device, DeviceScore, IngestBatch, JobStatus, Window, WindowGraph
from graphdb.store import GraphStore

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 10_000

# progress(stage, done, total): stage is "windows", "devices", "scores" or
# "flow_ids"; total is None when the source cannot tell it up front.
Progress = Callable[[str, int, int | None], None]


def migrate(
    source: GraphStore,
    target: GraphStore,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Copy ``source`` into ``target`` and return what was copied and skipped, by kind.

    Each window is written in one transaction of the target; devices, scores
    and flow ids go in batches of ``batch_size``. Raises StoreConfigError when
    the two stores use different window settings, and NotImplementedError
    when the source cannot list its flow ids.
    """
    if batch_size < 1:
        raise InvalidRequestError(f"invalid batch size {batch_size}: it must be at least 1")
    report = progress or _no_progress
    counts: dict[str, int] = defaultdict(int)
    logger.info("migrating %s to %s in batches of %d", source.url, target.url, batch_size)

    spec = source.window_spec()
    if spec is not None:
        target.set_window_spec(spec)

    windows = source.windows()
    _copy_windows(source, target, windows, counts, report)
    _copy_devices(source, target, batch_size, counts, report)
    _copy_scores(source, target, windows, batch_size, counts, report)
    _copy_flow_ids(source, target, batch_size, counts, report)
    _count_skipped_jobs(source, counts)

    logger.info("migrated %s to %s: %s", source.url, target.url, dict(counts))
    return dict(counts)


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


# -- windows, edges and devices ----------------------------------------------


def _copy_windows(
    source: GraphStore, target: GraphStore, windows: Sequence[Window], counts: dict[str, int], report: Progress
) -> None:
    for done, window in enumerate(windows, start=1):
        if target.window(window.start) is not None:
            counts["windows_skipped"] += 1
            report("windows", done, len(windows))
            continue

        graph = source.export_window(window.start)
        devices = _new_devices(source, target, graph.devices["id"].tolist())
        target.upsert_batch(IngestBatch(flow_ids=[], edges=graph.edges, devices=_device_frame(devices, graph), flow_windows=[]))
        counts["windows"] += 1
        counts["edges"] += len(graph.edges)
        counts["devices"] += len(devices)
        report("windows", done, len(windows))


def _copy_devices(source: GraphStore, target: GraphStore, batch_size: int, counts: dict[str, int], report: Progress) -> None:
    """Copy devices that no window names, and every analyst label."""
    done = 0
    for page in _device_pages(source, batch_size):
        ids = [device.id for device in page]
        stored = target.devices_by_id(ids)

        missing = [device for device in page if device.id not in stored]
        if missing:
            target.upsert_batch(IngestBatch(flow_ids=[], edges=target.empty_edges(), devices=_device_frame(missing), flow_windows=[]))
            counts["devices"] += len(missing)

        for device in page:
            if device.analyst_label is not None and not _same_analyst_label(device, stored.get(device.id)):
                target.label_device(
                    device.id,
                    device.analyst_label,
                    note=device.analyst_note,
                    analyst=device.analyst_by or "unknown",
                    at=device.analyst_at or 0.0,
                )
                counts["analyst_labels"] += 1
        done += len(page)
        report("devices", done, None)


def _new_devices(source: GraphStore, target: GraphStore, ids: Sequence[str]) -> list[Device]:
    stored = target.devices_by_id(ids)
    wanted = [device_id for device_id in ids if device_id not in stored]
    found = source.devices_by_id(wanted)
    return [found[device_id] for device_id in wanted if device_id in found]


def _device_frame(devices: Iterable[Device], graph: WindowGraph | None = None) -> pd.DataFrame:
    rows = []
    for device in devices:
        # A device always has first/last_seen once ingested; the window bounds
        # stand in only for a store that left them empty.
        fallback_first = graph.window.start if graph else 0.0
        fallback_last = graph.window.end if graph else fallback_first
        rows.append(
            {
                "id": device.id,
                "ip": device.ip,
                "internal": bool(device.internal),
                "first_seen": device.first_seen if device.first_seen is not None else fallback_first,
                "last_seen": device.last_seen if device.last_seen is not None else fallback_last,
                "malicious_flows": 1 if device.label == "malicious" else 0,
                "labelled_flows": 0 if device.label == "unknown" else 1,
            }
        )
    return pd.DataFrame(rows, columns=list(DEVICE_COLUMNS))


def _same_analyst_label(device: Device, stored: Device | None) -> bool:
    if stored is None:
        return False
    return (stored.analyst_label, stored.analyst_note, stored.analyst_by, stored.analyst_at) == (
        device.analyst_label,
        device.analyst_note,
        device.analyst_by,
        device.analyst_at,
    )


def _device_pages(store: GraphStore, batch_size: int) -> Iterable[list[Device]]:
    after: str | None = None
    while True:
        page = store.list_devices(after=after, limit=batch_size)
        if not page:
            return
        yield page
        after = page[-1].id


# -- scores ---------------------------------------------------------------------


def _copy_scores(
    source: GraphStore,
    target: GraphStore,
    windows: Sequence[Window],
    batch_size: int,
    counts: dict[str, int],
    report: Progress,
) -> None:
    """Copy every score, then restore which score is each device's latest and which model scored each window.

    write_scores moves a device's latest-score properties and a window's
    model version to whatever it writes last, so the scores that the source
    marks as current are written again at the end.
    """
    done = 0
    for page in _device_pages(source, batch_size):
        groups: dict[tuple[float, str], list[DeviceScore]] = defaultdict(list)
        for device in page:
            for score in source.score_history(device.id):
                groups[(score.window_start, score.model_version)].append(score)
        for (window_start, model_version), scores in sorted(groups.items()):
            _write(target, window_start, scores, model_version)
            counts["scores"] += len(scores)

        current = source.scores_for([device.id for device in page if device.anomaly_window is not None])
        for score in sorted(current.values(), key=lambda s: (s.window_start, s.scored_at or 0.0)):
            _write(target, score.window_start, [score], score.model_version)
        done += len(page)
        report("scores", done, None)

    for window in windows:
        if window.status == "scored" and window.model_version is not None:
            target.write_scores(window.start, [], window.model_version, scored_at=window.scored_at or 0.0)


def _write(target: GraphStore, window_start: float, scores: list[DeviceScore], model_version: str) -> None:
    scored_at = max((score.scored_at or 0.0) for score in scores)
    target.write_scores(window_start, scores, model_version, scored_at=scored_at)


# -- flow ids and jobs ---------------------------------------------------------


def _copy_flow_ids(source: GraphStore, target: GraphStore, batch_size: int, counts: dict[str, int], report: Progress) -> None:
    done = 0
    for batch in source.iter_flow_ids(batch_size=batch_size):
        new = target.new_flow_ids([flow_id for flow_id, _ in batch])
        rows = [(flow_id, window) for flow_id, window in batch if flow_id in new]
        if rows:
            target.upsert_batch(
                IngestBatch(
                    flow_ids=[flow_id for flow_id, _ in rows],
                    edges=target.empty_edges(),
                    devices=pd.DataFrame(columns=list(DEVICE_COLUMNS)),
                    flow_windows=[window for _, window in rows],
                )
            )
        counts["flow_ids"] += len(rows)
        counts["flow_ids_skipped"] += len(batch) - len(rows)
        done += len(batch)
        report("flow_ids", done, None)


def _count_skipped_jobs(source: GraphStore, counts: dict[str, int]) -> None:
    waiting = len(source.jobs(JobStatus.QUEUED.value, limit=1_000_000)) + len(source.jobs(JobStatus.RUNNING.value, limit=1_000_000))
    counts["jobs_skipped"] = waiting
    if waiting:
        logger.warning("%d queued or running job(s) in %s were not migrated; enqueue them again on the target", waiting, source.url)
