"""Every flow file of the shared datasets, read with every line accounted.

Expected figures are those published with the datasets (rows, distinct
addresses, label counts). Where a reader skips records on purpose (Argus
records without IP endpoints) flows + skipped equals the published rows.
"""

from __future__ import annotations

from collections import Counter

import pytest

from ingest.readers import FlowFormatError, open_flows
from tests.conftest import dataset_path


def read(relative: str):
    reader = open_flows(dataset_path(relative))
    flows = reader.read_all()
    assert reader.report.accounted(), reader.report.summary()
    return reader, flows


def addresses(flows) -> int:
    return len(set(flows["src"]) | set(flows["dst"]))


def test_iot23_34_1() -> None:
    reader, flows = read("iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled")
    assert reader.format == "zeek"
    assert reader.report.flows == 23_145
    assert reader.report.header_lines == 8
    assert reader.report.skipped == 0
    assert addresses(flows) == 49
    assert Counter(flows["label"]) == {"malicious": 21_222, "benign": 1_923}
    assert Counter(flows["attack"]) == {"DDoS": 14_394, "C&C": 6_706, "": 1_923, "PartOfAHorizontalPortScan": 122}
    assert Counter(flows["proto"]) == {"tcp": 21_331, "udp": 1_814}
    assert flows["flow_id"].is_unique


def test_iot23_34_1_time_span() -> None:
    _, flows = read("iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled")
    # 2018-12-21 14:50:16 to 2018-12-22 14:50:13 UTC.
    assert int(flows["ts"].min()) == 1545403816
    assert int(flows["ts"].max()) == 1545490213


def test_iot23_honeypot_4_1() -> None:
    reader, flows = read("iot23/CTU-Honeypot-Capture-4-1/conn.log.labeled")
    assert reader.report.flows == 452
    assert reader.report.skipped == 0
    assert reader.report.header_lines == 9
    assert addresses(flows) == 16
    assert Counter(flows["label"]) == {"benign": 452}
    assert Counter(flows["proto"]) == {"udp": 310, "tcp": 142}


def test_stratosphere_001_malicious() -> None:
    reader, flows = read("stratosphere-sdt/001-zeek-scenario-malicious/labeled-conn.log")
    assert reader.report.flows == 992
    assert addresses(flows) == 68
    assert Counter(flows["label"]) == {"unknown": 739, "malicious": 244, "benign": 9}
    assert Counter(flows["attack"]) == {"": 739, "CC": 244, "Google": 9}
    assert Counter(flows["proto"]) == {"udp": 358, "icmp": 323, "tcp": 311}


def test_stratosphere_008_mixed() -> None:
    reader, flows = read("stratosphere-sdt/008-zeek-mixed/data/conn.log.labeled")
    assert reader.report.flows == 5_663
    assert addresses(flows) == 1_757
    assert Counter(flows["label"]) == {"malicious": 4_201, "benign": 1_402, "unknown": 60}
    assert Counter(flows["proto"]) == {"tcp": 5_383, "udp": 260, "icmp": 20}


def test_stratosphere_002_json_scan() -> None:
    reader, flows = read("stratosphere-sdt/002-zeek-scenario-port-scanning/conn.log")
    assert reader.format == "zeek-json"
    assert reader.report.flows == 4_504
    assert addresses(flows) == 183
    assert set(flows["src"]) == {"172.16.1.11"}
    assert Counter(flows["proto"]) == {"tcp": 4_062, "icmp": 383, "udp": 59}


def test_slips_json_mixed() -> None:
    reader, flows = read("slips-zeek/test9-mixed-zeek-dir/conn.log")
    assert reader.format == "zeek-json"
    assert reader.report.flows == 576
    assert addresses(flows) == 120
    assert Counter(flows["proto"]) == {"tcp": 320, "udp": 250, "icmp": 6}
    assert int((flows["src"] == "10.0.2.15").sum()) == 557


@pytest.mark.parametrize(
    ("name", "rows", "distinct", "labels"),
    [
        ("CTU-Honeypot-Capture-5-1-labeled.csv", 1_374, 154, {"benign": 1_374}),
        ("CTU-Malware-Capture-8-1-labeled.csv", 10_403, 10, {"malicious": 8_222, "benign": 2_181}),
        ("CTU-Malware-Capture-20-1-labeled.csv", 3_209, 42, {"benign": 3_193, "malicious": 16}),
        ("CTU-Malware-Capture-44-1-labeled.csv", 237, 10, {"benign": 211, "malicious": 26}),
    ],
)
def test_iot23_csv(name: str, rows: int, distinct: int, labels: dict[str, int]) -> None:
    reader, flows = read(f"iot23-csv/{name}")
    assert reader.format == "zeek-csv"
    assert reader.report.flows == rows
    assert reader.report.skipped == 0
    assert addresses(flows) == distinct
    assert Counter(flows["label"]) == labels


def test_nf_bot_iot_v2() -> None:
    reader, flows = read("nf-bot-iot-v2/botiot_reduced.csv.gz")
    assert reader.format == "netflow"
    assert reader.report.flows == 278_781
    assert reader.report.skipped == 0
    assert addresses(flows) == 37
    assert Counter(flows["label"]) == {"malicious": 277_496, "benign": 1_285}
    assert Counter(flows["attack"]) == {"DoS": 167_004, "DDoS": 84_552, "Reconnaissance": 25_907, "Benign": 1_285, "Theft": 33}
    assert Counter(flows["proto"]) == {"tcp": 193_480, "udp": 85_272, "icmp": 29}
    assert flows["flow_id"].is_unique


def test_argus_test2() -> None:
    reader, flows = read("ctu-argus-binetflow/test2-malicious.binetflow")
    assert reader.report.flows == 6_751
    assert addresses(flows) == 496
    assert int((flows["src"] == "10.8.0.69").sum()) == 6_731
    assert Counter(flows["label"]) == {"unknown": 6_751}


def test_argus_test5_tabs() -> None:
    reader, flows = read("ctu-argus-binetflow/test5.tabs.binetflow")
    assert reader.report.flows + reader.report.skipped == 6_725
    assert reader.report.skipped_by_reason == {
        "Argus management record (no flow)": 1,
        "MAC address instead of IP in SrcAddr": 1,
    }
    # 39 published addresses less the llc row's MAC address and the man row's 0.
    assert addresses(flows) == 37
    assert int((flows["attack"] == "flow=Malware-UDP-DNS").sum()) == 4_637
    assert int((flows["attack"] == "flow=Malware-TCP").sum()) == 1_640


def test_ctu13_botonly_headerless() -> None:
    reader, flows = read("ctu13-botonly/botOnly.binetflow")
    assert reader.report.flows == 8_164
    assert reader.report.header_lines == 0
    assert addresses(flows) == 12
    assert Counter(flows["label"]) == {"malicious": 8_164}
    assert Counter(flows["proto"]) == {"icmp": 8_143, "udp": 15, "tcp": 6}
    assert int((flows["attack"] == "flow=From-Botnet-V52-1-ICMP").sum()) == 4_144
    assert flows["attack"].nunique() == 14


def test_ctu_malware_207_1() -> None:
    reader, flows = read("ctu-malware-207-1/CTU-Malware-Capture-Botnet-207-1.binetflow")
    assert reader.report.flows + reader.report.skipped == 23_602
    assert reader.report.skipped_by_reason == {"MAC address instead of IP in SrcAddr": 2}
    # 163 published addresses, of which 160 are IP addresses.
    assert addresses(flows) == 160
    assert Counter(flows["proto"]) == {"ipv6-icmp": 10_739, "igmp": 6_642, "udp": 5_333, "arp": 852, "tcp": 34}


def test_nfdump_sample1_labeled() -> None:
    reader, flows = read("nfdump-text/nfcapd.sample1.labeled")
    assert reader.report.flows == 35
    # The published 12 counts "10.0.0.150:0" of the IGMP lines apart from "10.0.0.150"; 9 are distinct IPs.
    assert addresses(flows) == 9
    assert Counter(flows["proto"]) == {"udp": 26, "tcp": 6, "igmp": 3}
    assert Counter(flows["attack"]) == {"Background": 31, "Test-Label": 4}


def test_nfdump_sample2() -> None:
    reader, flows = read("nfdump-text/nfcapd.sample2")
    assert reader.report.flows == 167
    assert addresses(flows) == 5
    assert Counter(flows["proto"]) == {"tcp": 167}


def test_suricata_eve_rejected() -> None:
    with pytest.raises(FlowFormatError, match="Suricata EVE JSON"):
        open_flows(dataset_path("suricata-eve/test6-malicious.suricata.json"))


def test_lanl_tar_gz_rejected() -> None:
    with pytest.raises(FlowFormatError, match="tar archive.*tar xzf netflow.tar.gz"):
        open_flows(dataset_path("lanl-2017-netflow-sample/netflow.tar.gz"))


def test_every_dataset_file_read_or_rejected(datasets_dir) -> None:
    """Any file in the datasets folder, including ones added later, is read whole or rejected clearly."""
    files = sorted(path for path in datasets_dir.rglob("*") if path.is_file() and path.suffix != ".md")
    assert files
    for path in files:
        try:
            reader = open_flows(path)
        except FlowFormatError as error:
            assert str(path) in str(error)
            continue
        reader.read_all()
        assert reader.report.accounted(), f"{path}: {reader.report.summary()}"
        assert reader.report.flows > 0, f"{path}: {reader.report.summary()}"
