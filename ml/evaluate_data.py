"""Labelled inputs of an evaluation: flow files, a simulated network, or a store, loaded as windows with features."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from graphdb import open_store
from graphdb.load import load_files
from graphdb.model import WindowGraph
from graphdb.store import GraphStore
from ingest.features import device_features
from ingest.simulate import ATTACKS, SimulationConfig, SimulationResult, simulate

logger = logging.getLogger(__name__)

SIMULATION_PREFIX = "sim:"
_SIMULATION_KEYS = {"devices": int, "hours": float, "seed": int, "attacks": str, "infected_fraction": float}


@dataclass
class Dataset:
    """One network's windows, oldest first, with their ``device_features`` frames.

    ``simulation`` is the ground truth of a simulated network (infection
    times), None for captures and stores.
    """

    name: str
    graphs: list[WindowGraph]
    features: list[pd.DataFrame]
    simulation: SimulationResult | None = None

    @property
    def starts(self) -> list[float]:
        return [float(graph.window.start) for graph in self.graphs]


def parse_simulation(spec: str) -> SimulationConfig:
    """Parse ``sim:devices=200,hours=6,attacks=mirai+lateral,seed=1`` into a simulation config.

    Keys are ``devices``, ``hours``, ``seed``, ``infected_fraction`` and
    ``attacks`` (scenario names joined by ``+``). Missing keys keep the
    simulator's defaults.
    """
    body = spec[len(SIMULATION_PREFIX) :] if spec.startswith(SIMULATION_PREFIX) else spec
    values: dict[str, object] = {}
    for item in filter(None, body.split(",")):
        key, separator, text = item.partition("=")
        key = key.strip()
        if not separator or key not in _SIMULATION_KEYS:
            raise ValueError(
                f"invalid simulation setting {item!r} in {spec!r}: expected key=value with a key among "
                f"{', '.join(_SIMULATION_KEYS)}, e.g. sim:devices=200,hours=6,attacks=mirai,seed=1"
            )
        if key == "attacks":
            names = tuple(name for name in text.split("+") if name)
            unknown = [name for name in names if name not in ATTACKS]
            if unknown:
                raise ValueError(f"unknown attack {unknown[0]!r} in {spec!r}: expected names among {', '.join(ATTACKS)} joined by +")
            values[key] = names
            continue
        try:
            values[key] = _SIMULATION_KEYS[key](text)
        except ValueError:
            raise ValueError(f"invalid {key} {text!r} in {spec!r}: expected a {_SIMULATION_KEYS[key].__name__}") from None
    return SimulationConfig(**values)


def dataset_from_store(store: GraphStore, *, name: str | None = None) -> Dataset:
    """Export every window of a store, oldest first, and compute its device features."""
    graphs = store.export_windows([window.start for window in store.windows()])
    features = [device_features(graph.devices, graph.edges) for graph in graphs]
    return Dataset(name=name or getattr(store, "url", "store"), graphs=graphs, features=features)


def load_dataset(source: str | Path, *, window: str = "15m", name: str | None = None) -> Dataset:
    """Ingest a flow file, or simulate a ``sim:`` network, into a temporary store and return its windows.

    The store and the simulated log live in a temporary folder that is
    removed before returning, so only the exported windows stay in memory.
    """
    text = str(source)
    label = name or (text if text.startswith(SIMULATION_PREFIX) else Path(text).name)
    with tempfile.TemporaryDirectory(prefix="iotgraph-evaluate-") as folder:
        simulation = None
        path = Path(text)
        if text.startswith(SIMULATION_PREFIX):
            config = parse_simulation(text)
            path = Path(folder) / "conn.log"
            simulation = simulate(config, path)
        elif not path.is_file():
            raise FileNotFoundError(f"input {text!r} not found; pass a flow file or a simulation such as sim:devices=200,hours=6")
        with open_store(f"sqlite:///{Path(folder) / 'evaluate.db'}") as store:
            load_files(store, [path], window=window)
            dataset = dataset_from_store(store, name=label)
    dataset.simulation = simulation
    logger.info(
        "loaded %s: %d windows, %d device-windows",
        label,
        len(dataset.graphs),
        sum(len(graph.devices) for graph in dataset.graphs),
    )
    return dataset


def short_name(source: str | Path) -> str:
    """Return a readable name for an input: the simulation spec, or the capture folder and file name."""
    text = str(source)
    if text.startswith(SIMULATION_PREFIX):
        return text
    path = Path(text)
    parent = path.parent.name
    if parent in ("", "data", "bro"):
        parent = path.parent.parent.name
    return f"{parent}/{path.name}" if parent else path.name
