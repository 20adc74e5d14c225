"""``bench.report --update`` rewrites only the tables under ``## Results``."""

from __future__ import annotations

from pathlib import Path

from bench.report import update_page

RESULTS = {
    "figures": [
        {
            "benchmark": "ingest",
            "case": "simulated 10 flows",
            "metric": "seconds",
            "value": 0.5,
            "unit": "s",
            "runs": 3,
            "baseline": "pandas.read_csv",
            "baseline_value": 0.25,
            "ratio": 2.0,
        }
    ]
}


def test_update_replaces_results_only(tmp_path: Path) -> None:
    page = tmp_path / "BENCHMARKS.md"
    page.write_text("# Benchmarks\n\nintro\n\n## Results\n\nold table\n\n## Scaling\n\nkept prose\n")
    update_page(page, RESULTS)
    text = page.read_text()
    assert "old table" not in text
    assert "| simulated 10 flows | seconds |" in text
    assert "| 2.00 |" in text
    assert text.startswith("# Benchmarks\n\nintro\n\n## Results\n\n### ingest")
    assert text.endswith("## Scaling\n\nkept prose\n")
