"""Ingest of real captures into the embedded store: counts and idempotency."""

from __future__ import annotations

from graphdb import open_store
from graphdb.load import load_files
from tests.conftest import dataset_path

CAPTURE_34_1 = "iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"


def test_capture_34_1_counts(sqlite_url: str) -> None:
    path = dataset_path(CAPTURE_34_1)
    with open_store(sqlite_url) as store:
        result = load_files(store, [path], window="1h")
        report = result.files[0].report
        assert report.flows == 23_145
        assert report.skipped == 0
        assert report.accounted()
        counts = store.counts()
        assert counts.flows == 23_145
        assert counts.devices == 49
        assert store.device("192.168.1.195").label == "malicious"
        assert sum(w.flows for w in store.windows()) == 23_145


def test_reingest_changes_nothing(sqlite_url: str) -> None:
    path = dataset_path(CAPTURE_34_1)
    with open_store(sqlite_url) as store:
        load_files(store, [path], window="1h")
        before = store.counts()
        windows_before = [(w.start, w.flows, w.devices, w.edges) for w in store.windows()]
        again = load_files(store, [path])
        assert again.new_flows == 0
        assert again.known_flows == 23_145
        assert store.counts() == before
        assert [(w.start, w.flows, w.devices, w.edges) for w in store.windows()] == windows_before


def test_split_file_equals_whole(sqlite_url: str, tmp_path) -> None:
    path = dataset_path(CAPTURE_34_1)
    lines = path.read_bytes().splitlines(keepends=True)
    header = [line for line in lines[:10] if line.startswith(b"#")]
    body = [line for line in lines if not line.startswith(b"#")]
    half = len(body) // 2
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    first.write_bytes(b"".join(header + body[:half]))
    second.write_bytes(b"".join(header + body[half:]))

    with open_store(f"sqlite:///{tmp_path / 'whole.db'}") as whole, open_store(sqlite_url) as parts:
        load_files(whole, [path], window="1h")
        load_files(parts, [second, first], window="1h")
        assert parts.counts() == whole.counts()
        busiest = max(whole.windows(), key=lambda w: w.flows).start
        whole_edges = whole.export_window(busiest).edges.sort_values(["src", "dst"]).reset_index(drop=True)
        part_edges = parts.export_window(busiest).edges.sort_values(["src", "dst"]).reset_index(drop=True)
        assert whole_edges["flows"].tolist() == part_edges["flows"].tolist()
        assert whole_edges["bytes_out"].tolist() == part_edges["bytes_out"].tolist()
        assert whole_edges["dst_ports"].tolist() == part_edges["dst_ports"].tolist()
