"""Hand-written Zeek conn log lines and a scorer that records its calls, for the watch tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from graphdb.model import DeviceScore
from graphdb.store import GraphStore
from graphdb.watch import ScoredWindow

T0 = 1_699_999_800.0  # a multiple of 300, so 5-minute windows start exactly here
T1 = T0 + 300
T2 = T0 + 600
WINDOW = 300.0

FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "orig_pkts", "resp_pkts", "label",
)  # fmt: skip
HEADER = (
    "#separator \\x09\n"
    "#unset_field\t-\n"
    "#empty_field\t(empty)\n"
    "#path\tconn\n"
    "#fields\t" + "\t".join(FIELDS) + "\n"
)


def tsv_line(ts: float, uid: str, src: str = "192.168.1.10", dst: str = "192.168.1.1", *, label: str = "benign") -> str:
    """Return one conn.log line of a DNS flow from ``src`` to ``dst``."""
    values = (f"{ts:.6f}", uid, src, "40000", dst, "53", "udp", "dns", "0.1", "40", "80", "SF", "1", "1", label)
    return "\t".join(values) + "\n"


def json_line(ts: float, uid: str, src: str = "192.168.1.10", dst: str = "192.168.1.1") -> str:
    record = {
        "ts": ts, "uid": uid, "id.orig_h": src, "id.orig_p": 40000, "id.resp_h": dst, "id.resp_p": 53,
        "proto": "udp", "service": "dns", "duration": 0.1, "orig_bytes": 40, "resp_bytes": 80,
        "conn_state": "SF", "orig_pkts": 1, "resp_pkts": 1,
    }  # fmt: skip
    return json.dumps(record) + "\n"


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="ascii", newline="\n") as handle:
        handle.write(text)


class RecordingScorer:
    """Score every device of a window 0.5 and remember which windows were scored, in order."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, store: GraphStore, starts: Sequence[float]) -> list[ScoredWindow]:
        results = []
        for start in starts:
            self.calls.append(float(start))
            devices = store.export_window(start).devices["id"].tolist()
            scores = [DeviceScore(device_id=device, window_start=start, score=0.5, model_version="test-1") for device in devices]
            store.write_scores(start, scores, "test-1", scored_at=1.0)
            results.append(ScoredWindow(window_start=start, model_version="test-1", max_score=0.5, top_device=devices[0]))
        return results
