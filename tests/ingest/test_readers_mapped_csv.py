"""CSV read through a column mapping, and the mapping itself."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from ingest.mapping import ColumnMapping, ColumnMappingError
from ingest.readers import FlowFormatError, open_flows
from ingest.record import hash_flow_id
from tests.conftest import dataset_path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest" / "csv"
ENTERPRISE = FIXTURES / "enterprise.csv"
SEMICOLON_PAIRS = "ts=when,src=from,dst=to,dst_port=dport,proto=proto,bytes_out=sent,label=verdict,attack=verdict"


def test_toml_mapping_reads_enterprise_flows() -> None:
    mapping = ColumnMapping.from_toml(FIXTURES / "enterprise.toml")
    reader = open_flows(ENTERPRISE, mapping=mapping)
    flows = reader.read_all()
    assert reader.format == "csv"
    assert list(flows["src"]) == ["Comp123456", "Comp123456", "IP564116"]
    assert list(flows["proto"]) == ["udp", "tcp", "icmp"]
    assert list(flows["dst_port"]) == [53, 443, -1]
    assert list(flows["bytes_in"]) == [150, 6400, 0]
    assert list(flows["ts"]) == [118781.0, 118781.0, 118790.0]


def test_unmapped_fields_default() -> None:
    mapping = ColumnMapping.from_toml(FIXTURES / "enterprise.toml")
    flows = open_flows(ENTERPRISE, mapping=mapping).read_all()
    first = flows.iloc[0]
    assert first["src_port"] == -1
    assert first["service"] == ""
    assert first["label"] == "unknown"
    assert first["flow_id"] == hash_flow_id(ENTERPRISE.read_text().splitlines()[1], source="2")


def test_pairs_with_strftime_and_labels() -> None:
    pairs = ColumnMapping.from_pairs(SEMICOLON_PAIRS + ",separator=semicolon,time_format=%Y-%m-%d %H:%M:%S")
    mapping = ColumnMapping(
        columns=pairs.columns,
        separator=pairs.separator,
        time_format=pairs.time_format,
        label_values={"ok": "benign", "attack": "malicious"},
    )
    flows = open_flows(FIXTURES / "semicolon_labels.csv", mapping=mapping).read_all()
    # 2024-03-01 10:00:00 UTC.
    assert list(flows["ts"]) == [1709287200.0, 1709287230.0, 1709287260.0]
    assert list(flows["label"]) == ["benign", "malicious", "unknown"]
    assert list(flows["attack"]) == ["ok", "attack", ""]
    assert list(flows["dst_port"]) == [8883, 8883, -1]


def test_epoch_ms_and_duration_ms(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_text("t,a,b,d\n1700000000250,192.0.2.1,192.0.2.2,1500\n")
    mapping = ColumnMapping.from_pairs("ts=t,src=a,dst=b,duration=d,time_format=epoch_ms,duration_unit=ms")
    flows = open_flows(path, mapping=mapping).read_all()
    assert flows.iloc[0]["ts"] == 1700000000.25
    assert flows.iloc[0]["duration"] == 1.5


def test_mapped_flow_id_column(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_text("id,t,a,b\nF1,1,192.0.2.1,192.0.2.2\n,2,192.0.2.1,192.0.2.2\n")
    reader = open_flows(path, mapping=ColumnMapping.from_pairs("flow_id=id,ts=t,src=a,dst=b"))
    flows = reader.read_all()
    assert list(flows["flow_id"]) == ["F1"]
    assert dict(reader.report.skipped_by_reason) == {"missing flow id in id": 1}


def test_empty_count_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_text('t,a,b,n\n1,192.0.2.1,192.0.2.2,\n2,"192.0.2.1",192.0.2.2,7\n,192.0.2.1,192.0.2.2,7\n')
    reader = open_flows(path, mapping=ColumnMapping.from_pairs("ts=t,src=a,dst=b,bytes_out=n"))
    flows = reader.read_all()
    assert list(flows["bytes_out"]) == [7]
    assert dict(reader.report.skipped_by_reason) == {"invalid number in n": 1, "missing timestamp in t": 1}


def test_two_fields_from_one_column(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_text("t,a,b,verdict\n1,192.0.2.1,192.0.2.2,botnet\n")
    flows = open_flows(path, mapping=ColumnMapping.from_pairs("ts=t,src=a,dst=b,label=verdict,attack=verdict")).read_all()
    assert flows.iloc[0]["label"] == "malicious"
    assert flows.iloc[0]["attack"] == "botnet"


def test_missing_source_columns_named() -> None:
    mapping = ColumnMapping.from_pairs("ts=Time,src=SrcIP,dst=DstDevice")
    with pytest.raises(FlowFormatError, match="lacks the mapped column\\(s\\) SrcIP"):
        open_flows(ENTERPRISE, mapping=mapping).read_all()


def test_unknown_flow_field_named() -> None:
    with pytest.raises(ColumnMappingError, match="unknown flow field\\(s\\) source_ip"):
        ColumnMapping.from_pairs("ts=Time,source_ip=SrcDevice,dst=DstDevice")


def test_required_fields_checked() -> None:
    with pytest.raises(ColumnMappingError, match="lacks src, dst"):
        ColumnMapping.from_pairs("ts=Time")


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ("ts=Time,src=A,dst=B,time_format=iso", "invalid time_format 'iso'"),
        ("ts=Time,src=A,dst=B,duration_unit=h", "invalid duration_unit 'h'"),
        ("ts=Time,src=A,dst=B,separator=ab", "invalid separator 'ab'"),
        ("ts=Time,src,dst=B", "invalid mapping pair 'src'"),
        ("ts=Time,src=A,src=B,dst=C", "names 'src' twice"),
        ("ts=Time,src=,dst=B", "no source column for src"),
    ],
)
def test_invalid_pairs_rejected(pairs: str, message: str) -> None:
    with pytest.raises(ColumnMappingError, match=message):
        ColumnMapping.from_pairs(pairs)


def test_label_values_must_be_labels() -> None:
    with pytest.raises(ColumnMappingError, match="label other than benign, malicious, unknown"):
        ColumnMapping(columns={"ts": "t", "src": "a", "dst": "b"}, label_values={"x": "evil"})


def test_toml_unknown_key_rejected(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('sepparator = ";"\n[columns]\nts = "t"\nsrc = "a"\ndst = "b"\n')
    with pytest.raises(ColumnMappingError, match="unknown key\\(s\\) sepparator"):
        ColumnMapping.from_toml(path)


def test_toml_label_values(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('separator = "tab"\n[columns]\nts = "t"\nsrc = "a"\ndst = "b"\n[label_values]\n"0" = "benign"\n')
    mapping = ColumnMapping.from_toml(path)
    assert mapping.separator == "\t"
    assert dict(mapping.label_values) == {"0": "benign"}


def test_toml_without_columns_rejected(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('time_format = "epoch"\n')
    with pytest.raises(ColumnMappingError, match="missing \\[columns\\] table"):
        ColumnMapping.from_toml(path)


def test_lanl_sample_through_mapping(tmp_path: Path) -> None:
    archive = dataset_path("lanl-2017-netflow-sample/netflow.tar.gz")
    with tarfile.open(archive) as bundle:
        bundle.extract("netflow.csv", tmp_path, filter="data")
    mapping = ColumnMapping.from_pairs(
        "ts=Time,duration=Duration,src=SrcDevice,dst=DstDevice,proto=Protocol,"
        "pkts_out=SrcPackets,pkts_in=DstPackets,bytes_out=SrcBytes,bytes_in=DstBytes"
    )
    reader = open_flows(tmp_path / "netflow.csv", mapping=mapping)
    flows = reader.read_all()
    assert reader.report.flows == 10_000
    assert reader.report.accounted()
    assert len(set(flows["src"]) | set(flows["dst"])) == 1_471
    assert flows["src"].nunique() == 1_176
    assert flows["dst"].nunique() == 353
    assert flows["proto"].value_counts().to_dict() == {"tcp": 8_924, "udp": 993, "icmp": 83}
    assert flows["ts"].min() == 118_781
    assert flows["ts"].max() == 119_886
