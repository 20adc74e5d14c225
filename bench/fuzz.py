"""Fuzzing of the flow readers with mutated copies of a hand-made corpus.

Every input is read with format detection and with each format forced. A
reader may reject the whole file with ``FlowFormatError``; any other
exception is a crash. The flows it returns must keep the flow record's
invariants (``check_flows``), and its report must account for every line.

Mutations come from Hypothesis, so a failure shrinks to a small input. One
mutation replaces a field with an awkward value (``NaN``,
``99999999999999999999``, ``::ffff:10.0.0.1``, NUL bytes ...). Others
insert or delete bytes, duplicate, swap or drop lines, change line endings,
or gzip the result and truncate it.

Usage (``make fuzz`` runs the long version)::

    python -m bench.fuzz --minutes 10 --out out/fuzz

Failing inputs are written to ``--out`` with a text file naming the
format and the problem. The exit status is 1 when any input failed.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import math
import re
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.mapping import ColumnMapping
from ingest.readers import FlowFormatError, open_flows
from ingest.record import FLOW_DTYPES, LABELS

logger = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "robustness" / "corpus"
# The mapping the csv format is fuzzed with; it fits corpus/seed_mapped.csv.
CSV_MAPPING = ColumnMapping.from_pairs(
    "ts=Time,src=SrcDevice,dst=DstDevice,proto=Protocol,dst_port=DstPort,bytes_out=SrcBytes,bytes_in=DstBytes"
)
# (format, mapping): None detects the format from the file.
FORMAT_CASES: tuple[tuple[str | None, ColumnMapping | None], ...] = (
    (None, None),
    ("zeek", None),
    ("zeek-csv", None),
    ("zeek-json", None),
    ("netflow", None),
    ("argus", None),
    ("nfdump", None),
    ("csv", CSV_MAPPING),
)
# Field values that broke, or could break, a converter.
AWKWARD_VALUES: tuple[bytes, ...] = (
    b"", b"-", b"(empty)", b"NaN", b"nan", b"-nan", b"inf", b"-inf", b"1e400", b"1e300", b"-1", b"0", b"-0",
    b"65535", b"65536", b"99999999999999999999", b"9223372036854775808", b"9007199254740993", b"2.5", b"0x10",
    b"0x", b"1_000", b" 7 ", b"True", b"null", b"[]", b"{}", b"\x00", b"\x00\x00", b"\xff\xfe", b"\xef\xbb\xbf",
    b'"', b'""', b"'", b"#fields", b"#", b"\r", b"\t", b",", b"::ffff:10.0.0.1", b"2001:DB8::1", b"fe80::1%eth0",
    b"[::1]", b"10.0.0.1:80", b"2023-11-14 22:13:20", b"2023/11/14 22:13:20.5", b"1700000000000", b"-5000000000",
    b"253402300800", b"A" * 300,
)  # fmt: skip
# Epoch seconds the readers accept: 1970-01-01 up to the end of year 9999.
MIN_TS, MAX_TS = 0.0, 253_402_300_800.0
MAX_ADDRESS_CHARS = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEPARATORS = re.compile(rb"(\t|,|\s+)")


@dataclass
class Problem:
    """One failed check of one input read as one format."""

    format: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.format}] {self.kind}: {self.detail}"


def check_flows(flows: pd.DataFrame) -> list[str]:
    """Return every way ``flows`` breaks the flow record's invariants; empty when it keeps them all."""
    found: list[str] = []
    if list(flows.columns) != list(FLOW_DTYPES):
        return [f"columns {list(flows.columns)} differ from the flow record"]
    for name, dtype in FLOW_DTYPES.items():
        if str(flows[name].dtype) != dtype:
            found.append(f"column {name} has dtype {flows[name].dtype}, expected {dtype}")
    if found or flows.empty:
        return found

    ts = flows["ts"].to_numpy()
    if not np.all((ts >= MIN_TS) & (ts < MAX_TS)):
        found.append(f"timestamps outside [{MIN_TS:g}, {MAX_TS:g}): {ts[~((ts >= MIN_TS) & (ts < MAX_TS))][:3]}")
    for name in ("src_port", "dst_port"):
        ports = flows[name].to_numpy()
        if not np.all((ports >= -1) & (ports <= 65535)):
            found.append(f"{name} outside -1..65535: {ports[(ports < -1) | (ports > 65535)][:3]}")
    for name in ("bytes_out", "bytes_in", "pkts_out", "pkts_in"):
        if (flows[name] < 0).any():
            found.append(f"negative {name}: {flows.loc[flows[name] < 0, name].head(3).tolist()}")
    duration = flows["duration"].to_numpy()
    if not np.all(np.isfinite(duration) & (duration >= 0)):
        found.append("duration not a finite non-negative number")
    for name in ("src", "dst"):
        found.extend(_address_problems(flows[name], name))
    if not flows["label"].isin(LABELS).all():
        found.append(f"labels outside {LABELS}: {sorted(set(flows['label']) - set(LABELS))}")
    flow_ids = flows["flow_id"]
    if not flow_ids.map(lambda value: isinstance(value, str) and value != "").all():
        found.append("empty or non-text flow_id")
    return found


def _address_problems(values: pd.Series, name: str) -> list[str]:
    found = []
    for value in pd.unique(values):
        if not isinstance(value, str) or not value:
            found.append(f"{name} {value!r} is not a non-empty text")
        elif _CONTROL.search(value):
            found.append(f"{name} {value!r} contains a control character")
        elif value != value.strip():
            found.append(f"{name} {value!r} has surrounding whitespace")
        elif len(value) > MAX_ADDRESS_CHARS:
            found.append(f"{name} of {len(value)} characters exceeds {MAX_ADDRESS_CHARS}")
    return found


def check_file(path: Path, *, cases: Sequence[tuple[str | None, ColumnMapping | None]] = FORMAT_CASES) -> list[Problem]:
    """Read ``path`` once per format case and return every problem found."""
    problems: list[Problem] = []
    for format_name, mapping in cases:
        label = format_name or "detected"
        try:
            reader = open_flows(path, format=format_name, mapping=mapping, chunk_rows=7)
            frames = list(reader)
        except FlowFormatError:
            continue
        except Exception as error:  # noqa: BLE001  # any other exception is the defect this fuzzer looks for
            detail = "".join(traceback.format_exception(error)[-3:]).strip()
            problems.append(Problem(label, "crash", detail))
            continue
        if not reader.report.accounted():
            problems.append(Problem(label, "accounting", reader.report.summary()))
        for frame in frames:
            problems.extend(Problem(label, "invariant", text) for text in check_flows(frame))
    return problems


def load_seeds(corpus: Path = CORPUS_DIR) -> dict[str, bytes]:
    """Return every corpus file's content by name, gunzipped where it is complete gzip."""
    seeds = {}
    for path in sorted(corpus.iterdir()):
        if not path.is_file() or path.suffix in (".md", ".toml") or path.name == "expected.json":
            continue
        content = path.read_bytes()
        if content[:2] == b"\x1f\x8b":
            try:
                content = gzip.decompress(content)
            except (OSError, EOFError, zlib.error):
                pass  # the truncated and damaged gzip seeds stay as they are
        seeds[path.name] = content
    return seeds


# -- mutations -----------------------------------------------------------------


def _replace_field(data: st.DataObject, content: bytes) -> bytes:
    lines = content.split(b"\n")
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    parts = _SEPARATORS.split(lines[index])
    # Even positions are fields, odd positions the separators between them.
    field = 2 * data.draw(st.integers(0, len(parts) // 2), label="field")
    value = data.draw(st.sampled_from(AWKWARD_VALUES) | st.binary(max_size=12), label="value")
    parts[field] = value
    lines[index] = b"".join(parts)
    return b"\n".join(lines)


def _insert_bytes(data: st.DataObject, content: bytes) -> bytes:
    at = data.draw(st.integers(0, len(content)), label="at")
    value = data.draw(st.sampled_from(AWKWARD_VALUES) | st.binary(min_size=1, max_size=8), label="inserted")
    return content[:at] + value + content[at:]


def _delete_span(data: st.DataObject, content: bytes) -> bytes:
    at = data.draw(st.integers(0, len(content)), label="at")
    length = data.draw(st.integers(1, 40), label="length")
    return content[:at] + content[at + length :]


def _edit_lines(data: st.DataObject, content: bytes) -> bytes:
    lines = content.split(b"\n")
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    action = data.draw(st.sampled_from(("duplicate", "drop", "swap", "move_first")), label="line action")
    if action == "duplicate":
        lines.insert(index, lines[index])
    elif action == "drop":
        del lines[index]
    elif action == "swap" and index + 1 < len(lines):
        lines[index], lines[index + 1] = lines[index + 1], lines[index]
    elif action == "move_first":
        lines.insert(0, lines.pop(index))
    return b"\n".join(lines)


def _line_endings(data: st.DataObject, content: bytes) -> bytes:
    ending = data.draw(st.sampled_from((b"\r\n", b"\r", b"\n\n", b"\x00\n")), label="ending")
    lines = content.split(b"\n")
    chosen = data.draw(st.sets(st.integers(0, max(len(lines) - 2, 0)), max_size=4), label="lines")
    return b"".join(line + (ending if i in chosen else b"\n") for i, line in enumerate(lines[:-1])) + lines[-1]


MUTATIONS: tuple[Callable[[st.DataObject, bytes], bytes], ...] = (
    _replace_field,
    _replace_field,
    _insert_bytes,
    _delete_span,
    _edit_lines,
    _line_endings,
)


def mutate(data: st.DataObject, seeds: dict[str, bytes]) -> tuple[str, bytes]:
    """Draw a seed and apply up to four mutations; sometimes gzip the result and cut it short."""
    name = data.draw(st.sampled_from(sorted(seeds)), label="seed")
    content = seeds[name]
    for _ in range(data.draw(st.integers(0, 4), label="mutations")):
        content = data.draw(st.sampled_from(MUTATIONS), label="mutation")(data, content)
    if data.draw(st.integers(0, 9), label="gzip") == 0:
        content = gzip.compress(content, mtime=0)
        if data.draw(st.booleans(), label="truncate gzip"):
            content = content[: data.draw(st.integers(0, len(content)), label="gzip length")]
    return name, content


# -- runs ----------------------------------------------------------------------


@dataclass
class FuzzStats:
    inputs: int = 0
    failures: int = 0


def fuzz_once(data: st.DataObject, *, seeds: dict[str, bytes], workdir: Path, stats: FuzzStats) -> list[Problem]:
    """Check one mutated input; return its problems."""
    name, content = mutate(data, seeds)
    path = workdir / f"input-{stats.inputs % 2}.{name.rsplit('.', 1)[-1]}"
    path.write_bytes(content)
    stats.inputs += 1
    return check_file(path)


def run(*, seconds: float, out: Path | None, examples_per_round: int = 50) -> FuzzStats:
    """Fuzz for about ``seconds``; write each failing input to ``out``; return the counts."""
    seeds = load_seeds()
    stats = FuzzStats()
    with tempfile.TemporaryDirectory(prefix="iotgraph-fuzz-") as folder:
        workdir = Path(folder)
        for name in sorted(seeds):
            path = workdir / name
            path.write_bytes((CORPUS_DIR / name).read_bytes())
            stats.inputs += 1
            _record(check_file(path), content=path.read_bytes(), name=name, out=out, stats=stats)

        deadline = time.monotonic() + seconds
        round_number = 0
        while time.monotonic() < deadline:
            round_number += 1

            @settings(max_examples=examples_per_round, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(st.data())
            def round_(data: st.DataObject) -> None:
                problems = fuzz_once(data, seeds=seeds, workdir=workdir, stats=stats)
                if problems:
                    raise AssertionError("\n".join(map(str, problems)))

            try:
                round_()
            except Exception as error:  # noqa: BLE001  # Hypothesis re-raises the shrunk failure (or reports it flaky); keep it and go on
                failing = max(workdir.glob("input-*"), key=lambda p: p.stat().st_mtime)
                _record([Problem("shrunk", type(error).__name__, str(error))], content=failing.read_bytes(), name=f"round{round_number}", out=out, stats=stats)
            logger.info("fuzz round %d done: %d inputs, %d failures", round_number, stats.inputs, stats.failures)
    return stats


def _record(problems: list[Problem], *, content: bytes, name: str, out: Path | None, stats: FuzzStats) -> None:
    if not problems:
        return
    stats.failures += 1
    logger.error("input %s failed:\n%s", name, "\n".join(map(str, problems)))
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / f"failure-{stats.failures:03d}-{name}.input").write_bytes(content)
    (out / f"failure-{stats.failures:03d}-{name}.txt").write_text("\n".join(map(str, problems)) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description="Fuzz the flow readers with mutated corpus files.")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to fuzz, in minutes (default 10)")
    parser.add_argument("--out", type=Path, default=None, help="folder for failing inputs (default: log them only)")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.minutes) and args.minutes > 0):
        parser.error(f"invalid --minutes {args.minutes}: expected a positive number")

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The readers log every skipped line; at this volume only the fuzzer's own lines help.
    logging.getLogger("ingest").setLevel(logging.CRITICAL)
    started = time.monotonic()
    stats = run(seconds=args.minutes * 60.0, out=args.out)
    elapsed = time.monotonic() - started
    print(f"fuzzed {stats.inputs} inputs ({len(FORMAT_CASES)} format cases each) in {elapsed:.0f}s: {stats.failures} failing")
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
