"""A trained store on a simulated network, copied fresh for every worker test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.worker.support import TrainedStore, simulated_log, trained_store


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> TrainedStore:
    folder = tmp_path_factory.mktemp("worker-template")
    return trained_store(folder / "store", simulated_log(folder))


@pytest.fixture
def trained(trained_template: TrainedStore, tmp_path: Path) -> TrainedStore:
    """A private copy of the template, so jobs and scores of one test never reach another."""
    folder = tmp_path / "store"
    shutil.copytree(trained_template.folder, folder)
    return TrainedStore(
        url=f"sqlite:///{folder / 'store.db'}",
        models=folder / "models",
        model_version=trained_template.model_version,
        folder=folder,
    )
