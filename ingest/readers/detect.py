"""Format detection from the first bytes of a file (after gunzip).

Only the first 64 KiB are read. Archives and formats iotgraph cannot read
(Suricata EVE JSON) are rejected here with a message saying what to do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ingest.readers.base import FlowFormatError
from ingest.readers.source import GZIP_MAGIC, read_head

FORMATS: tuple[str, ...] = ("zeek", "zeek-csv", "zeek-json", "netflow", "argus", "nfdump", "csv")

ARGUS_TIME_START = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?[,\t]")
CTU13_FIELD_COUNT = 15
TAR_MAGIC_OFFSET = 257
# Magic bytes -> (what the file is, the command that unpacks it).
OTHER_COMPRESSION = {
    b"BZh": ("bzip2-compressed", "bunzip2"),
    b"\xfd7zXZ\x00": ("xz-compressed", "unxz"),
    b"\x28\xb5\x2f\xfd": ("zstd-compressed", "unzstd"),
    b"PK\x03\x04": ("a zip archive", "unzip"),
}


def check_file(path: Path) -> bytes:
    """Return the head of ``path``, raising FlowFormatError for an empty file or an archive."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise FlowFormatError(f"{path} is a directory; pass one flow file (Zeek logs: conn.log)")

    with open(path, "rb") as raw:
        magic = raw.read(8)
    for prefix, (kind, tool) in OTHER_COMPRESSION.items():
        if magic.startswith(prefix):
            raise FlowFormatError(
                f"{path} is {kind}, which the readers do not open; unpack it first "
                f"(`{tool} {path.name}`) and pass the flow file; gzip (.gz) files are read directly"
            )

    head = read_head(path)
    name = path.name.lower()
    is_tar = len(head) > TAR_MAGIC_OFFSET + 5 and head[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + 5] == b"ustar"
    if is_tar or name.endswith((".tar.gz", ".tgz", ".tar")):
        command = "tar xf" if magic[:2] != GZIP_MAGIC else "tar xzf"
        raise FlowFormatError(
            f"{path} is a tar archive, which the readers do not open; extract it first "
            f"(`{command} {path.name}`) and pass the flow file inside"
        )
    if not head.strip():
        raise FlowFormatError(f"{path}: empty file; there are no flows to read")
    return head


def detect_format(path: str | Path, *, head: bytes | None = None) -> str:
    """Return the format name of ``path`` (one of ``FORMATS`` except csv), or raise FlowFormatError."""
    path = Path(path)
    if head is None:
        head = check_file(path)
    lines = [line.rstrip(b"\r") for line in head.split(b"\n")]
    non_empty = [line for line in lines if line.strip()]
    first = non_empty[0].strip()
    text = first.decode("utf-8", "replace")

    if first.startswith(b"#"):
        if any(line.startswith((b"#separator", b"#fields")) for line in non_empty):
            return "zeek"
        return _unknown(path, text)
    if first.startswith(b"{"):
        return _detect_json(path, first, text)
    if text.startswith(("Date flow start", "Date first seen")):
        return "nfdump"

    names = {name.strip().strip('"') for name in re.split(r"[,\t]", text)}
    if {"ts", "id.orig_h", "id.resp_h"} <= names and "," in text:
        return "zeek-csv"
    if "IPV4_SRC_ADDR" in names:
        return "netflow"
    lower = {name.lower() for name in names}
    if {"starttime", "srcaddr"} <= lower:
        return "argus"
    if ARGUS_TIME_START.match(text):
        separator = "\t" if "\t" in text else ","
        if text.count(separator) == CTU13_FIELD_COUNT - 1:
            return "argus"
    return _unknown(path, text)


def _detect_json(path: Path, first: bytes, text: str) -> str:
    try:
        record = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _unknown(path, text)
    if not isinstance(record, dict):
        return _unknown(path, text)
    if "event_type" in record:
        raise FlowFormatError(
            f"{path} is Suricata EVE JSON (records with event_type), which iotgraph does not read; "
            "pass Zeek conn logs of the same traffic (zeek -r capture.pcap), or flows exported to CSV with --map"
        )
    if "id.orig_h" in record:
        return "zeek-json"
    return _unknown(path, text)


def _unknown(path: Path, first_line: str) -> str:
    raise FlowFormatError(
        f"{path}: unknown flow format (first line {first_line[:80]!r}); supported formats are "
        f"{', '.join(FORMATS)}; choose one with --format, or describe a CSV's columns with --map"
    )
