"""The watch loop against a SQLite store: windows close once, late flows, rotation and restarts."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphdb import GraphStore, open_store
from graphdb.load import load_files
from graphdb.model import WindowSpec
from graphdb.watch import Watcher
from tests.watch.support import HEADER, T0, T1, T2, WINDOW, RecordingScorer, append, tsv_line

SPEC = WindowSpec(size=WINDOW, step=WINDOW)
CAMERA, PLUG, GATEWAY = "192.168.1.10", "192.168.1.11", "192.168.1.1"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[GraphStore]:
    opened = open_store(sqlite_url)
    opened.set_window_spec(SPEC)
    yield opened
    opened.close()


def watch_once(store: GraphStore, paths: list[Path], scorer: RecordingScorer | None) -> Watcher:
    watcher = Watcher(store, paths, spec=SPEC, lateness=30.0, scorer=scorer)
    watcher.run(once=True)
    return watcher


def grow_log(tmp_path: Path, store: GraphStore) -> dict:
    """Grow a log step by step, running the watch once after each step, and record what each run saw."""
    log = tmp_path / "conn.log"
    scorer = RecordingScorer()
    runs = {}

    log.write_text(HEADER)
    runs["header"] = watch_once(store, [log], scorer)

    append(log, tsv_line(T0 + 10, "w1a", CAMERA, GATEWAY) + tsv_line(T0 + 20, "w1b", PLUG, GATEWAY) + tsv_line(T0 + 100, "w1c", CAMERA, PLUG))
    runs["window1"] = watch_once(store, [log], scorer)

    # The watermark T1 + 40 s minus 30 s of lateness passes T1, where window 1 ends.
    append(log, tsv_line(T1 + 40, "w2a", CAMERA, GATEWAY))
    runs["window2"] = watch_once(store, [log], scorer)

    append(log, tsv_line(T0 + 200, "late", PLUG, CAMERA))
    runs["late"] = watch_once(store, [log], scorer)

    # Rotation: the writer adds one last window-2 line to the renamed file,
    # then starts a new log whose flow closes window 2.
    os.rename(log, tmp_path / "conn.log.1")
    append(tmp_path / "conn.log.1", tsv_line(T1 + 60, "w2b", PLUG, GATEWAY))
    log.write_text(HEADER + tsv_line(T2 + 50, "w3a", CAMERA, GATEWAY))
    runs["rotated"] = watch_once(store, [log], scorer)

    return {"log": log, "scorer": scorer, "runs": runs, "store": store}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The grown log, shared by the tests that only read what the runs and the store hold."""
    folder = tmp_path_factory.mktemp("scenario")
    opened = open_store(f"sqlite:///{folder / 'store.db'}")
    opened.set_window_spec(SPEC)
    yield grow_log(folder, opened)
    opened.close()


def test_header_alone_closes_nothing(scenario: dict) -> None:
    assert scenario["runs"]["header"].stats.closed == []


def test_window_open_until_watermark(scenario: dict) -> None:
    assert scenario["runs"]["window1"].stats.closed == []


def test_window1_closed_by_window2_flow(scenario: dict) -> None:
    assert scenario["runs"]["window2"].stats.closed == [T0]


def test_scorer_calls_in_order(scenario: dict) -> None:
    # Window 1 on close, window 1 again after the late flow, window 2 on close.
    assert scenario["scorer"].calls == [T0, T0, T1]


def test_window1_scored_once_on_close(scenario: dict) -> None:
    assert scenario["runs"]["window2"].stats.scored == {T0: 1}


def test_window2_scored_once_on_close(scenario: dict) -> None:
    assert scenario["runs"]["rotated"].stats.scored == {T1: 1}


def test_window1_counts_at_close(store: GraphStore, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 10, "a", CAMERA, GATEWAY) + tsv_line(T0 + 20, "b", PLUG, GATEWAY))
    append(log, tsv_line(T1 + 40, "c", CAMERA, GATEWAY))
    counts = {}

    def scorer(opened: GraphStore, starts: list[float]) -> None:
        counts.update({start: opened.window(start).flows for start in starts})

    Watcher(store, [log], spec=SPEC, lateness=30.0, scorer=scorer).run(once=True)

    assert counts == {T0: 2}


def test_late_flow_counted(scenario: dict) -> None:
    assert scenario["runs"]["late"].stats.late_flows == 1


def test_late_flow_rescores_window(scenario: dict) -> None:
    assert scenario["runs"]["late"].stats.rescored == {T0: 1}


def test_late_flow_stored(scenario: dict) -> None:
    store = scenario["store"]
    assert store.window(T0).flows == 4


def test_rotated_file_rest_read(scenario: dict) -> None:
    store = scenario["store"]
    assert store.window(T1).flows == 2


def test_new_log_after_rotation_read(scenario: dict) -> None:
    store = scenario["store"]
    assert store.window(T2).flows == 1


def test_window1_sizes_after_late_flow(scenario: dict) -> None:
    store = scenario["store"]
    window = store.window(T0)

    assert (window.devices, window.edges) == (3, 4)


def test_restart_counts_nothing_twice(tmp_path: Path, store: GraphStore) -> None:
    grown = grow_log(tmp_path, store)
    before = store.counts()
    restarted = watch_once(store, [grown["log"]], grown["scorer"])

    assert restarted.stats.new_flows == 0
    assert restarted.stats.known_flows == 0
    assert store.counts() == before


def test_restart_scores_nothing_again(tmp_path: Path, store: GraphStore) -> None:
    grown = grow_log(tmp_path, store)
    calls = len(grown["scorer"].calls)
    watch_once(store, [grown["log"]], grown["scorer"])

    assert len(grown["scorer"].calls) == calls


def test_restart_resumes_new_lines(tmp_path: Path, store: GraphStore) -> None:
    grown = grow_log(tmp_path, store)
    append(grown["log"], tsv_line(T2 + 90, "w3b", PLUG, GATEWAY))
    restarted = watch_once(store, [grown["log"]], grown["scorer"])

    assert restarted.stats.new_flows == 1
    assert store.window(T2).flows == 2


def test_restart_closes_unscored_backlog(store: GraphStore, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 10, "a") + tsv_line(T1 + 40, "b"))
    watch_once(store, [log], None)
    scorer = RecordingScorer()
    watch_once(store, [log], scorer)

    assert scorer.calls == [T0]


def test_no_model_closes_unscored(store: GraphStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 10, "a") + tsv_line(T1 + 10, "b") + tsv_line(T2 + 40, "c"))
    caplog.set_level(logging.INFO, logger="graphdb.watch")
    watcher = watch_once(store, [log], None)

    assert watcher.stats.closed == [T0, T1]
    assert store.window(T0).status == "open"
    assert caplog.text.count("no model to score with yet") == 1


def test_window_logged_with_sizes(store: GraphStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 10, "a", CAMERA, GATEWAY) + tsv_line(T1 + 40, "b"))
    caplog.set_level(logging.INFO, logger="graphdb.watch")
    watch_once(store, [log], RecordingScorer())

    assert "window 2023-11-14T22:10:00Z closed: 2 devices, 1 edges, top score 0.500" in caplog.text


def test_offsets_stored_with_batch(scenario: dict) -> None:
    store = scenario["store"]
    offset = store.source_offsets()[str(scenario["log"])]

    assert offset.offset == scenario["log"].stat().st_size
    assert offset.inode == scenario["log"].stat().st_ino


def test_stop_ends_run(store: GraphStore, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER)
    watcher = Watcher(store, [log], spec=SPEC, lateness=0.0, poll=0.01)
    watcher.stop()

    assert watcher.run().batches == 0


def test_invalid_poll_rejected(store: GraphStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid poll interval 0s"):
        Watcher(store, [tmp_path], spec=SPEC, poll=0)


def test_scored_windows_left_alone(store: GraphStore, tmp_path: Path) -> None:
    # Windows ingested and scored without watch, so the store has no read positions.
    ingested = tmp_path / "ingested.log"
    ingested.write_text(HEADER + tsv_line(T0 + 10, "a"))
    load_files(store, [ingested])
    RecordingScorer()(store, [T0])
    later = tmp_path / "later.log"
    later.write_text(HEADER + tsv_line(T1 + 10, "b") + tsv_line(T2 + 40, "c"))
    scorer = RecordingScorer()
    watch_once(store, [later], scorer)

    assert scorer.calls == [T1]
