"""Regression tests of the reader defects the corpus and the fuzzer found, one per defect.

Each names the old behaviour in its docstring and checks the fixed one with
the value the input holds.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from tests.robustness.support import ZEEK_HEADER, zeek_line

from graphdb import open_store
from graphdb.load import load_files
from ingest.readers import FlowFormatError, open_flows

NFDUMP_HEADER = "Date first seen          Duration Proto      Src IP Addr:Port          Dst IP Addr:Port   Packets    Bytes Flows\n"


def zeek_file(tmp_path: Path, *lines: str, name: str = "conn.log") -> Path:
    path = tmp_path / name
    path.write_text(ZEEK_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def read(path: Path, **options):
    reader = open_flows(path, **options)
    flows = reader.read_all()
    return flows, {bad.line: bad.reason for bad in reader.report.examples}


def test_count_beyond_int64_skipped(tmp_path: Path) -> None:
    """99999999999999999999 bytes wrapped to -9223372036854775808."""
    path = zeek_file(tmp_path, zeek_line(1_700_000_000.0, "C1", "10.0.0.1", "10.0.0.2", port=80, out=99999999999999999999))
    flows, skipped = read(path)
    assert flows.empty
    assert skipped == {7: "count too large in orig_bytes (2^53 or more)"}


def test_count_above_2p53_skipped(tmp_path: Path) -> None:
    """9007199254740993 bytes were stored as 9007199254740992."""
    path = zeek_file(tmp_path, zeek_line(1_700_000_000.0, "C1", "10.0.0.1", "10.0.0.2", port=80, back=2**53 + 1))
    flows, skipped = read(path)
    assert flows.empty
    assert skipped == {7: "count too large in resp_bytes (2^53 or more)"}


def test_count_below_2p53_exact(tmp_path: Path) -> None:
    path = zeek_file(tmp_path, zeek_line(1_700_000_000.0, "C1", "10.0.0.1", "10.0.0.2", port=80, out=2**53 - 1))
    flows, _ = read(path)
    assert int(flows.loc[0, "bytes_out"]) == 9_007_199_254_740_991


def test_netflow_huge_count_skipped(tmp_path: Path) -> None:
    """A 20-digit IN_BYTES wrapped to a negative count."""
    path = tmp_path / "nf.csv"
    path.write_text(
        "IPV4_SRC_ADDR,L4_SRC_PORT,IPV4_DST_ADDR,L4_DST_PORT,PROTOCOL,IN_BYTES,IN_PKTS,OUT_BYTES,OUT_PKTS,FLOW_DURATION_MILLISECONDS\n"
        "10.0.0.1,1000,10.0.0.2,80,6,99999999999999999999,1,0,0,0\n"
        "10.0.0.1,1001,10.0.0.2,80,6,280,2,40,1,0\n"
    )
    flows, skipped = read(path)
    assert list(flows["bytes_out"]) == [280]
    assert skipped == {2: "count too large in IN_BYTES (2^53 or more)"}


def test_nfdump_huge_count_skipped(tmp_path: Path) -> None:
    """A 20-digit nfdump byte count raised OverflowError out of the reader."""
    path = tmp_path / "nfdump.txt"
    path.write_text(
        NFDUMP_HEADER
        + "2023-11-14 22:13:20.005     0.548 TCP         10.0.0.151:49161 ->       10.0.0.150:3128        5      99999999999999999999     1\n"
        + "2023-11-14 22:13:21.005     0.548 TCP         10.0.0.151:49162 ->       10.0.0.150:3128        5      333     1\n"
    )
    flows, skipped = read(path)
    assert list(flows["bytes_out"]) == [333]
    assert skipped == {2: "count too large in Bytes (2^53 or more)"}


@pytest.mark.parametrize(
    ("ts", "case"),
    [(1e300, "far future"), (1_700_000_000_000.0, "milliseconds"), (-1.0, "before 1970"), (253_402_300_800.0, "year 10000")],
)
def test_timestamp_out_of_range_skipped(tmp_path: Path, ts: float, case: str) -> None:
    """Such timestamps were stored, and `iotgraph windows` then failed formatting them."""
    path = zeek_file(tmp_path, zeek_line(ts, "C1", "10.0.0.1", "10.0.0.2", port=80))
    flows, skipped = read(path)
    assert flows.empty, case
    assert skipped == {7: "timestamp out of range (expected epoch seconds from 1970 to 9999)"}


def test_nul_in_address_skipped(tmp_path: Path) -> None:
    """An address with a NUL byte became a device id the API rejects as a control character."""
    path = zeek_file(tmp_path, zeek_line(1_700_000_000.0, "C1", "10.0.0.1\x00x", "10.0.0.2", port=80))
    flows, skipped = read(path)
    assert flows.empty
    assert skipped == {7: "control character in source address"}


def test_padded_address_stripped(tmp_path: Path) -> None:
    """' 10.0.0.1 ' became a device of its own, classified internal as a non-IP name."""
    path = zeek_file(tmp_path, zeek_line(1_700_000_000.0, "C1", " 10.0.0.1 ", "8.8.8.8", port=53))
    flows, _ = read(path)
    assert flows.loc[0, "src"] == "10.0.0.1"


def test_whitespace_address_missing(tmp_path: Path) -> None:
    """Found by the fuzzer: a carriage return alone as an address became an empty device id after stripping."""
    path = tmp_path / "mapped.csv"
    path.write_text("Time,SrcDevice,DstDevice\n1700000000,\r,server\n1700000001,camera,server\n")
    flows, skipped = read(path, format="csv", mapping=_mapping())
    assert list(flows["src"]) == ["camera"]
    assert skipped == {2: "missing source address"}


def test_ipv6_upper_case_canonical(tmp_path: Path) -> None:
    """2001:DB8:0:0:0:0:0:1 and 2001:db8::1 were two devices."""
    path = zeek_file(
        tmp_path,
        zeek_line(1_700_000_000.0, "C1", "2001:DB8:0:0:0:0:0:1", "2001:db8::2", port=443),
        zeek_line(1_700_000_001.0, "C2", "2001:db8::1", "2001:db8::2", port=443),
    )
    flows, _ = read(path)
    assert set(flows["src"]) == {"2001:db8::1"}


def test_ipv4_mapped_stays_dotted(tmp_path: Path) -> None:
    path = zeek_file(tmp_path, zeek_line(1_700_000_000.0, "C1", "::FFFF:192.168.1.20", "192.168.1.1", port=53))
    flows, _ = read(path)
    assert flows.loc[0, "src"] == "::ffff:192.168.1.20"


def test_long_text_skipped(tmp_path: Path) -> None:
    """A 1 MiB service value went into the store's histograms."""
    line = zeek_line(1_700_000_000.0, "C1", "10.0.0.1", "10.0.0.2", port=80).split("\t")
    line[7] = "x" * 2000
    path = zeek_file(tmp_path, "\t".join(line))
    flows, skipped = read(path)
    assert flows.empty
    assert skipped == {7: "text too long in service (more than 1024 characters)"}


def test_long_address_skipped(tmp_path: Path) -> None:
    path = zeek_file(tmp_path, zeek_line(1_700_000_000.0, "C1", "h" * 300, "10.0.0.2", port=80))
    flows, skipped = read(path)
    assert flows.empty
    assert skipped == {7: "source address too long (more than 256 characters)"}


def test_damaged_gzip_rejected(tmp_path: Path) -> None:
    """Damaged deflate data raised zlib.error out of the reader."""
    text = ZEEK_HEADER + (zeek_line(1_700_000_000.0, "C1", "10.0.0.1", "10.0.0.2", port=80) + "\n") * 20
    data = bytearray(gzip.compress(text.encode(), mtime=0))
    data[12:40] = b"\xff" * 28
    path = tmp_path / "conn.log.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(FlowFormatError, match="cannot decompress the gzip data"):
        read(path)


def test_csv_header_with_cr_rejected(tmp_path: Path) -> None:
    """A carriage return inside a CSV header raised _csv.Error out of the reader."""
    path = tmp_path / "nf.csv"
    path.write_bytes(b"IPV4_SRC_ADDR,L4_SRC_PORT,IPV4_DST\rADDR,L4_DST_PORT\n10.0.0.1,1,10.0.0.2,80\n")
    with pytest.raises(FlowFormatError, match="the header row cannot be parsed as CSV"):
        read(path, format="netflow")


def test_bad_zeek_separator_rejected(tmp_path: Path) -> None:
    """'#separator (empty)' raised ValueError('separator must be one byte') from inside the parser."""
    path = tmp_path / "conn.log"
    path.write_text(ZEEK_HEADER.replace("#separator \\x09", "#separator (empty)") + zeek_line(1_700_000_000.0, "C1", "a", "b", port=1) + "\n")
    with pytest.raises(FlowFormatError, match=r"line 1: invalid #separator '\(empty\)'"):
        read(path)


def test_bad_separator_escape_rejected(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text(ZEEK_HEADER.replace("#separator \\x09", "#separator \\x") + zeek_line(1_700_000_000.0, "C1", "a", "b", port=1) + "\n")
    with pytest.raises(FlowFormatError, match="invalid #separator"):
        read(path)


def test_later_fields_header_skips_lines(tmp_path: Path) -> None:
    """A later #fields line without id.resp_h rejected the file after its first flows were stored."""
    path = zeek_file(
        tmp_path,
        zeek_line(1_700_000_000.0, "C1", "10.0.0.1", "10.0.0.2", port=80),
        "#fields\tts\tuid\tid.orig_h",
        "1700000001.0\tC2\t10.0.0.3",
    )
    flows, skipped = read(path)
    assert list(flows["flow_id"]) == ["C1"]
    assert skipped == {9: "the #fields header on line 8 lacks a conn.log column (ts, id.orig_h, id.resp_h)"}


def test_rejected_midway_names_stored_flows(tmp_path: Path) -> None:
    """A file rejected after some chunks were stored was reported as simply rejected."""
    lines = [zeek_line(1_700_000_000.0 + i, f"C{i}", "10.0.0.1", "10.0.0.2", port=80) for i in range(30)]
    path = zeek_file(tmp_path, *lines, "#path\tdns", zeek_line(1_700_000_100.0, "D1", "10.0.0.1", "10.0.0.2", port=53))
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        with pytest.raises(FlowFormatError, match=r"the 30 flow\(s\) read before the problem were stored"):
            load_files(store, [path], window="5m", chunk_rows=10)
        stored = store.counts().flows
    assert stored == 30


def _mapping():
    from ingest.mapping import ColumnMapping

    return ColumnMapping.from_pairs("ts=Time,src=SrcDevice,dst=DstDevice")
