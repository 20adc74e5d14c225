"""Zeek conn logs written as JSON lines."""

from __future__ import annotations

from pathlib import Path

from ingest.readers import open_flows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"


def test_json_values() -> None:
    reader = open_flows(FIXTURES / "zeek" / "conn.json")
    flows = reader.read_all()
    assert reader.format == "zeek-json"
    assert list(flows["flow_id"]) == ["CJs1", "CJs2", "CJs3"]
    assert list(flows["dst"]) == ["8.8.8.8", "10.0.2.3", "10.0.2.4"]
    assert list(flows["bytes_in"]) == [120, 0, 56]
    assert list(flows["label"]) == ["unknown", "unknown", "unknown"]


def test_json_missing_keys_default() -> None:
    flows = open_flows(FIXTURES / "zeek" / "conn.json").read_all()
    second = flows.iloc[1]
    assert second["duration"] == 0.0
    assert second["bytes_out"] == 0
    assert second["service"] == ""
    assert second["pkts_out"] == 1


def test_json_iso_timestamp() -> None:
    flows = open_flows(FIXTURES / "zeek" / "conn.json").read_all()
    # 2022-09-29T14:41:00.5Z in epoch seconds.
    assert flows.iloc[2]["ts"] == 1664462460.5


def test_json_bad_lines_reported() -> None:
    reader = open_flows(FIXTURES / "bad" / "broken_json.json")
    flows = reader.read_all()
    assert list(flows["flow_id"]) == ["CJs1", "CJs2"]
    assert [(bad.line, bad.reason) for bad in reader.report.examples] == [
        (2, "invalid JSON"),
        (3, "JSON value is not an object"),
        (4, "invalid port in id.orig_p"),
    ]
    assert reader.report.accounted()


def test_json_non_text_address_skipped(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text(
        '{"ts":1.0,"uid":"C1","id.orig_h":"192.0.2.1","id.resp_h":"192.0.2.2"}\n'
        '{"ts":2.0,"uid":"C2","id.orig_h":3221225985,"id.resp_h":"192.0.2.2"}\n'
        '{"ts":3.0,"uid":"C3","id.orig_h":"192.0.2.1","id.resp_h":"192.0.2.2","orig_bytes":true}\n'
    )
    reader = open_flows(path)
    flows = reader.read_all()
    assert list(flows["flow_id"]) == ["C1"]
    assert dict(reader.report.skipped_by_reason) == {
        "invalid address in id.orig_h": 1,
        "invalid number in orig_bytes": 1,
    }
