"""The normalised flow record every reader produces.

Readers yield pandas DataFrames whose columns are exactly ``FLOW_COLUMNS``
with the dtypes in ``FLOW_DTYPES``. One row is one connection, as seen by the
originator: ``bytes_out``/``pkts_out`` travel originator to responder, and
``bytes_in``/``pkts_in`` travel back.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

BENIGN = "benign"
MALICIOUS = "malicious"
UNKNOWN = "unknown"
LABELS = (BENIGN, MALICIOUS, UNKNOWN)

# Column name -> pandas dtype. Ports are -1 when the protocol has none (ICMP,
# ARP); byte and packet counts are 0 when the source left them unset.
FLOW_DTYPES: dict[str, str] = {
    "ts": "float64",
    "src": "object",
    "src_port": "int64",
    "dst": "object",
    "dst_port": "int64",
    "proto": "object",
    "service": "object",
    "duration": "float64",
    "bytes_out": "int64",
    "bytes_in": "int64",
    "pkts_out": "int64",
    "pkts_in": "int64",
    "conn_state": "object",
    "label": "object",
    "attack": "object",
    "flow_id": "object",
}
FLOW_COLUMNS: tuple[str, ...] = tuple(FLOW_DTYPES)

# Zeek conn_state values for connections that never completed a handshake or
# were rejected: S0 (no reply), REJ (rejected), RSTO/RSTR/RSTOS0/RSTRH (reset
# early), SH/SHR (half-open), OTH (no SYN seen). Flows of NetFlow-style
# sources carry no state and count as not failed.
FAILED_CONN_STATES = frozenset({"S0", "REJ", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"})


def empty_flows() -> pd.DataFrame:
    """Return an empty flow frame with the normalised columns and dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in FLOW_DTYPES.items()})


def normalise_label(raw: object) -> str:
    """Map a dataset's label spelling to benign, malicious or unknown.

    IoT-23 writes ``Malicious``/``Benign``/``benign``, Stratosphere captures add
    ``Background``, NF-* sets use ``0``/``1``, and CTU-13 binetflow uses
    ``flow=From-Botnet-…``/``flow=From-Normal-…``/``flow=Background-…``.
    """
    if raw is None:
        return UNKNOWN
    text = str(raw).strip().lower()
    if text in ("", "-", "(empty)", "nan", "none", "background") or text.startswith("flow=background"):
        return UNKNOWN
    if text in ("malicious", "1", "attack", "anomaly", "true") or "botnet" in text or "malware" in text:
        return MALICIOUS
    if text in ("benign", "0", "normal", "false") or "normal" in text:
        return BENIGN
    return UNKNOWN


def hash_flow_id(raw_line: str | bytes, *, source: str = "") -> str:
    """Derive a stable flow id from the raw line, for formats without a Zeek uid.

    ``source`` separates identical lines of different files only when the
    caller wants that; by default the same line always maps to the same id, so
    ingesting a file twice, or two copies of it, changes nothing.
    """
    if isinstance(raw_line, str):
        raw_line = raw_line.encode("utf-8", "surrogateescape")
    digest = hashlib.blake2b(source.encode() + b"\x00" + raw_line.rstrip(b"\r\n"), digest_size=12)
    return "h" + digest.hexdigest()


def coerce_flows(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the flow columns, in order, with their dtypes."""
    missing = [name for name in FLOW_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"flow frame is missing columns {missing}; readers must fill every column of FLOW_COLUMNS")
    out = frame.loc[:, list(FLOW_COLUMNS)].copy()
    for name, dtype in FLOW_DTYPES.items():
        if dtype == "object":
            out[name] = out[name].astype(object)
        else:
            out[name] = out[name].astype(np.dtype(dtype))
    return out.reset_index(drop=True)
