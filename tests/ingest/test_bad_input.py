"""The hand-written bad-input corpus in tests/fixtures/ingest/bad, one documented outcome each.

A bad line is skipped and reported with its number and reason; the rest of
the file is read. A file that cannot be read at all raises FlowFormatError.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.readers import FlowFormatError, open_flows

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "bad"


def read(name: str):
    reader = open_flows(BAD / name)
    flows = reader.read_all()
    return reader.report, flows


def skips(report) -> list[tuple[int, str]]:
    return [(bad.line, bad.reason) for bad in report.examples]


def test_truncated_line_skipped() -> None:
    report, flows = read("truncated.log")
    assert skips(report) == [(11, "too few fields (expected 21)")]
    assert list(flows["flow_id"]) == ["CTr1", "CTr2", "CTr4"]
    assert report.accounted()


def test_extra_fields_skipped() -> None:
    report, flows = read("extra_fields.log")
    assert skips(report) == [(10, "too many fields (expected 21)")]
    assert list(flows["flow_id"]) == ["CEx1", "CEx3"]


def test_non_utf8_in_used_text_skipped() -> None:
    report, flows = read("non_utf8.log")
    assert skips(report) == [(10, "invalid UTF-8 in id.orig_h"), (12, "invalid UTF-8 in service")]


def test_non_utf8_in_unused_column_kept() -> None:
    _, flows = read("non_utf8.log")
    # CUt3 has a bad byte in history, which the flow record does not keep.
    assert list(flows["flow_id"]) == ["CUt1", "CUt3", "CUt5"]


def test_non_utf8_example_text_replaced() -> None:
    report, _ = read("non_utf8.log")
    assert "192.0.2.\ufffd" in report.examples[0].text


def test_empty_file_rejected() -> None:
    with pytest.raises(FlowFormatError, match="empty.log: empty file"):
        open_flows(BAD / "empty.log")


def test_whitespace_only_file_rejected() -> None:
    with pytest.raises(FlowFormatError, match="empty file"):
        open_flows(BAD / "whitespace_only.log")


def test_header_only_zero_flows(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="ingest.readers"):
        report, flows = read("header_only.log")
    assert flows.empty
    assert report.header_lines == 9
    assert report.accounted()
    assert any("no flows found" in record.getMessage() for record in caplog.records)


def test_header_only_netflow_zero_flows() -> None:
    report, flows = read("header_only_netflow.csv")
    assert flows.empty
    assert report.lines_read == 1
    assert report.accounted()


def test_unknown_format_rejected() -> None:
    with pytest.raises(FlowFormatError, match="unknown flow format .*--format.*--map"):
        open_flows(BAD / "unknown_format.txt")


def test_crlf_endings_stripped() -> None:
    report, flows = read("crlf.log")
    assert list(flows["conn_state"]) == ["SF", "REJ"]
    assert list(flows["flow_id"]) == ["CCr1", "CCr2"]
    assert report.skipped == 0


def test_bom_stripped() -> None:
    report, flows = read("bom.csv")
    assert report.format == "zeek-csv"
    assert flows.iloc[0]["ts"] == 1547150790.5
    assert report.skipped == 0


def test_fields_header_change_reread() -> None:
    report, flows = read("fields_change.log")
    assert list(flows["flow_id"]) == ["CFc1", "CFc2", "CFc3", "CFc4"]
    assert list(flows["label"])[2:] == ["malicious", "benign"]
    assert report.header_lines == 11


def test_port_out_of_range_skipped() -> None:
    report, flows = read("port_out_of_range.log")
    assert skips(report) == [
        (10, "port out of range 0..65535 in id.resp_p"),
        (11, "port out of range 0..65535 in id.orig_p"),
    ]
    assert list(flows["dst_port"]) == [80, 65535]


def test_negative_and_invalid_counts_skipped() -> None:
    report, flows = read("negative_bytes.log")
    assert skips(report) == [
        (10, "negative count in orig_bytes"),
        (11, "invalid count in resp_bytes (not a whole number)"),
        (12, "invalid number in orig_bytes"),
    ]
    assert list(flows["flow_id"]) == ["CNb1"]


def test_nan_timestamp_skipped() -> None:
    report, flows = read("nan_timestamp.log")
    assert skips(report) == [
        (10, "invalid timestamp in ts"),
        (11, "missing timestamp in ts"),
        (12, "invalid number in duration"),
    ]
    assert list(flows["flow_id"]) == ["CNt1", "CNt5"]


def test_data_before_fields_skipped() -> None:
    report, flows = read("data_before_fields.log")
    assert skips(report) == [(7, "data line before the #fields header")]
    assert list(flows["flow_id"]) == ["CDb2"]


def test_unbalanced_quote_skipped() -> None:
    report, flows = read("unbalanced_quote.csv")
    assert skips(report) == [(3, "unbalanced double quote")]
    assert list(flows["flow_id"]) == ["CzC1aa", "CzC3aa"]


def test_broken_json_lines_skipped() -> None:
    report, flows = read("broken_json.json")
    assert dict(report.skipped_by_reason) == {
        "invalid JSON": 1,
        "JSON value is not an object": 1,
        "invalid port in id.orig_p": 1,
    }
    assert len(flows) == 2


def test_eve_rejected() -> None:
    with pytest.raises(FlowFormatError, match="Suricata EVE JSON"):
        open_flows(BAD / "eve.json")


def test_other_zeek_log_rejected() -> None:
    with pytest.raises(FlowFormatError, match="not a conn log"):
        open_flows(BAD / "dns_log.log").read_all()


def test_every_corpus_file_has_a_test() -> None:
    tested = {
        "truncated.log",
        "extra_fields.log",
        "non_utf8.log",
        "empty.log",
        "whitespace_only.log",
        "header_only.log",
        "header_only_netflow.csv",
        "unknown_format.txt",
        "crlf.log",
        "bom.csv",
        "fields_change.log",
        "port_out_of_range.log",
        "negative_bytes.log",
        "nan_timestamp.log",
        "data_before_fields.log",
        "unbalanced_quote.csv",
        "broken_json.json",
        "eve.json",
        "dns_log.log",
    }
    assert {path.name for path in BAD.iterdir()} == tested
