"""Property tests: readers give back what was written, and aggregation keeps every flow count.

Readers: generated flows written in each format read back with the same
values. One mangled line never changes the flows of the other lines, and it
is either read or skipped with a reason. Aggregation: a window's edges carry
exactly its flows; a file split in two and ingested in either order equals
the whole file; a sliding window counts each flow size/step times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bench.fuzz import check_flows
from graphdb.load import build_batch
from graphdb.model import WindowSpec
from graphdb.sqlite import SqliteStore
from ingest.mapping import ColumnMapping
from ingest.readers import open_flows
from ingest.record import coerce_flows

T0_US = 1_700_000_100_000_000  # microseconds; a multiple of 300 s
SETTINGS = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}


@dataclass(frozen=True)
class Flow:
    """One generated connection, with every value exactly representable in every format."""

    ts_us: int
    src: str
    src_port: int
    dst: str
    dst_port: int
    proto: str
    duration_ms: int
    bytes_out: int
    bytes_in: int
    pkts_out: int
    pkts_in: int
    malicious: bool

    @property
    def ts(self) -> float:
        return float(f"{self.ts_us // 1_000_000}.{self.ts_us % 1_000_000:06d}")


ipv4 = st.builds(lambda a, b: f"10.{a}.{b}.1", st.integers(0, 3), st.integers(0, 3))
ipv6 = st.builds(lambda a: f"2001:db8::{a:x}", st.integers(1, 6))
# Below 2^52, so that a sum of two (Argus TotBytes) is still exact.
counts = st.integers(0, 2**52 - 1)


def flows_strategy(*, addresses: st.SearchStrategy[str] = ipv4 | ipv6, max_size: int = 12) -> st.SearchStrategy[list[Flow]]:
    flow = st.builds(
        Flow,
        ts_us=st.integers(T0_US, T0_US + 3600 * 1_000_000),
        src=addresses,
        src_port=st.integers(0, 65535),
        dst=addresses,
        dst_port=st.integers(0, 65535),
        proto=st.sampled_from(sorted(PROTOCOLS)),
        duration_ms=st.integers(0, 10_000_000),
        bytes_out=counts,
        bytes_in=counts,
        pkts_out=st.integers(0, 10**9),
        pkts_in=st.integers(0, 10**9),
        malicious=st.booleans(),
    )
    return st.lists(flow, min_size=1, max_size=max_size)


# -- rendering ---------------------------------------------------------------------

ZEEK_COLUMNS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "label"]


def zeek_values(index: int, flow: Flow) -> list[str]:
    return [
        f"{flow.ts:.6f}", f"C{index}", flow.src, str(flow.src_port), flow.dst, str(flow.dst_port), flow.proto,
        f"{flow.duration_ms / 1000:.3f}", str(flow.bytes_out), str(flow.bytes_in), str(flow.pkts_out), str(flow.pkts_in),
        "Malicious" if flow.malicious else "Benign",
    ]  # fmt: skip


def render_zeek(flows: list[Flow]) -> list[str]:
    header = ["#separator \\x09", "#fields\t" + "\t".join(ZEEK_COLUMNS)]
    return header + ["\t".join(zeek_values(i, flow)) for i, flow in enumerate(flows)]


def render_zeek_csv(flows: list[Flow]) -> list[str]:
    return [",".join(ZEEK_COLUMNS)] + [",".join(zeek_values(i, flow)) for i, flow in enumerate(flows)]


def render_zeek_json(flows: list[Flow]) -> list[str]:
    lines = []
    for index, flow in enumerate(flows):
        values = zeek_values(index, flow)
        record = dict(zip(ZEEK_COLUMNS, values))
        for name in ("ts", "duration"):
            record[name] = float(record[name])
        for name in ("id.orig_p", "id.resp_p", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts"):
            record[name] = int(record[name])
        lines.append(json.dumps(record))
    return lines


def render_netflow(flows: list[Flow]) -> list[str]:
    header = "FLOW_START_MILLISECONDS,IPV4_SRC_ADDR,L4_SRC_PORT,IPV4_DST_ADDR,L4_DST_PORT,PROTOCOL,IN_BYTES,IN_PKTS,OUT_BYTES,OUT_PKTS,FLOW_DURATION_MILLISECONDS,Label"
    rows = [
        f"{flow.ts_us // 1000},{flow.src},{flow.src_port},{flow.dst},{flow.dst_port},{PROTOCOLS[flow.proto]},"
        f"{flow.bytes_out},{flow.pkts_out},{flow.bytes_in},{flow.pkts_in},{flow.duration_ms},{int(flow.malicious)}"
        for flow in flows
    ]
    return [header, *rows]


def render_argus(flows: list[Flow]) -> list[str]:
    header = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes,SrcBytes,DstBytes,SrcPkts,DstPkts,Label"
    rows = []
    for flow in flows:
        start = datetime.fromtimestamp(flow.ts_us // 1_000_000, tz=timezone.utc).strftime("%Y/%m/%d %H:%M:%S")
        label = "flow=From-Botnet-V1" if flow.malicious else "flow=From-Normal-V1"
        rows.append(
            f"{start}.{flow.ts_us % 1_000_000:06d},{flow.duration_ms / 1000:.3f},{flow.proto},{flow.src},{flow.src_port},->,"
            f"{flow.dst},{flow.dst_port},CON,{flow.pkts_out + flow.pkts_in},{flow.bytes_out + flow.bytes_in},"
            f"{flow.bytes_out},{flow.bytes_in},{flow.pkts_out},{flow.pkts_in},{label}"
        )
    return [header, *rows]


MAPPING = ColumnMapping.from_pairs(
    "ts=T,src=S,dst=D,src_port=SP,dst_port=DP,proto=P,duration=Dur,bytes_out=BO,bytes_in=BI,pkts_out=PO,pkts_in=PI,label=L,"
    "time_format=epoch_us,duration_unit=ms"
)


def render_mapped(flows: list[Flow]) -> list[str]:
    header = "T,S,D,SP,DP,P,Dur,BO,BI,PO,PI,L"
    rows = [
        f"{flow.ts_us},{flow.src},{flow.dst},{flow.src_port},{flow.dst_port},{flow.proto},{flow.duration_ms},"
        f"{flow.bytes_out},{flow.bytes_in},{flow.pkts_out},{flow.pkts_in},{'malicious' if flow.malicious else 'benign'}"
        for flow in flows
    ]
    return [header, *rows]


@dataclass(frozen=True)
class Format:
    name: str
    render: object
    ipv4_only: bool = False
    ts_precision: int = 6  # decimal digits of the seconds that survive the format
    mapping: ColumnMapping | None = None


FORMATS = [
    Format("zeek", render_zeek),
    Format("zeek-csv", render_zeek_csv),
    Format("zeek-json", render_zeek_json),
    Format("netflow", render_netflow, ipv4_only=True, ts_precision=3),
    Format("argus", render_argus),
    Format("csv", render_mapped, mapping=MAPPING),
]


def expected_frame(flows: list[Flow], *, ts_precision: int) -> pd.DataFrame:
    scale = 10 ** (6 - ts_precision)
    return pd.DataFrame(
        {
            "ts": [(flow.ts_us // scale * scale) / 1e6 for flow in flows],
            "src": [flow.src for flow in flows],
            "src_port": [flow.src_port for flow in flows],
            "dst": [flow.dst for flow in flows],
            "dst_port": [flow.dst_port for flow in flows],
            "proto": [flow.proto for flow in flows],
            "bytes_out": [flow.bytes_out for flow in flows],
            "bytes_in": [flow.bytes_in for flow in flows],
            "pkts_out": [flow.pkts_out for flow in flows],
            "pkts_in": [flow.pkts_in for flow in flows],
            "label": ["malicious" if flow.malicious else "benign" for flow in flows],
        }
    )


def read_lines(tmp_path: Path, lines: list[str], fmt: Format) -> tuple[pd.DataFrame, object]:
    path = tmp_path / f"flows.{fmt.name}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader = open_flows(path, format=fmt.name, mapping=fmt.mapping)
    return reader.read_all(), reader.report


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns every format keeps exactly; ts rounded to the microsecond that every format writes."""
    out = frame.loc[:, ["ts", "src", "src_port", "dst", "dst_port", "proto", "bytes_out", "bytes_in", "pkts_out", "pkts_in", "label"]].copy()
    out["ts"] = out["ts"].round(6)
    return out.reset_index(drop=True)


# -- readers -------------------------------------------------------------------------


def _roundtrip(fmt: Format, flows: list[Flow], tmp_path: Path) -> None:
    if fmt.ipv4_only:
        assume(all(":" not in f.src and ":" not in f.dst for f in flows))
    read, report = read_lines(tmp_path, fmt.render(flows), fmt)
    expected = comparable(expected_frame(flows, ts_precision=fmt.ts_precision))
    assert report.skipped == 0, report.summary()
    pd.testing.assert_frame_equal(comparable(read), expected, check_dtype=False)


def test_zeek_roundtrip(tmp_path: Path) -> None:
    given(flows_strategy())(SETTINGS(lambda flows: _roundtrip(FORMATS[0], flows, tmp_path)))()


def test_zeek_csv_roundtrip(tmp_path: Path) -> None:
    given(flows_strategy())(SETTINGS(lambda flows: _roundtrip(FORMATS[1], flows, tmp_path)))()


def test_zeek_json_roundtrip(tmp_path: Path) -> None:
    given(flows_strategy())(SETTINGS(lambda flows: _roundtrip(FORMATS[2], flows, tmp_path)))()


def test_netflow_roundtrip(tmp_path: Path) -> None:
    given(flows_strategy(addresses=ipv4))(SETTINGS(lambda flows: _roundtrip(FORMATS[3], flows, tmp_path)))()


def test_argus_roundtrip(tmp_path: Path) -> None:
    given(flows_strategy())(SETTINGS(lambda flows: _roundtrip(FORMATS[4], flows, tmp_path)))()


def test_mapped_csv_roundtrip(tmp_path: Path) -> None:
    given(flows_strategy())(SETTINGS(lambda flows: _roundtrip(FORMATS[5], flows, tmp_path)))()


# Replacement text for one field of one line: awkward values and random printable text.
MANGLED_FIELD = st.sampled_from(["", "-", "NaN", "inf", "-1", "65536", "99999999999999999999", "1e400", "0x10", '"', "\x00", "  "]) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=10
)


@given(data=st.data(), fmt=st.sampled_from(FORMATS), flows=flows_strategy(max_size=6))
@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_mangled_line_isolated(tmp_path_factory, data: st.DataObject, fmt: Format, flows: list[Flow]) -> None:
    if fmt.ipv4_only:
        assume(all(":" not in f.src and ":" not in f.dst for f in flows))
    lines = fmt.render(flows)
    header_lines = len(lines) - len(flows)
    victim = data.draw(st.integers(0, len(flows) - 1), label="mangled flow")
    separator = "\t" if fmt.name == "zeek" else ","
    fields = lines[header_lines + victim].split(separator)
    position = data.draw(st.integers(0, len(fields) - 1), label="field")
    fields[position] = data.draw(MANGLED_FIELD, label="value")
    mangled = separator.join(fields)
    assume(not mangled.startswith("#") and mangled.strip())
    lines[header_lines + victim] = mangled

    read, report = read_lines(tmp_path_factory.mktemp("mangled"), lines, fmt)
    others = [flow for i, flow in enumerate(flows) if i != victim]
    expected_others = comparable(expected_frame(others, ts_precision=fmt.ts_precision))
    got = comparable(read)

    assert report.accounted(), report.summary()
    assert len(read) + report.skipped == len(flows)
    assert check_flows(read) == []
    # Every untouched line comes back unchanged, whatever happened to its neighbour.
    got_rows = set(got.itertuples(index=False, name=None))
    missing = [row for row in expected_others.itertuples(index=False, name=None) if row not in got_rows]
    assert missing == []


# -- aggregation ---------------------------------------------------------------------


def flow_frame(flows: list[Flow], *, prefix: str = "f") -> pd.DataFrame:
    rows = [
        {
            "ts": flow.ts, "src": flow.src, "src_port": flow.src_port, "dst": flow.dst, "dst_port": flow.dst_port,
            "proto": flow.proto, "service": "", "duration": flow.duration_ms / 1000, "bytes_out": flow.bytes_out % 10**9,
            "bytes_in": flow.bytes_in % 10**9, "pkts_out": flow.pkts_out, "pkts_in": flow.pkts_in,
            "conn_state": "SF", "label": "malicious" if flow.malicious else "benign", "attack": "", "flow_id": f"{prefix}{i}",
        }
        for i, flow in enumerate(flows)
    ]  # fmt: skip
    return coerce_flows(pd.DataFrame(rows))


def ingest(frames: list[pd.DataFrame], spec: WindowSpec) -> SqliteStore:
    store = SqliteStore(":memory:")
    store.set_window_spec(spec)
    for frame in frames:
        if len(frame):
            store.upsert_batch(build_batch(frame, spec))
    return store


def snapshot(store: SqliteStore) -> dict:
    """Everything ingest wrote: windows, every edge column, and every device's ingest fields."""
    windows = [(w.start, w.end, w.flows, w.devices, w.edges) for w in store.windows()]
    edges = {}
    for window in store.windows():
        frame = store.export_window(window.start).edges
        for row in frame.to_dict("records"):
            key = (row["window_start"], row["src"], row["dst"])
            edges[key] = {name: (round(value, 6) if isinstance(value, float) else value) for name, value in row.items()}
    devices = {(d.id, d.internal, d.first_seen, d.last_seen, d.label) for d in store.list_devices(limit=10_000)}
    return {"windows": windows, "edges": edges, "devices": devices, "flows": store.counts().flows}


@given(flows=flows_strategy(max_size=30))
@SETTINGS
def test_window_edges_carry_its_flows(flows: list[Flow]) -> None:
    spec = WindowSpec(size=300.0, step=300.0)
    store = ingest([flow_frame(flows)], spec)
    starts = np.floor(np.array([flow.ts for flow in flows]) / 300.0) * 300.0
    for window in store.windows():
        edges = store.export_window(window.start).edges
        expected = int((starts == window.start).sum())
        assert int(edges["flows"].sum()) == expected
        assert window.flows == expected
    store.close()


@given(flows=flows_strategy(max_size=30), data=st.data())
@SETTINGS
def test_split_ingest_equals_whole(flows: list[Flow], data: st.DataObject) -> None:
    spec = WindowSpec(size=300.0, step=data.draw(st.sampled_from([300.0, 60.0]), label="step"))
    whole = flow_frame(flows)
    cut = data.draw(st.integers(0, len(whole)), label="cut")
    parts = [whole.iloc[:cut], whole.iloc[cut:]]
    if data.draw(st.booleans(), label="second part first"):
        parts.reverse()

    together = ingest([whole], spec)
    apart = ingest(parts, spec)
    assert snapshot(apart) == snapshot(together)
    together.close()
    apart.close()


@given(flows=flows_strategy(max_size=30), step=st.sampled_from([60.0, 100.0, 150.0]))
@SETTINGS
def test_sliding_window_counts_each_flow(flows: list[Flow], step: float) -> None:
    spec = WindowSpec(size=300.0, step=step)
    store = ingest([flow_frame(flows)], spec)
    copies = int(300.0 / step)
    assert sum(window.flows for window in store.windows()) == copies * len(flows)
    for flow in flows:
        containing = [w for w in store.windows() if w.start <= flow.ts < w.start + 300.0]
        assert len(containing) == copies
    store.close()
