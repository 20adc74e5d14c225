"""Following growing logs: complete lines only, header state, rotation, truncation, folders, JSON and gzip."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from ingest.tail import FilePosition, LogFollower, header_from_state, header_state
from ingest.readers.zeek import ZeekHeader
from tests.watch.support import HEADER, T0, append, json_line, tsv_line


def read(follower: LogFollower) -> list[str]:
    """Return the flow ids of every chunk one poll yields."""
    return [uid for chunk in follower.poll() for uid in chunk.flows["flow_id"].tolist()]


def test_partial_line_waits(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    whole = tsv_line(T0 + 1, "a1")
    second = tsv_line(T0 + 2, "a2")
    log.write_text(HEADER + whole + second[:10])
    follower = LogFollower([log])

    assert read(follower) == ["a1"]
    assert follower.positions[str(log)].offset == len(HEADER) + len(whole)
    append(log, second[10:])
    assert read(follower) == ["a2"]


def test_nothing_new_yields_nothing(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 1, "a1"))
    follower = LogFollower([log])
    read(follower)

    assert list(follower.poll()) == []


def test_position_counts_lines(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 1, "a1") + tsv_line(T0 + 7, "a2"))
    follower = LogFollower([log])
    read(follower)
    position = follower.positions[str(log)]

    assert position.line == 7
    assert position.max_ts == T0 + 7
    assert position.format == "zeek"


def test_header_state_round_trip() -> None:
    header = ZeekHeader()
    header.apply(b"#fields\tts\tuid\tid.orig_h\tid.resp_h\tfoo", path=Path("conn.log"), number=1)
    rebuilt = header_from_state(header_state(header))

    assert rebuilt.fields == header.fields
    assert rebuilt.positions == header.positions
    assert rebuilt.separator == b"\t"


def test_resume_uses_stored_header(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 1, "a1"))
    first = LogFollower([log])
    read(first)
    append(log, tsv_line(T0 + 2, "a2"))

    again = LogFollower([log], positions=dict(first.positions))
    assert read(again) == ["a2"]


def test_rename_rotation_reads_old_rest(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 1, "a1"))
    follower = LogFollower([log])
    read(follower)

    rotated = tmp_path / "conn.log.1"
    os.rename(log, rotated)
    append(rotated, tsv_line(T0 + 2, "a2"))
    log.write_text(HEADER + tsv_line(T0 + 3, "b1"))

    assert read(follower) == ["a2", "b1"]


def test_rotation_after_restart(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 1, "a1"))
    first = LogFollower([log])
    read(first)
    stored = dict(first.positions)

    rotated = tmp_path / "conn.log.1"
    os.rename(log, rotated)
    append(rotated, tsv_line(T0 + 2, "a2"))
    log.write_text(HEADER + tsv_line(T0 + 3, "b1"))

    assert read(LogFollower([log], positions=stored)) == ["a2", "b1"]


def test_truncation_rereads(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 1, "a1") + tsv_line(T0 + 2, "a2"))
    follower = LogFollower([log])
    read(follower)

    with open(log, "r+", encoding="ascii") as handle:
        handle.truncate(0)
    log.write_text(HEADER + tsv_line(T0 + 3, "b1"))

    assert read(follower) == ["b1"]


def test_folder_oldest_first(tmp_path: Path) -> None:
    older = tmp_path / "conn.10.log"
    newer = tmp_path / "conn.09.log"
    older.write_text(HEADER + tsv_line(T0 + 1, "a1"))
    newer.write_text(HEADER + tsv_line(T0 + 2, "b1"))
    os.utime(older, ns=(1_000_000_000, 1_000_000_000))
    os.utime(newer, ns=(2_000_000_000, 2_000_000_000))
    (tmp_path / "dns.log").write_text(HEADER)

    assert read(LogFollower([tmp_path])) == ["a1", "b1"]


def test_folder_picks_up_new_file(tmp_path: Path) -> None:
    (tmp_path / "conn.00.log").write_text(HEADER + tsv_line(T0 + 1, "a1"))
    follower = LogFollower([tmp_path])
    read(follower)
    (tmp_path / "conn.01.log").write_text(HEADER + tsv_line(T0 + 2, "b1"))

    assert read(follower) == ["b1"]


def test_folder_rename_keeps_offset(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(HEADER + tsv_line(T0 + 1, "a1"))
    follower = LogFollower([tmp_path])
    read(follower)

    os.rename(log, tmp_path / "conn.2023-11-14-22.log")
    log.write_text(HEADER + tsv_line(T0 + 2, "b1"))

    assert read(follower) == ["b1"]


def test_json_log(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(json_line(T0 + 1, "j1") + json_line(T0 + 2, "j2"))
    follower = LogFollower([log])

    assert read(follower) == ["j1", "j2"]
    assert follower.positions[str(log)].header is None


def test_json_bad_line_counted(tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text(json_line(T0 + 1, "j1") + "{not json\n")
    follower = LogFollower([log])
    read(follower)

    assert follower.reports[str(log)].skipped == 1


def test_gzip_read_once(tmp_path: Path) -> None:
    archive = tmp_path / "conn.00.log.gz"
    with gzip.open(archive, "wt", encoding="ascii") as handle:
        handle.write(HEADER + tsv_line(T0 + 1, "g1"))
    follower = LogFollower([tmp_path])

    assert read(follower) == ["g1"]
    assert read(follower) == []


def test_other_format_rejected(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "conn.log"
    log.write_text("StartTime,SrcAddr,DstAddr\n")
    follower = LogFollower([log])

    assert read(follower) == []
    assert "neither a Zeek TSV header" in caplog.text


def test_position_defaults() -> None:
    position = FilePosition(path="conn.log", device=1, inode=2)

    assert (position.offset, position.line, position.format) == (0, 0, "")
