"""``iotgraph ingest``: read flow files into the store's windows."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from graphdb import StoreConfigError
from iotgraph.commands.common import StoreOption, console, error_console, fail, open_store_or_exit, show_progress

HELP = """Read flow files into the store's time windows.

Formats: Zeek conn.log (TSV, IoT-23 labelled TSV, CSV, JSON), NetFlow v9 CSV
(NF-* datasets), Argus binetflow, nfdump text, and any CSV through --map.
The format is detected from the first lines unless --format is given.

Each (source, destination, window) pair becomes one COMMUNICATED edge with the
window's aggregates. Ingesting the same flows again changes nothing: flows are
identified by the Zeek uid, or by a hash of the raw line.

Labels: a device is anomalous in a window when it originates at least one
malicious flow there; normal when it takes part in a labelled flow and
originates none malicious; unknown otherwise. An edge is malicious when it
carries at least one malicious flow. (`iotgraph train --label-rule any` also
counts devices that receive malicious flows.)

NetFlow v9 CSV (NF-* datasets) has no timestamps: every flow gets
--netflow-start, or, with --netflow-rate N, start + row number / N seconds.

Privacy: with --pseudonymise every address becomes a keyed pseudonym
(dev-<16 hex digits>, HMAC-SHA256 with the key in IOTGRAPH_PSEUDONYM_KEY, at
least 16 bytes) before anything is stored; only admins can resolve one
(`iotgraph pseudonym resolve ID`). Only the flow record's fields are stored,
never URIs, user agents or DNS names (see docs/privacy.md).
"""


def ingest(
    paths: list[Path] = typer.Argument(..., help="Flow files; .gz is read transparently.", exists=True, dir_okay=False),
    store: str = StoreOption,
    format: str = typer.Option(None, "--format", "-f", help="Force a format: zeek, zeek-csv, zeek-json, netflow, argus, nfdump, csv."),
    mapping: str = typer.Option(
        None, "--map", help="Column mapping for --format csv: a TOML file, or pairs like ts=Time,src=SrcIP,dst=DstIP."
    ),
    window: str = typer.Option(None, "--window", "-w", help="Window length, e.g. 5m, 1h (default 5m; fixed by the first ingest)."),
    step: str = typer.Option(None, "--step", help="Sliding-window step, e.g. 1m (default: the window length, tumbling)."),
    chunk_rows: int = typer.Option(100_000, "--chunk-rows", min=1, help="Flows read and written per transaction."),
    netflow_start: float = typer.Option(0.0, "--netflow-start", help="Epoch seconds given to NetFlow rows, which carry no time."),
    netflow_rate: float = typer.Option(None, "--netflow-rate", min=0.000001, help="Spread NetFlow rows at N flows per second."),
    pseudonymise: bool = typer.Option(
        False, "--pseudonymise", help="Store keyed pseudonyms instead of addresses; the key is read from IOTGRAPH_PSEUDONYM_KEY."
    ),
    keep_payload: bool = typer.Option(
        False,
        "--keep-payload",
        help="Allow payload fields (URIs, user agents, DNS names) to be stored; the flow record has none today, so this stores nothing more.",
    ),
) -> None:
    from graphdb.load import load_files
    from ingest.pseudonym import Pseudonymiser, PseudonymKeyError
    from ingest.readers import FlowFormatError

    column_mapping = _load_mapping(mapping) if mapping else None
    pseudonymiser = None
    if pseudonymise:
        try:
            pseudonymiser = Pseudonymiser.from_env()
        except PseudonymKeyError as error:
            fail(str(error))
    if keep_payload:
        # NOTE: no reader keeps a payload column, so the flag has nothing to let through; it guards future columns.
        error_console.print(
            "[yellow]--keep-payload:[/] the flow record has no payload fields (URIs, user agents, DNS names), "
            "so nothing more is stored; see docs/privacy.md",
            highlight=False,
        )
    opened = open_store_or_exit(store)
    table = Table(title=f"ingest into {opened.url}")
    table.add_column("file", overflow="fold")
    for column in ("format", "lines", "flows", "skipped", "header", "new", "known"):
        table.add_column(column, justify="left" if column == "format" else "right", no_wrap=True)

    rejected = 0
    with opened:
        for path in paths:
            try:
                result = load_files(
                    opened,
                    [path],
                    format=format,
                    mapping=column_mapping,
                    window=window,
                    step=step,
                    chunk_rows=chunk_rows,
                    progress=show_progress(),
                    netflow_start=netflow_start,
                    netflow_rate=netflow_rate,
                    pseudonymiser=pseudonymiser,
                )
            except StoreConfigError as error:
                fail(str(error))
            except (FlowFormatError, ValueError) as error:
                rejected += 1
                error_console.print(f"[bold red]rejected[/] {path}: {error}", highlight=False)
                continue
            window, step = None, None  # the first file fixed the store's windows
            for item in result.files:
                report = item.report
                table.add_row(
                    str(path),
                    report.format,
                    str(report.lines_read),
                    str(report.flows),
                    str(report.skipped),
                    str(report.header_lines),
                    str(item.new_flows),
                    str(item.known_flows + item.duplicate_ids_in_file),
                )
                _print_skips(path, report)
        counts = opened.counts()

    console.print(table)
    console.print(
        f"store now holds {counts.flows} flows in {counts.windows} windows, {counts.devices} devices, {counts.edges} edges"
    )
    if rejected:
        raise typer.Exit(2)


def _print_skips(path: Path, report) -> None:
    if not report.skipped:
        return
    reasons = ", ".join(f"{reason}: {count}" for reason, count in report.skipped_by_reason.most_common())
    error_console.print(f"[yellow]{path}: skipped {report.skipped} line(s)[/] ({reasons})", highlight=False)
    for bad in report.examples[:5]:
        error_console.print(f"  line {bad.line}: {bad.reason}: {bad.text!r}", highlight=False)


def _load_mapping(text: str):
    from ingest.mapping import ColumnMapping

    try:
        if Path(text).is_file():
            return ColumnMapping.from_toml(Path(text))
        return ColumnMapping.from_pairs(text)
    except ValueError as error:
        fail(f"invalid --map {text!r}: {error}")


def register(app: typer.Typer) -> None:
    app.command("ingest", help=HELP)(ingest)
