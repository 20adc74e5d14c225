"""Zeek TSV conn logs (IoT-23 and Stratosphere variants) and their CSV rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.readers import FlowFormatError, open_flows
from ingest.record import hash_flow_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"


def read(relative: str, **options):
    reader = open_flows(FIXTURES / relative, **options)
    return reader, reader.read_all()


def test_iot23_three_space_columns() -> None:
    reader, flows = read("zeek/iot23_labeled.log")
    assert reader.format == "zeek"
    assert list(flows["label"]) == ["malicious", "malicious", "benign", "benign"]
    assert list(flows["attack"]) == ["PartOfAHorizontalPortScan", "C&C", "", ""]


def test_iot23_first_flow_values() -> None:
    _, flows = read("zeek/iot23_labeled.log")
    first = flows.iloc[0].to_dict()
    assert first == {
        "ts": 1600000000.25,
        "src": "192.168.1.10",
        "src_port": 40001,
        "dst": "203.0.113.5",
        "dst_port": 23,
        "proto": "tcp",
        "service": "",
        "duration": 2.5,
        "bytes_out": 10,
        "bytes_in": 20,
        "pkts_out": 4,
        "pkts_in": 3,
        "conn_state": "SF",
        "label": "malicious",
        "attack": "PartOfAHorizontalPortScan",
        "flow_id": "CAbc1pQ9",
    }


def test_unset_fields_get_documented_defaults() -> None:
    _, flows = read("zeek/iot23_labeled.log")
    second = flows.iloc[1]
    assert second["duration"] == 0.0
    assert second["bytes_out"] == 0
    assert second["bytes_in"] == 0
    assert second["service"] == "http"


def test_close_line_with_crlf_counts_as_header() -> None:
    reader, flows = read("zeek/iot23_labeled.log")
    assert reader.report.header_lines == 9
    assert reader.report.skipped == 0
    assert len(flows) == 4


def test_stratosphere_tab_label_columns() -> None:
    _, flows = read("zeek/stratosphere_labeled.log")
    assert list(flows["label"]) == ["unknown", "malicious", "benign"]
    assert list(flows["attack"]) == ["", "CC", "Google"]


def test_stratosphere_relative_ts_and_ipv6() -> None:
    _, flows = read("zeek/stratosphere_labeled.log")
    assert list(flows["ts"]) == [12.5, 13.0, 14.25]
    assert flows.iloc[0]["src"] == "2001:db8::10"


def test_icmp_type_code_kept_as_ports() -> None:
    _, flows = read("zeek/stratosphere_labeled.log")
    icmp = flows.iloc[1]
    assert icmp["src_port"] == 8
    assert icmp["dst_port"] == 0


def test_fields_header_change_midfile() -> None:
    reader, flows = read("bad/fields_change.log")
    assert len(flows) == 4
    assert list(flows["flow_id"]) == ["CFc1", "CFc2", "CFc3", "CFc4"]
    assert list(flows["bytes_out"]) == [10, 10, 300, 30]
    assert list(flows["label"]) == ["unknown", "unknown", "malicious", "benign"]
    assert reader.report.accounted()


def test_missing_optional_columns_default() -> None:
    _, flows = read("bad/fields_change.log")
    later = flows.iloc[2]
    assert later["duration"] == 0.0
    assert later["pkts_out"] == 0
    assert later["conn_state"] == ""


def test_no_uid_column_hashes_line(tmp_path: Path) -> None:
    line = "1600000000.5\t192.0.2.1\t192.0.2.2"
    path = tmp_path / "conn.log"
    path.write_text(f"#separator \\x09\n#fields\tts\tid.orig_h\tid.resp_h\n{line}\n")
    flows = open_flows(path).read_all()
    assert flows.iloc[0]["flow_id"] == hash_flow_id(line)
    assert flows.iloc[0]["src_port"] == -1


def test_custom_unset_and_separator(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text(
        "#separator \\x2c\n#unset_field,NONE\n#fields,ts,uid,id.orig_h,id.resp_h,orig_bytes\n"
        "1600000000.0,Cx1,192.0.2.1,192.0.2.2,NONE\n"
    )
    flows = open_flows(path).read_all()
    assert flows.iloc[0]["bytes_out"] == 0
    assert flows.iloc[0]["flow_id"] == "Cx1"


def test_missing_required_fields_rejected(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\tts\tuid\tid.orig_h\n1600000000.0\tC1\t192.0.2.1\n")
    with pytest.raises(FlowFormatError, match="lacks the conn.log column"):
        open_flows(path).read_all()


def test_other_zeek_log_rejected() -> None:
    with pytest.raises(FlowFormatError, match="Zeek 'dns' log, not a conn log"):
        open_flows(FIXTURES / "bad" / "dns_log.log").read_all()


def test_forced_zeek_on_csv_rejected() -> None:
    with pytest.raises(FlowFormatError, match="start with #separator/#fields"):
        open_flows(FIXTURES / "zeek" / "conn.csv", format="zeek").read_all()


def test_zeek_csv_values() -> None:
    reader, flows = read("zeek/conn.csv")
    assert reader.format == "zeek-csv"
    assert list(flows["flow_id"]) == ["CzC1aa", "CzC2aa", "CzC3aa"]
    assert list(flows["bytes_in"]) == [1750, 0, 0]
    assert list(flows["label"]) == ["malicious", "malicious", "benign"]
    assert list(flows["attack"]) == ["C&C-FileDownload", "C&C", ""]
    assert flows.iloc[0]["ts"] == 1547150790.5


def test_zeek_csv_duplicate_header_line(tmp_path: Path) -> None:
    text = (FIXTURES / "zeek" / "conn.csv").read_text()
    path = tmp_path / "joined.csv"
    path.write_text(text + text)
    reader = open_flows(path)
    assert len(reader.read_all()) == 6
    assert reader.report.header_lines == 2
