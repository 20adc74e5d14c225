"""Options and helpers shared by the experiment commands."""

from __future__ import annotations

import logging
import os

import typer

from ml.evaluate_data import Dataset, load_dataset, short_name

DATASETS = os.environ.get("IOTGRAPH_DATASETS", "../shared/datasets")
CAPTURE_34_1 = f"{DATASETS}/iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"
CAPTURE_008 = f"{DATASETS}/stratosphere-sdt/008-zeek-mixed/data/conn.log.labeled"
SIMULATION = "sim:devices=200,hours=6,attacks=mirai,seed=1"

InputsArgument = typer.Argument(None, help="Labelled flow files or sim: networks; default: capture 34-1, capture 008 and a simulated network.")
WindowOption = typer.Option("15m", "--window", help="Window length, e.g. 15m.")
EpochsOption = typer.Option(100, "--epochs", min=1, help="Training epochs of the neural models.")
SeedOption = typer.Option(0, "--seed", help="Seed of torch, numpy and the splits.")


def setup() -> None:
    """Use one torch thread (the graphs are small) and log warnings only."""
    import torch

    torch.set_num_threads(int(os.environ.get("IOTGRAPH_TORCH_THREADS", "1")))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def load_inputs(inputs: list[str] | None, *, window: str) -> list[Dataset]:
    sources = inputs or [CAPTURE_34_1, CAPTURE_008, SIMULATION]
    return [load_dataset(source, window=window, name=short_name(source)) for source in sources]
