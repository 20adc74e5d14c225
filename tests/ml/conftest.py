"""Fixtures of the ml tests: stores filled with hand-made flows."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
import pytest
import torch

from graphdb import GraphStore, open_store
from graphdb.load import build_batch
from graphdb.model import WindowSpec
from tests.ml.builders import WINDOW

# The test graphs have tens of nodes, so spreading their scatter operations
# over threads costs more than it saves, above all when other tests share the CPUs.
torch.set_num_threads(1)


@pytest.fixture
def make_store(sqlite_url: str) -> Iterator[Callable[[pd.DataFrame], GraphStore]]:
    """Return a function that ingests a flow frame into a fresh SQLite store with 5-minute windows."""
    opened: list[GraphStore] = []

    def fill(flows: pd.DataFrame) -> GraphStore:
        store = open_store(sqlite_url)
        opened.append(store)
        spec = WindowSpec(size=WINDOW, step=WINDOW)
        store.set_window_spec(spec)
        store.upsert_batch(build_batch(flows, spec))
        return store

    yield fill
    for store in opened:
        store.close()
