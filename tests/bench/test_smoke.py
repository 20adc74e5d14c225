"""Every benchmark still runs: each at toy size, once, with figures that make sense."""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, main
from bench.common import Figure, percentile
from bench.report import markdown
from ml.sampling import sampling_available


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


def run_quick(name: str, workdir: Path) -> list[Figure]:
    return importlib.import_module(f"bench.{name}").run(workdir, quick=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in BENCHMARKS if name != "sampling"])
def test_benchmark_runs(name: str, workdir: Path) -> None:
    figures = run_quick(name, workdir)

    assert figures
    assert all(math.isfinite(figure.value) and figure.value > 0 for figure in figures)
    assert all(figure.baseline_value is not None and figure.baseline_value > 0 for figure in figures)


@pytest.mark.slow
@pytest.mark.skipif(not sampling_available(), reason="needs torch-sparse or pyg-lib for NeighborLoader (make sampling); neither is installed")
def test_sampling_benchmark_runs(workdir: Path) -> None:
    figures = run_quick("sampling", workdir)

    assert [figure.metric for figure in figures] == ["sampled training over 500 seeds", "sampled scoring of 500 seeds", "peak memory, sampled"]
    assert all(figure.value > 0 for figure in figures)


def test_ingest_counts_every_flow(workdir: Path) -> None:
    figures = run_quick("ingest", workdir)

    assert figures[0].extra["flows"] == 2_000


def test_main_writes_results(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    main(["--quick", "--only", "export", "--workdir", str(tmp_path), "--output", str(output)])
    results = json.loads(output.read_text())

    assert results["quick"] is True
    assert results["figures"][0]["benchmark"] == "export"
    assert results["machine"]["cores"] >= 1


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


def test_percentile_extremes() -> None:
    assert (percentile([3.0, 1.0, 2.0], 0), percentile([3.0, 1.0, 2.0], 100)) == (1.0, 3.0)


def test_ratio_against_baseline() -> None:
    figure = Figure("export", "toy", "seconds", 3.0, "s", 1, "raw read", 1.5)

    assert figure.ratio == 2.0


def test_report_table_row() -> None:
    figure = Figure("export", "toy", "seconds", 3.0, "s", 3, "raw read", 1.5).to_dict()

    assert "| toy | seconds | 3.00 s | 3 | raw read | 1.50 s | 2.00 |" in markdown({"figures": [figure]})
