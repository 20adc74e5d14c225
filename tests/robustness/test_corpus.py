"""Every hand-made nasty input gets its documented outcome (corpus/expected.json), and a short fuzz run finds nothing.

An outcome is one of: the line is skipped with a reason, the value is read
(in the stated canonical form), or the file is rejected with a clear
message. Never a traceback, never a silently changed value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz import CSV_MAPPING, FuzzStats, check_file, fuzz_once, load_seeds
from graphdb import open_store
from graphdb.load import load_files
from ingest.readers import FlowFormatError, open_flows

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "robustness" / "corpus"
EXPECTED = {name: entry for name, entry in json.loads((CORPUS / "expected.json").read_text()).items() if not name.startswith("_")}
# Inputs the short fuzz run tries in `make test`; `make fuzz` runs for minutes.
SHORT_FUZZ_EXAMPLES = 300


def read(name: str):
    reader = open_flows(CORPUS / name, mapping=CSV_MAPPING if name == "seed_mapped.csv" else None)
    return reader, reader.read_all()


def test_corpus_fully_documented() -> None:
    files = {path.name for path in CORPUS.iterdir() if path.name != "expected.json"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(name for name, entry in EXPECTED.items() if "rejected" in entry))
def test_corpus_file_rejected(name: str) -> None:
    with pytest.raises(FlowFormatError, match=EXPECTED[name]["rejected"].replace("(", r"\(").replace(")", r"\)")):
        read(name)


@pytest.mark.parametrize("name", sorted(name for name, entry in EXPECTED.items() if "rejected" not in entry))
def test_corpus_file_read(name: str) -> None:
    entry = EXPECTED[name]
    reader, flows = read(name)
    skipped = {str(bad.line): bad.reason for bad in reader.report.examples}

    assert reader.format == entry["format"]
    assert skipped == entry["skipped"]
    assert reader.report.accounted()
    if "flow_ids" in entry:
        assert list(flows["flow_id"]) == entry["flow_ids"]
    else:
        assert len(flows) == entry["flows"]


@pytest.mark.parametrize("name", sorted(name for name, entry in EXPECTED.items() if "rejected" not in entry))
def test_corpus_file_every_format(name: str) -> None:
    # Forced into every other format, the file is read or rejected, never crashes a reader.
    assert check_file(CORPUS / name) == []


def test_ipv6_spellings_canonical() -> None:
    _, flows = read("ipv6_mapped.log")
    pairs = list(zip(flows["src"], flows["dst"]))
    assert pairs == [
        ("fe80::1%eth0", "ff02::1:2"),
        ("::ffff:192.168.1.20", "192.168.1.1"),
        ("2001:db8::1", "2001:db8::2"),
        ("2001:db8::1", "2001:db8::2"),
        ("192.168.1.21", "192.168.1.1"),
    ]


def test_ipv6_spellings_one_device(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        load_files(store, [CORPUS / "ipv6_mapped.log"], window="5m")
        device = store.device("2001:db8::1")
        ids = {d.id for d in store.list_devices(limit=100)}
    assert "2001:DB8:0:0:0:0:0:1" not in ids
    assert device is not None


def test_ipv4_mapped_internal(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        load_files(store, [CORPUS / "ipv6_mapped.log"], window="5m")
        device = store.device("::ffff:192.168.1.20")
    assert device.internal is True


def test_duplicate_uid_first_wins(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        result = load_files(store, [CORPUS / "duplicate_uids.log"], window="5m")
        edges = store.export_window(1_699_999_800.0).edges
        counts = store.counts()
    assert counts.flows == 2
    assert result.files[0].duplicate_ids_in_file == 1
    # CDu1 (10 bytes) and CDu2 (20 bytes) count; the second CDu1 (30 bytes) does not.
    assert int(edges["bytes_out"].sum()) == 30


def test_time_extremes_values() -> None:
    _, flows = read("time_extremes.log")
    assert list(flows["ts"]) == [1_700_000_600.0, 1_700_000_000.0, 0.0, 253_402_300_799.0]


def test_short_fuzz_run(tmp_path: Path) -> None:
    seeds = load_seeds(CORPUS)
    stats = FuzzStats()

    @settings(max_examples=SHORT_FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        problems = fuzz_once(data, seeds=seeds, workdir=tmp_path, stats=stats)
        assert problems == []

    fuzz()
    assert stats.inputs >= SHORT_FUZZ_EXAMPLES
