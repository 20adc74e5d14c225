"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The public captures live beside the checkout; CI lays them out the same way.
DATASETS_DIR = Path(os.environ.get("IOTGRAPH_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def dataset_path(relative: str) -> Path:
    """Return a file under the shared datasets folder, or skip the test saying what is missing."""
    path = DATASETS_DIR / relative
    if not path.exists():
        pytest.skip(f"needs the real capture {relative} under {DATASETS_DIR} (set IOTGRAPH_DATASETS); not found")
    return path


@pytest.fixture
def datasets_dir() -> Path:
    if not DATASETS_DIR.is_dir():
        pytest.skip(f"needs the shared datasets folder at {DATASETS_DIR} (set IOTGRAPH_DATASETS); not found")
    return DATASETS_DIR


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES_DIR


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"
