"""Fixtures of the DGL tests: a hand-built window and a store of labelled scanner flows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from graphdb import GraphStore, open_store
from graphdb.load import build_batch
from graphdb.model import WindowGraph, WindowSpec
from tests.dgl.support import A, B, C, D
from tests.ml.builders import WINDOW, edge, scanner_flows, window_graph

# The test graphs have tens of nodes, so one thread is faster and leaves the other cores to other tests.
torch.set_num_threads(1)


@pytest.fixture
def hand_graph() -> WindowGraph:
    """B sends 3 malicious flows to A, C has one benign self-loop, and D has no edge."""
    return window_graph(
        [
            edge(B, A, flows=3, bytes_out=10, bytes_in=1000, pkts_out=1, pkts_in=9, malicious_flows=3),
            edge(C, C, flows=1, benign_flows=1),
        ],
        devices=[D],
    )


@pytest.fixture
def scanner_store(sqlite_url: str) -> Iterator[GraphStore]:
    """A SQLite store of 4 five-minute windows in which 10.0.0.100 scans telnet ports."""
    store = open_store(sqlite_url)
    spec = WindowSpec(size=WINDOW, step=WINDOW)
    store.set_window_spec(spec)
    store.upsert_batch(build_batch(scanner_flows(4), spec))
    yield store
    store.close()
