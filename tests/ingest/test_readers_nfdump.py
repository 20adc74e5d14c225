"""nfdump text output."""

from __future__ import annotations

from pathlib import Path

from ingest.readers import open_flows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "nfdump"


def test_nfdump_long_format_values() -> None:
    reader = open_flows(FIXTURES / "long_labeled.txt")
    flows = reader.read_all()
    assert reader.format == "nfdump"
    first = flows.iloc[0].to_dict()
    del first["flow_id"]
    assert first == {
        # 2013-07-09 01:00:23.040 read as UTC.
        "ts": 1373331623.04,
        "src": "192.0.2.8",
        "src_port": 53,
        "dst": "10.0.0.150",
        "dst_port": 49058,
        "proto": "udp",
        "service": "",
        "duration": 0.028,
        "bytes_out": 126,
        "bytes_in": 0,
        "pkts_out": 1,
        "pkts_in": 0,
        "conn_state": "",
        "label": "unknown",
        "attack": "Background",
    }


def test_nfdump_scaled_bytes() -> None:
    flows = open_flows(FIXTURES / "long_labeled.txt").read_all()
    assert flows.iloc[1]["bytes_out"] == 1_200_000
    assert flows.iloc[1]["pkts_out"] == 1500
    assert flows.iloc[1]["label"] == "malicious"


def test_nfdump_icmp_type_code() -> None:
    flows = open_flows(FIXTURES / "long_labeled.txt").read_all()
    icmp = flows.iloc[2]
    assert icmp["src_port"] == 8
    assert icmp["dst_port"] == 0
    assert icmp["attack"] == ""


def test_nfdump_igmp_colon_ports() -> None:
    flows = open_flows(FIXTURES / "long_labeled.txt").read_all()
    igmp = flows.iloc[3]
    assert igmp["src"] == "10.0.0.152"
    assert igmp["dst"] == "224.0.0.22"
    assert igmp["proto"] == "igmp"


def test_nfdump_ipv6_endpoints() -> None:
    flows = open_flows(FIXTURES / "long_labeled.txt").read_all()
    assert list(flows["src"])[4:] == ["2001:db8::5", "2001:db8::6"]
    assert list(flows["dst"])[4:] == ["ff02::fb", "2001:db8::7"]
    assert list(flows["dst_port"])[4:] == [5353, 50000]


def test_nfdump_shortened_ipv6_and_footer() -> None:
    reader = open_flows(FIXTURES / "long_labeled.txt")
    reader.read_all()
    assert reader.report.skipped_by_reason == {"shortened IPv6 address (print full addresses with nfdump -6)": 1}
    assert reader.report.header_lines == 5
    assert reader.report.accounted()


def test_nfdump_line_format() -> None:
    flows = open_flows(FIXTURES / "line_format.txt").read_all()
    assert list(flows["bytes_out"]) == [333, 2816]
    assert list(flows["pkts_out"]) == [5, 9]
    assert list(flows["label"]) == ["unknown", "unknown"]


def test_nfdump_without_header(tmp_path: Path) -> None:
    path = tmp_path / "flows.txt"
    path.write_text(
        "2013-07-09 01:15:33.005     0.548 TCP    10.0.0.151:49161 ->  10.0.0.150:3128  .APRS.   0   5   333   1\n"
        "2013-07-09 01:15:34.005     0.548 TCP    10.0.0.151:49162 ->  10.0.0.150:3128  .APRS.   0   5   333\n"
    )
    reader = open_flows(path, format="nfdump")
    flows = reader.read_all()
    assert list(flows["bytes_out"]) == [333]
    assert dict(reader.report.skipped_by_reason) == {
        "unexpected field count 4 after the destination and no header line": 1
    }


def test_nfdump_bad_fields(tmp_path: Path) -> None:
    header = (FIXTURES / "line_format.txt").read_text().splitlines()[0]
    path = tmp_path / "flows.txt"
    path.write_text(
        header + "\n"
        "2013-07-09 01:15:33.005     0.548 TCP    10.0.0.151:70000 ->  10.0.0.150:3128   5   333   1\n"
        "2013-07-09 01:15:33.005     0.548 TCP    10.0.0.151:49161 ->  10.0.0.150:3128   5   abc   1\n"
        "2013-07-09 01:15:33.005     0.548 TCP    10.0.0.151:49161 ->  10.0.0.150:3128   5\n"
        "2013-07-09 99:15:33.005     0.548 TCP    10.0.0.151:49161 ->  10.0.0.150:3128   5   333   1\n"
        "junk line\n"
    )
    reader = open_flows(path)
    assert reader.read_all().empty
    assert dict(reader.report.skipped_by_reason) == {
        "port out of range 0..65535": 1,
        "invalid number in Bytes": 1,
        "too few fields (expected 3 after the destination)": 1,
        "invalid timestamp in Date flow start": 1,
        "not an nfdump flow line": 1,
    }
