"""Hand-written flows for the contract suite, with counts worked out by hand."""

from __future__ import annotations

import pandas as pd

from ingest.record import coerce_flows

T0 = 1_699_999_800.0  # a multiple of 300, so 5-minute windows start exactly here


def flow(
    ts: float,
    src: str,
    dst: str,
    *,
    dst_port: int = 443,
    proto: str = "tcp",
    bytes_out: int = 100,
    bytes_in: int = 200,
    state: str = "SF",
    label: str = "benign",
    attack: str = "-",
    flow_id: str,
) -> dict:
    return {
        "ts": ts,
        "src": src,
        "src_port": 40000,
        "dst": dst,
        "dst_port": dst_port,
        "proto": proto,
        "service": "-",
        "duration": 1.5,
        "bytes_out": bytes_out,
        "bytes_in": bytes_in,
        "pkts_out": 2,
        "pkts_in": 3,
        "conn_state": state,
        "label": label,
        "attack": attack,
        "flow_id": flow_id,
    }


def sample_flows() -> pd.DataFrame:
    """Eight flows over two 5-minute windows.

    Window T0: camera .10 -> cloud 52.1.1.1 twice (ports 443, 443), .10 -> .1 DNS,
    infected .66 scans .10 and .11 on port 23 (S0, malicious).
    Window T0+300: .10 -> cloud once, .66 -> 198.51.100.7 C&C twice (malicious).
    """
    rows = [
        flow(T0 + 1, "192.168.1.10", "52.1.1.1", flow_id="f1"),
        flow(T0 + 2, "192.168.1.10", "52.1.1.1", flow_id="f2", bytes_out=300),
        flow(T0 + 3, "192.168.1.10", "192.168.1.1", dst_port=53, proto="udp", flow_id="f3"),
        flow(T0 + 4, "192.168.1.66", "192.168.1.10", dst_port=23, state="S0", label="malicious", attack="PartOfAHorizontalPortScan", bytes_out=0, bytes_in=0, flow_id="f4"),
        flow(T0 + 5, "192.168.1.66", "192.168.1.11", dst_port=23, state="S0", label="malicious", attack="PartOfAHorizontalPortScan", bytes_out=0, bytes_in=0, flow_id="f5"),
        flow(T0 + 301, "192.168.1.10", "52.1.1.1", flow_id="f6"),
        flow(T0 + 302, "192.168.1.66", "198.51.100.7", dst_port=6667, label="malicious", attack="C&C", flow_id="f7"),
        flow(T0 + 303, "192.168.1.66", "198.51.100.7", dst_port=6667, label="malicious", attack="C&C", flow_id="f8"),
    ]
    return coerce_flows(pd.DataFrame(rows))
