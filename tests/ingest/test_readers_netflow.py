"""NetFlow v2 CSV of the NF-* datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.readers import FlowFormatError, open_flows
from ingest.record import hash_flow_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"
NF_SMALL = FIXTURES / "netflow" / "nf_small.csv"


def test_netflow_direction_mapping() -> None:
    flows = open_flows(NF_SMALL).read_all()
    first = flows.iloc[0]
    # IN_* counts source-to-destination traffic in NF sets.
    assert first["bytes_out"] == 280
    assert first["pkts_out"] == 2
    assert first["bytes_in"] == 40
    assert first["pkts_in"] == 1


def test_netflow_fields() -> None:
    reader = open_flows(NF_SMALL)
    flows = reader.read_all()
    assert reader.format == "netflow"
    assert list(flows["proto"]) == ["tcp", "udp", "icmp", "icmp"]
    assert list(flows["duration"]) == [1.5, 0.0, 0.25, 0.25]
    assert list(flows["label"]) == ["malicious", "malicious", "benign", "benign"]
    assert list(flows["attack"]) == ["DoS", "DDoS", "Benign", "Benign"]
    assert list(flows["conn_state"]) == ["", "", "", ""]


def test_netflow_default_single_timestamp() -> None:
    flows = open_flows(NF_SMALL).read_all()
    assert list(flows["ts"]) == [0.0, 0.0, 0.0, 0.0]


def test_netflow_start_without_rate() -> None:
    flows = open_flows(NF_SMALL, netflow_start=1_700_000_000.0).read_all()
    assert set(flows["ts"]) == {1_700_000_000.0}


def test_netflow_rate_spreads_rows() -> None:
    flows = open_flows(NF_SMALL, netflow_start=1000.0, netflow_rate=2.0).read_all()
    assert list(flows["ts"]) == [1000.0, 1000.5, 1001.0, 1001.5]


def test_netflow_rate_counts_skipped_rows(tmp_path: Path) -> None:
    lines = NF_SMALL.read_text().splitlines()
    lines[2] = lines[2].replace(",84,", ",-84,")
    path = tmp_path / "nf.csv"
    path.write_text("\n".join(lines) + "\n")
    reader = open_flows(path, netflow_start=0.0, netflow_rate=1.0)
    flows = reader.read_all()
    assert list(flows["ts"]) == [0.0, 2.0, 3.0]
    assert dict(reader.report.skipped_by_reason) == {"negative count in IN_BYTES": 1}


def test_identical_rows_get_distinct_ids() -> None:
    flows = open_flows(NF_SMALL).read_all()
    lines = NF_SMALL.read_text().splitlines()
    assert flows.iloc[2]["flow_id"] != flows.iloc[3]["flow_id"]
    assert flows.iloc[3]["flow_id"] == hash_flow_id(lines[4], source="5")


def test_flow_start_column_used(tmp_path: Path) -> None:
    path = tmp_path / "nf3.csv"
    path.write_text(
        "FLOW_START_MILLISECONDS,IPV4_SRC_ADDR,L4_SRC_PORT,IPV4_DST_ADDR,L4_DST_PORT,PROTOCOL,IN_BYTES,IN_PKTS,"
        "OUT_BYTES,OUT_PKTS,FLOW_DURATION_MILLISECONDS,Label,Attack\n"
        "1700000000500,192.0.2.1,1234,192.0.2.2,80,6,100,2,50,1,10,0,Benign\n"
    )
    flows = open_flows(path, netflow_rate=5.0).read_all()
    assert flows.iloc[0]["ts"] == 1700000000.5


def test_netflow_missing_column_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nf.csv"
    path.write_text("IPV4_SRC_ADDR,IPV4_DST_ADDR,IN_BYTES\n192.0.2.1,192.0.2.2,5\n")
    with pytest.raises(FlowFormatError, match="lacks L4_SRC_PORT, L4_DST_PORT, PROTOCOL"):
        open_flows(path).read_all()
