"""The public reader API: open_flows options, chunking, gzip, the read report."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

import ingest.readers
from ingest.readers import FORMATS, BadLine, FlowFormatError, FlowReader, ReadReport, open_flows
from ingest.record import FLOW_COLUMNS, FLOW_DTYPES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"
IOT23 = FIXTURES / "zeek" / "iot23_labeled.log"
ZEEK_HEADER = (
    "#separator \\x09\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n"
)


def test_exports_sorted_and_complete() -> None:
    assert ingest.readers.__all__ == sorted(ingest.readers.__all__)
    for name in ingest.readers.__all__:
        assert hasattr(ingest.readers, name)


def test_formats_list() -> None:
    assert FORMATS == ("zeek", "zeek-csv", "zeek-json", "netflow", "argus", "nfdump", "csv")


def test_reader_attributes() -> None:
    reader = open_flows(str(IOT23))
    assert isinstance(reader, FlowReader)
    assert reader.path == IOT23
    assert reader.format == "zeek"
    assert isinstance(reader.report, ReadReport)


def test_frames_have_flow_dtypes() -> None:
    frames = list(open_flows(IOT23))
    assert len(frames) == 1
    assert tuple(frames[0].columns) == FLOW_COLUMNS
    assert {name: str(dtype) for name, dtype in frames[0].dtypes.items()} == FLOW_DTYPES


def test_chunk_rows_bounds_frames() -> None:
    reader = open_flows(IOT23, chunk_rows=3)
    frames = list(reader)
    assert [len(frame) for frame in frames] == [1, 3]
    whole = open_flows(IOT23).read_all()
    pd.testing.assert_frame_equal(pd.concat(frames, ignore_index=True), whole)
    assert reader.report.lines_read == 13
    assert reader.report.accounted()


def test_gzip_input_matches_plain(tmp_path: Path) -> None:
    packed = tmp_path / "conn.log.gz"
    with open(IOT23, "rb") as source, gzip.open(packed, "wb") as target:
        shutil.copyfileobj(source, target)
    plain = open_flows(IOT23).read_all()
    reader = open_flows(packed)
    assert reader.format == "zeek"
    pd.testing.assert_frame_equal(reader.read_all(), plain)


def test_gzip_detected_by_magic_not_name(tmp_path: Path) -> None:
    packed = tmp_path / "conn.log"
    packed.write_bytes(gzip.compress(IOT23.read_bytes()))
    assert len(open_flows(packed).read_all()) == 4


def test_truncated_gzip_rejected(tmp_path: Path) -> None:
    packed = tmp_path / "conn.log.gz"
    packed.write_bytes(gzip.compress(IOT23.read_bytes() * 50)[:-40])
    with pytest.raises(FlowFormatError, match="cannot decompress the gzip data"):
        open_flows(packed).read_all()


def test_gzip_truncated_after_head(tmp_path: Path) -> None:
    # Distinct uids keep the compressed data larger than the 64 KiB read for detection.
    rows = [f"{1600000000 + i}.0\tC{i:08x}{i * 7919 % 100003:06d}\t192.0.2.1\t{i % 60000}\t192.0.2.2\t80\ttcp" for i in range(40_000)]
    packed = tmp_path / "conn.log.gz"
    packed.write_bytes(gzip.compress((ZEEK_HEADER + "\n".join(rows) + "\n").encode())[:-2000])
    reader = open_flows(packed, chunk_rows=1000)
    with pytest.raises(FlowFormatError, match="cannot decompress the gzip data"):
        reader.read_all()


def test_progress_bar_keeps_results(capsys: pytest.CaptureFixture[str]) -> None:
    frame = open_flows(IOT23, progress=True).read_all()
    assert len(frame) == 4
    assert "iot23_labeled.log" in capsys.readouterr().err


def test_reiteration_restarts_same_report() -> None:
    reader = open_flows(FIXTURES / "bad" / "truncated.log")
    report = reader.report
    first = reader.read_all()
    second = reader.read_all()
    assert reader.report is report
    assert report.flows == 3
    assert report.skipped == 1
    assert report.lines_read == 12
    assert len(first) == len(second)


def test_summary_line() -> None:
    reader = open_flows(FIXTURES / "bad" / "truncated.log")
    reader.read_all()
    assert reader.report.summary() == (
        "read 12 lines: 3 flows, 1 skipped (too few fields (expected 21): 1), 8 header/comment"
    )


def test_summary_without_skips() -> None:
    reader = open_flows(IOT23)
    reader.read_all()
    assert reader.report.summary() == "read 13 lines: 4 flows, 0 skipped, 9 header/comment"


def test_accounted_detects_mismatch() -> None:
    report = ReadReport(path="x", format="zeek", lines_read=10, flows=5, header_lines=2, skipped=2)
    assert not report.accounted()


def test_bad_line_numbers_across_chunks(tmp_path: Path) -> None:
    rows = [f"{1600000000 + i}.0\tC{i}\t192.0.2.1\t{1000 + i}\t192.0.2.2\t80\ttcp" for i in range(12)]
    rows[7] = rows[7].replace("\t80\t", "\t99999\t")
    path = tmp_path / "conn.log"
    path.write_text(ZEEK_HEADER + "\n".join(rows) + "\n")
    reader = open_flows(path, chunk_rows=4)
    frame = reader.read_all()
    assert len(frame) == 11
    assert reader.report.examples == [
        BadLine(line=11, reason="port out of range 0..65535 in id.resp_p", text=rows[7]),
    ]


def test_examples_capped_at_twenty(tmp_path: Path) -> None:
    rows = [f"1600000000.0\tC{i}\t192.0.2.1\t1\t192.0.2.2" for i in range(30)]
    path = tmp_path / "conn.log"
    path.write_text(ZEEK_HEADER + "\n".join(rows) + "\n")
    reader = open_flows(path)
    reader.read_all()
    assert reader.report.skipped == 30
    assert reader.report.skipped_by_reason == {"too few fields (expected 7)": 30}
    assert len(reader.report.examples) == 20
    assert reader.report.examples[0].line == 4


def test_example_text_first_80_chars(tmp_path: Path) -> None:
    row = "1600000000.0\tC1\t192.0.2.1\t1\t192.0.2.2\t80\ttcp\t" + "x" * 100
    path = tmp_path / "conn.log"
    path.write_text(ZEEK_HEADER + row + "\n")
    reader = open_flows(path)
    reader.read_all()
    assert reader.report.examples[0].text == row[:80]


def test_first_bad_lines_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="ingest.readers"):
        open_flows(FIXTURES / "bad" / "truncated.log").read_all()
    messages = [record.getMessage() for record in caplog.records]
    assert any("line 11 skipped: too few fields (expected 21)" in message for message in messages)


def test_read_all_empty_frame_for_header_only() -> None:
    frame = open_flows(FIXTURES / "bad" / "header_only.log").read_all()
    assert frame.empty
    assert tuple(frame.columns) == FLOW_COLUMNS


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "pcap"}, "unknown format 'pcap'"),
        ({"chunk_rows": 0}, "chunk_rows must be at least 1"),
        ({"netflow_rate": 0.0}, "netflow_rate must be a positive number"),
        ({"netflow_rate": float("nan")}, "netflow_rate must be a positive number"),
        ({"netflow_start": float("inf")}, "netflow_start must be a finite number"),
    ],
)
def test_open_flows_rejects_options(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_flows(IOT23, **options)


def test_mapping_with_other_format_rejected() -> None:
    from ingest.mapping import ColumnMapping

    mapping = ColumnMapping.from_pairs("ts=ts,src=id.orig_h,dst=id.resp_h")
    with pytest.raises(ValueError, match="csv format only"):
        open_flows(IOT23, format="zeek", mapping=mapping)


def test_csv_format_needs_mapping() -> None:
    with pytest.raises(FlowFormatError, match="needs a column mapping"):
        open_flows(FIXTURES / "csv" / "enterprise.csv", format="csv")


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        open_flows(FIXTURES / "absent.log")


def test_directory_rejected() -> None:
    with pytest.raises(FlowFormatError, match="is a directory"):
        open_flows(FIXTURES)
