"""Format detection from the first bytes of a file."""

from __future__ import annotations

import bz2
import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from ingest.readers import FlowFormatError, detect_format

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("zeek/iot23_labeled.log", "zeek"),
        ("zeek/stratosphere_labeled.log", "zeek"),
        ("zeek/conn.csv", "zeek-csv"),
        ("zeek/conn.json", "zeek-json"),
        ("netflow/nf_small.csv", "netflow"),
        ("argus/with_header.binetflow", "argus"),
        ("argus/tabs.binetflow", "argus"),
        ("argus/ctu13_headerless.binetflow", "argus"),
        ("nfdump/long_labeled.txt", "nfdump"),
        ("nfdump/line_format.txt", "nfdump"),
        ("bad/bom.csv", "zeek-csv"),
        ("bad/crlf.log", "zeek"),
        ("bad/header_only.log", "zeek"),
        ("bad/header_only_netflow.csv", "netflow"),
    ],
)
def test_detects_format(relative: str, expected: str) -> None:
    assert detect_format(FIXTURES / relative) == expected


def test_detects_gzipped_netflow(tmp_path: Path) -> None:
    path = tmp_path / "nf.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "netflow" / "nf_small.csv").read_bytes()))
    assert detect_format(path) == "netflow"


def test_unknown_lists_formats_and_options() -> None:
    with pytest.raises(FlowFormatError) as caught:
        detect_format(FIXTURES / "bad" / "unknown_format.txt")
    message = str(caught.value)
    assert "unknown flow format" in message
    assert "zeek, zeek-csv, zeek-json, netflow, argus, nfdump, csv" in message
    assert "--format" in message
    assert "--map" in message


def test_unknown_json_object(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"time": 1, "host": "a"}\n')
    with pytest.raises(FlowFormatError, match="unknown flow format"):
        detect_format(path)


def test_eve_rejected_with_reason() -> None:
    with pytest.raises(FlowFormatError, match="Suricata EVE JSON .* Zeek conn logs"):
        detect_format(FIXTURES / "bad" / "eve.json")


def test_tar_gz_rejected(tmp_path: Path) -> None:
    member = (FIXTURES / "csv" / "enterprise.csv").read_bytes()
    path = tmp_path / "flows.tar.gz"
    with tarfile.open(path, "w:gz") as bundle:
        info = tarfile.TarInfo("enterprise.csv")
        info.size = len(member)
        bundle.addfile(info, io.BytesIO(member))
    with pytest.raises(FlowFormatError, match="tar archive.*`tar xzf flows.tar.gz`"):
        detect_format(path)


def test_tar_detected_without_suffix(tmp_path: Path) -> None:
    member = (FIXTURES / "csv" / "enterprise.csv").read_bytes()
    path = tmp_path / "flows.bin"
    with tarfile.open(path, "w") as bundle:
        info = tarfile.TarInfo("enterprise.csv")
        info.size = len(member)
        bundle.addfile(info, io.BytesIO(member))
    with pytest.raises(FlowFormatError, match="tar archive.*`tar xf flows.bin`"):
        detect_format(path)


def test_zip_rejected(tmp_path: Path) -> None:
    path = tmp_path / "flows.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("conn.log", "x")
    with pytest.raises(FlowFormatError, match="zip archive.*unzip flows.zip"):
        detect_format(path)


def test_bzip2_rejected(tmp_path: Path) -> None:
    path = tmp_path / "conn.log.bz2"
    path.write_bytes(bz2.compress(b"#separator \\x09\n"))
    with pytest.raises(FlowFormatError, match="bzip2-compressed.*bunzip2"):
        detect_format(path)


def test_empty_file_rejected() -> None:
    with pytest.raises(FlowFormatError, match="empty file"):
        detect_format(FIXTURES / "bad" / "empty.log")


def test_comment_without_zeek_header_unknown(tmp_path: Path) -> None:
    path = tmp_path / "notes.log"
    path.write_text("# exported flows\n1,2,3\n")
    with pytest.raises(FlowFormatError, match="unknown flow format"):
        detect_format(path)


def test_headerless_argus_needs_fifteen_fields(tmp_path: Path) -> None:
    path = tmp_path / "flows.binetflow"
    path.write_text("2011/08/18 15:47:57.983212,0.000197,udp,147.32.84.165\n")
    with pytest.raises(FlowFormatError, match="unknown flow format"):
        detect_format(path)
