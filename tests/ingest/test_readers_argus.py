"""Argus binetflow files: with a header, tab-separated, and CTU-13 headerless."""

from __future__ import annotations

from pathlib import Path

from ingest.readers import open_flows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "argus"


def test_argus_header_values() -> None:
    reader = open_flows(FIXTURES / "with_header.binetflow")
    flows = reader.read_all()
    assert reader.format == "argus"
    first = flows.iloc[0]
    # 2019/04/04 16:23:00.325010 read as UTC.
    assert first["ts"] == 1554394980.32501
    assert first["bytes_out"] == 63
    assert first["bytes_in"] == 79
    assert first["pkts_out"] == 1
    assert first["pkts_in"] == 1
    assert first["conn_state"] == "CON"


def test_argus_labels_and_attack() -> None:
    flows = open_flows(FIXTURES / "with_header.binetflow").read_all()
    assert list(flows["label"]) == ["malicious", "benign", "unknown", "unknown"]
    assert list(flows["attack"]) == [
        "flow=From-Botnet-V1-UDP-DNS",
        "flow=From-Normal-V1-HTTPS",
        "flow=Background-ICMP",
        "",
    ]


def test_argus_hex_and_empty_ports() -> None:
    flows = open_flows(FIXTURES / "with_header.binetflow").read_all()
    assert list(flows["src_port"]) == [48427, 0x0303, 8, -1]
    assert list(flows["dst_port"]) == [53, 443, -1, -1]


def test_argus_records_without_ip_skipped() -> None:
    reader = open_flows(FIXTURES / "with_header.binetflow")
    reader.read_all()
    assert [(bad.line, bad.reason) for bad in reader.report.examples] == [
        (5, "Argus management record (no flow)"),
        (6, "MAC address instead of IP in SrcAddr"),
    ]
    assert reader.report.flows + reader.report.skipped == 6


def test_argus_arp_with_ips_kept() -> None:
    flows = open_flows(FIXTURES / "with_header.binetflow").read_all()
    arp = flows.iloc[3]
    assert arp["proto"] == "arp"
    assert arp["src"] == "10.8.0.1"


def test_argus_zero_address_skipped(tmp_path: Path) -> None:
    path = tmp_path / "flows.binetflow"
    path.write_text(
        "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes,SrcBytes,Label\n"
        "2019/04/04 16:23:00,1.0,udp,10.0.0.1,5,->,0,6,CON,1,60,60,\n"
    )
    reader = open_flows(path)
    assert reader.read_all().empty
    assert dict(reader.report.skipped_by_reason) == {"no IP address in DstAddr (0)": 1}


def test_argus_tabs_without_srcpkts() -> None:
    flows = open_flows(FIXTURES / "tabs.binetflow").read_all()
    assert list(flows["ts"]) == [3608.140073, 4257.147384]
    # One-way flow: all packets go out.
    assert flows.iloc[0]["pkts_out"] == 1
    assert flows.iloc[0]["pkts_in"] == 0
    # Two-way flow, 4 packets, 100 of 400 bytes sent: split by bytes, at least one each way.
    assert flows.iloc[1]["pkts_out"] == 1
    assert flows.iloc[1]["pkts_in"] == 3


def test_ctu13_headerless_crlf() -> None:
    reader = open_flows(FIXTURES / "ctu13_headerless.binetflow")
    flows = reader.read_all()
    assert reader.format == "argus"
    assert reader.report.header_lines == 0
    assert list(flows["dst"]) == ["147.32.80.9", "192.0.2.201", "147.32.96.69"]
    assert list(flows["attack"])[2] == "flow=From-Botnet-V52-1-ICMP"
    assert set(flows["label"]) == {"malicious"}


def test_ctu13_packet_estimate() -> None:
    flows = open_flows(FIXTURES / "ctu13_headerless.binetflow").read_all()
    tcp = flows.iloc[1]
    # 7 packets, 629 of 882 bytes sent: round(7 * 629 / 882) = 5 out.
    assert tcp["pkts_out"] == 5
    assert tcp["pkts_in"] == 2
    assert tcp["bytes_in"] == 253


def test_argus_srcbytes_above_total_skipped(tmp_path: Path) -> None:
    path = tmp_path / "flows.binetflow"
    path.write_text(
        "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes,SrcBytes,Label\n"
        "2019/04/04 16:23:00,1.0,udp,10.0.0.1,5,->,10.0.0.2,6,CON,2,60,90,\n"
        "2019/04/04 16:23:01,x,udp,10.0.0.1,5,->,10.0.0.2,6,CON,2,60,30,\n"
        "04/04/2019 16:23:02,1.0,udp,10.0.0.1,5,->,10.0.0.2,6,CON,2,60,30,\n"
        "1554394983.5,1.0,udp,10.0.0.1,5,->,10.0.0.2,6,CON,2,60,30,\n"
    )
    reader = open_flows(path)
    flows = reader.read_all()
    assert list(flows["ts"]) == [1554394983.5]
    assert dict(reader.report.skipped_by_reason) == {
        "SrcBytes larger than TotBytes": 1,
        "invalid number in Dur": 1,
        "invalid timestamp in StartTime": 1,
    }
