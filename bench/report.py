"""Markdown tables of a results file, for BENCHMARKS.md: ``python -m bench.report bench/results.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value / 2**20:,.0f} MiB"
    if unit == "s":
        return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"
    if unit == "flows/s":
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def markdown(results: dict[str, Any]) -> str:
    """Return one table per benchmark: case, metric, median, runs, baseline, baseline value and ratio."""
    lines = []
    by_benchmark: dict[str, list[dict[str, Any]]] = {}
    for figure in results["figures"]:
        by_benchmark.setdefault(figure["benchmark"], []).append(figure)
    for name, figures in by_benchmark.items():
        lines += [f"### {name}", "", "| case | metric | median | runs | baseline | baseline value | ratio |", "|---|---|---|---|---|---|---|"]
        for f in figures:
            ratio = "-" if f["ratio"] is None else f"{f['ratio']:.2f}"
            lines.append(
                f"| {f['case']} | {f['metric']} | {_value(f['value'], f['unit'])} | {f['runs']} | {f['baseline'] or '-'} "
                f"| {_value(f['baseline_value'], f['unit'])} | {ratio} |"
            )
        lines.append("")
    return "\n".join(lines)


RESULTS_HEADING = "## Results"


def update_page(page: Path, results: dict[str, Any]) -> None:
    """Replace the tables under ``## Results`` of a Markdown page, up to the next ``## `` heading."""
    text = page.read_text()
    start = text.index(RESULTS_HEADING) + len(RESULTS_HEADING)
    end = text.find("\n## ", start)
    end = len(text) if end < 0 else end + 1
    page.write_text(text[:start] + "\n\n" + markdown(results) + text[end:])


def main(argv: list[str]) -> int:
    update = None
    if "--update" in argv:
        position = argv.index("--update")
        update = Path(argv[position + 1])
        argv = argv[:position] + argv[position + 2 :]
    path = Path(argv[0]) if argv else Path(__file__).with_name("results.json")
    results = json.loads(path.read_text())
    if update is None:
        print(markdown(results))
    else:
        update_page(update, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
