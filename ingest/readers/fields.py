"""Vectorised conversion of raw columns into flow fields.

Every converter works on one batch of rows at once and records, per row, the
first reason that row cannot become a flow (``RowErrors``). Rows with a reason
are reported and skipped by ``build_flows``; no converter replaces an
unparsable value with a default. The only defaults are for values the source
marks as unset (Zeek's ``-``, an empty Argus port): counts become 0,
durations 0.0 and ports -1.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.readers.base import ReadReport
from ingest.record import coerce_flows, hash_flow_id, normalise_label

MAX_PORT = 65535
# Counts of 2^53 or more are not exact in the float64 the converters parse
# into (9007199254740993 reads as ...992), so they reject the row.
MAX_EXACT_COUNT = 2**53
# Epoch seconds a flow may carry: from 1970-01-01 up to the end of year 9999,
# the range Python's datetime (and so every report and API response) can show.
# A millisecond timestamp read as seconds (1.7e12) falls outside it.
MIN_TIMESTAMP = 0.0
MAX_TIMESTAMP = 253_402_300_800.0
# Device ids longer than this cannot be queried through the API, which caps ids at 256 characters.
MAX_ADDRESS_CHARS = 256
# Longer text in a kept column (service, protocol, state, attack, flow id) is not a flow field but garbage.
MAX_TEXT_CHARS = 1024

# IANA protocol numbers for the names Zeek and Argus write.
PROTOCOL_NAMES = {
    1: "icmp",
    2: "igmp",
    6: "tcp",
    17: "udp",
    47: "gre",
    50: "esp",
    51: "ah",
    58: "ipv6-icmp",
    132: "sctp",
}

_SURROGATE = re.compile("[\udc80-\udcff]")


class RowErrors:
    """The first reason each row of a batch was rejected, or None."""

    def __init__(self, size: int) -> None:
        self.bad = np.zeros(size, dtype=bool)
        self.reasons = np.full(size, None, dtype=object)

    def flag(self, mask: np.ndarray | pd.Series, reason: str) -> None:
        """Reject the rows where ``mask`` is true, unless an earlier reason already rejected them."""
        fresh = np.asarray(mask, dtype=bool) & ~self.bad
        if fresh.any():
            self.reasons[fresh] = reason
            self.bad |= fresh


@dataclass
class Rows:
    """The raw lines behind a batch of parsed rows: row ``i`` came from ``lines[i]`` at line ``numbers[i]``.

    Reports and flow ids use the original ``lines``. The parser reads
    ``blob``, the lines joined with ``\\n``, which a reader may rewrite first
    as long as the line count stays (the IoT-23 three-space columns).
    ``ordinals`` is each row's 0-based position among the data lines of the
    file, header lines not counted.
    """

    numbers: np.ndarray
    lines: list[bytes]
    ordinals: np.ndarray | None = None
    blob: bytes | None = None

    def parser_blob(self) -> bytes:
        if self.blob is None:
            self.blob = b"\n".join(self.lines)
        return self.blob

    def select(self, indices: np.ndarray) -> Rows:
        parsed = self.parser_blob().split(b"\n")
        return Rows(
            numbers=self.numbers[indices],
            lines=[self.lines[i] for i in indices],
            ordinals=None if self.ordinals is None else self.ordinals[indices],
            blob=b"\n".join(parsed[i] for i in indices),
        )


def count_fields(blob: bytes, *, sep: bytes, quoted: bool) -> np.ndarray:
    """Return the number of fields of each ``\\n``-separated line of ``blob``.

    With ``quoted`` a line that contains a double quote is split by the csv
    module, so separators inside quotes do not count. A line with an
    unbalanced quote gets -1.
    """
    data = np.frombuffer(blob, dtype=np.uint8)
    line_ends = np.append(np.flatnonzero(data == 0x0A), len(data))
    line_starts = np.concatenate(([0], line_ends[:-1] + 1))
    separators = np.flatnonzero(data == sep[0])
    counts = np.searchsorted(separators, line_ends) - np.searchsorted(separators, line_starts) + 1
    if quoted:
        quotes = np.flatnonzero(data == 0x22)
        if len(quotes):
            lines_with_quotes = np.unique(np.searchsorted(line_ends, quotes))
            for index in lines_with_quotes:
                line = blob[line_starts[index] : line_ends[index]]
                counts[index] = _count_quoted_fields(line, sep)
    return counts


def _count_quoted_fields(line: bytes, sep: bytes) -> int:
    text = line.decode("utf-8", "surrogateescape")
    try:
        rows = list(csv.reader([text], delimiter=sep.decode(), strict=True))
    except csv.Error:
        return -1
    if len(rows) != 1:
        return -1
    return len(rows[0])


def split_by_field_count(rows: Rows, *, sep: bytes, expected: int, quoted: bool, report: ReadReport) -> Rows:
    """Report the lines without exactly ``expected`` fields and return the others."""
    if len(sep) != 1:
        raise ValueError(f"separator {sep!r} must be one byte")
    counts = count_fields(rows.parser_blob(), sep=sep, quoted=quoted)
    wrong = counts != expected
    if not wrong.any():
        return rows

    bad = np.flatnonzero(wrong)
    reasons = [_field_count_reason(int(counts[i]), expected) for i in bad]
    report.add_bad_lines(rows.numbers[bad], reasons, [rows.lines[i] for i in bad])
    return rows.select(np.flatnonzero(~wrong))


def _field_count_reason(found: int, expected: int) -> str:
    if found < 0:
        return "unbalanced double quote"
    if found < expected:
        return f"too few fields (expected {expected})"
    return f"too many fields (expected {expected})"


def is_text_utf8(lines: Sequence[bytes]) -> bool:
    """Return whether every line decodes as UTF-8 (checked cheaply for all-ASCII batches)."""
    if all(map(bytes.isascii, lines)):
        return True
    for line in lines:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def has_nan_field(blob: bytes, *, sep: bytes) -> bool:
    """Return whether some field of ``blob`` reads NaN (any case, optionally signed, quoted or padded)."""
    lowered = blob.lower()
    found = lowered.find(b"nan")
    while found >= 0:
        start = max(lowered.rfind(sep, 0, found), lowered.rfind(b"\n", 0, found)) + 1
        end_sep = lowered.find(sep, found)
        end_line = lowered.find(b"\n", found)
        ends = [end for end in (end_sep, end_line) if end >= 0]
        end = min(ends) if ends else len(lowered)
        if lowered[start:end].strip(b' \t"').lstrip(b"+-") == b"nan":
            return True
        found = lowered.find(b"nan", end)
    return False


def read_columns(
    rows: Rows,
    *,
    sep: str,
    positions: dict[str, int],
    numeric: Collection[str],
    unset: Sequence[str] | Mapping[str, Sequence[str]],
    quoted: bool,
) -> tuple[pd.DataFrame, RowErrors]:
    """Parse the lines of ``rows`` with pandas' C parser; return the named columns and a fresh RowErrors.

    ``positions`` maps a column name to its 0-based field index; two names
    may share a field. Numeric columns come back as numbers with NaN where
    the source wrote an ``unset`` token (one list for all columns, or one per
    column name), or as text when a value does not parse. Callers must pass
    the converters the same unset tokens. A field that reads ``NaN`` would
    also parse as NaN and pass for unset, so such a batch is parsed as text
    throughout. Should the parser fail on the batch, each line is parsed on
    its own and the lines that still fail are flagged in the returned errors.
    """
    blob = rows.parser_blob()
    by_position: dict[int, list[str]] = {}
    for name, position in positions.items():
        by_position.setdefault(position, []).append(name)
    fast = not has_nan_field(blob, sep=sep.encode())
    dtype: dict[int, type] = {}
    na_values: dict[int, list[str]] = {}
    for position, names in by_position.items():
        if not fast or any(name not in numeric for name in names):
            dtype[position] = object
        else:
            tokens = unset.get(names[0], ()) if isinstance(unset, Mapping) else unset
            na_values[position] = list(tokens)

    options = {
        "sep": sep,
        "header": None,
        "usecols": sorted(by_position),
        "keep_default_na": False,
        "quoting": csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
        "engine": "c",
        "encoding": "utf-8",
        "encoding_errors": "surrogateescape",
        "skip_blank_lines": False,
        # A stray CR inside a line is data; lines were already split on LF.
        "lineterminator": "\n",
    }
    errors = RowErrors(len(rows.lines))
    try:
        frame = pd.read_csv(io.BytesIO(blob), dtype=dtype, na_values=na_values if fast else None, na_filter=fast, **options)
    except (pd.errors.ParserError, ValueError):
        frame = None
    if frame is None or len(frame) != len(rows.lines):
        frame = _read_line_by_line(blob, options=options, errors=errors)
    return pd.DataFrame({name: frame[position] for name, position in positions.items()}), errors


def _read_line_by_line(blob: bytes, *, options: dict, errors: RowErrors) -> pd.DataFrame:
    """Parse each line on its own, as text; a line the parser rejects becomes an empty row flagged unparsable."""
    columns = options["usecols"]
    records: list[dict] = []
    failed = []
    for line in blob.split(b"\n"):
        try:
            parsed = pd.read_csv(io.BytesIO(line), dtype=object, na_filter=False, **options)
        except (pd.errors.ParserError, ValueError):
            parsed = None
        if parsed is None or len(parsed) != 1:
            records.append(dict.fromkeys(columns))
            failed.append(True)
        else:
            records.append(parsed.iloc[0].to_dict())
            failed.append(False)
    errors.flag(np.array(failed, dtype=bool), "unparsable line")
    return pd.DataFrame.from_records(records, columns=columns)


def number_column(series: pd.Series, *, unset: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (values as float64, unset mask, invalid mask) for one raw column.

    A value is unset when it is missing (NaN, None) or one of the ``unset``
    tokens. It is invalid when it does not parse as a finite number.
    """
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        unset_mask = np.isnan(values)
        return values, unset_mask, np.isinf(values)

    missing = series.isna().to_numpy()
    unset_mask = missing | series.isin(list(unset)).to_numpy() if unset else missing
    set_values = series.where(~unset_mask)
    if set_values.map(type).eq(bool).any():
        # JSON true/false would otherwise pass as 1/0.
        set_values = set_values.where(set_values.map(type).ne(bool), "invalid")
    values = pd.to_numeric(set_values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    invalid = ~unset_mask & ~np.isfinite(values)
    values[unset_mask] = np.nan
    return values, unset_mask, invalid


def timestamps(series: pd.Series, *, column: str, errors: RowErrors, unset: Sequence[str]) -> np.ndarray:
    values, unset_mask, invalid = number_column(series, unset=unset)
    errors.flag(unset_mask, f"missing timestamp in {column}")
    errors.flag(invalid, f"invalid timestamp in {column}")
    return values


def durations(
    series: pd.Series, *, column: str, errors: RowErrors, unset: Sequence[str], scale: float = 1.0
) -> np.ndarray:
    """Return durations in seconds; unset values become 0.0 and ``scale`` converts the source unit."""
    values, unset_mask, invalid = number_column(series, unset=unset)
    errors.flag(invalid, f"invalid number in {column}")
    errors.flag(values < 0, f"negative duration in {column}")
    values = np.where(unset_mask | invalid, 0.0, values) * scale
    return values


def counts(series: pd.Series, *, column: str, errors: RowErrors, unset: Sequence[str]) -> np.ndarray:
    """Return byte or packet counts as int64; unset values become 0."""
    values, unset_mask, invalid = number_column(series, unset=unset)
    errors.flag(invalid, f"invalid number in {column}")
    with np.errstate(invalid="ignore"):
        fractional = ~invalid & ~unset_mask & (values != np.floor(values))
    errors.flag(fractional, f"invalid count in {column} (not a whole number)")
    negative = values < 0
    errors.flag(negative, f"negative count in {column}")
    too_large = values >= MAX_EXACT_COUNT
    errors.flag(too_large, f"count too large in {column} (2^53 or more)")
    return np.where(unset_mask | invalid | fractional | negative | too_large, 0, values).astype(np.int64)


def ports(
    series: pd.Series, *, column: str, errors: RowErrors, unset: Sequence[str], hexadecimal: bool = False
) -> np.ndarray:
    """Return ports as int64 in 0..65535, with -1 where the source left the port unset.

    With ``hexadecimal`` a value such as ``0x0303`` (Argus writes ICMP
    type/code and some ports that way) is read as base 16.
    """
    if hexadecimal and series.dtype == object:
        series = _hex_to_int(series)
    values, unset_mask, invalid = number_column(series, unset=unset)
    errors.flag(invalid, f"invalid port in {column}")
    with np.errstate(invalid="ignore"):
        fractional = ~invalid & ~unset_mask & (values != np.floor(values))
        out_of_range = (values < 0) | (values > MAX_PORT)
    errors.flag(fractional, f"invalid port in {column}")
    errors.flag(out_of_range, f"port out of range 0..{MAX_PORT} in {column}")
    return np.where(unset_mask | invalid | fractional | out_of_range, -1, values).astype(np.int64)


def _hex_to_int(series: pd.Series) -> pd.Series:
    text = series.astype(object)
    is_hex = text.map(lambda value: isinstance(value, str) and value.strip().lower().startswith("0x"))
    if not is_hex.any():
        return series
    converted = text.copy()
    converted[is_hex] = text[is_hex].map(_parse_hex)
    return converted


def _parse_hex(value: str) -> int | str:
    try:
        return int(value.strip(), 16)
    except ValueError:
        return value


def texts(series: pd.Series, *, unset: Sequence[str], default: str = "") -> np.ndarray:
    """Return text values as an object array, with ``default`` where the source left them unset."""
    values = series.to_numpy(dtype=object, na_value=None)
    # One hash lookup per value finds both the unset tokens and missing values.
    missing = series.isin([*unset, None, np.nan]).to_numpy()
    if missing.any():
        values = values.copy()
        values[missing] = default
    return values


def addresses(series: pd.Series, *, column: str, errors: RowErrors, unset: Sequence[str]) -> np.ndarray:
    """Return endpoint addresses as text; a missing or non-text address rejects the row."""
    values = texts(series, unset=unset, default="")
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        # Only JSON input can hold numbers or objects here.
        not_text = np.array([not isinstance(value, str) for value in values], dtype=bool)
        errors.flag(not_text, f"invalid address in {column}")
        values = np.where(not_text, "", values).astype(object)
    errors.flag(values == "", f"missing address in {column}")
    return values


def labels(series: pd.Series) -> np.ndarray:
    """Normalise label spellings to benign/malicious/unknown, once per distinct value."""
    raw = series.to_numpy(dtype=object, na_value=None)
    normalised = {value: normalise_label(value) for value in pd.unique(raw)}
    return np.array([normalised[value] for value in raw], dtype=object)


def protocol_names(series: pd.Series) -> np.ndarray:
    """Return lower-case protocol names, turning IANA numbers (6, 17, 1, ...) into names."""
    raw = series.to_numpy(dtype=object, na_value=None)
    names = {value: _protocol_name(value) for value in pd.unique(raw)}
    return np.array([names[value] for value in raw], dtype=object)


def _protocol_name(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    number = _as_int(text)
    if number is not None:
        return PROTOCOL_NAMES.get(number, str(number))
    return text.lower()


def _as_int(text: str) -> int | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if number.is_integer():
        return int(number)
    return None


def flag_invalid_utf8(columns: dict[str, pd.Series], *, errors: RowErrors) -> None:
    """Reject rows whose text in any of ``columns`` held bytes that are not UTF-8.

    Readers decode with ``surrogateescape``, so such bytes show up as lone
    surrogates. A flow with them could not be stored or compared as text.
    """
    for column, series in columns.items():
        if series.dtype != object and not pd.api.types.is_string_dtype(series.dtype):
            continue
        mask = series.map(lambda value: isinstance(value, str) and _SURROGATE.search(value) is not None)
        errors.flag(mask.to_numpy(dtype=bool), f"invalid UTF-8 in {column}")


def epoch_seconds(times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Convert datetimes (naive ones taken as UTC) to float epoch seconds, NaN where missing.

    Whole seconds and the fraction are converted apart, so a time printed
    with microseconds gives the same float as parsing its epoch text would.
    """
    values = pd.Series(times)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    missing = values.isna().to_numpy()
    nanoseconds = values.astype("datetime64[ns]").to_numpy().view(np.int64)
    whole, fraction = np.divmod(nanoseconds, 1_000_000_000)
    seconds = whole.astype(np.float64) + fraction / 1e9
    seconds[missing] = np.nan
    return seconds


def line_ids(rows: Rows, *, with_line_number: bool) -> np.ndarray:
    """Hash each raw line into a flow id, optionally salted with its line number.

    The line number keeps identical lines apart where each one is a distinct
    flow. The same file read twice still gets the same ids.
    """
    if with_line_number:
        ids = [hash_flow_id(line, source=str(number)) for line, number in zip(rows.lines, rows.numbers)]
    else:
        ids = [hash_flow_id(line) for line in rows.lines]
    return np.array(ids, dtype=object)


def build_flows(fields: dict[str, object], *, errors: RowErrors, rows: Rows, report: ReadReport) -> pd.DataFrame:
    """Check the values every reader shares, report the rejected rows and return the others as a normalised flow frame.

    ``fields`` maps every flow column to an array aligned with ``rows`` or to
    one scalar for all rows. See ``check_shared_fields`` for the checks.
    """
    check_shared_fields(fields, errors=errors)
    bad = np.flatnonzero(errors.bad)
    if len(bad):
        report.add_bad_lines(rows.numbers[bad], list(errors.reasons[bad]), [rows.lines[i] for i in bad])

    keep = ~errors.bad
    size = int(keep.sum())
    columns = {}
    for name, value in fields.items():
        if isinstance(value, np.ndarray):
            columns[name] = value[keep]
        else:
            columns[name] = np.full(size, value, dtype=object if isinstance(value, str) else None)
    return coerce_flows(pd.DataFrame(columns))


def check_shared_fields(fields: dict[str, object], *, errors: RowErrors) -> None:
    """Reject rows whose timestamp, addresses or text break limits that hold for every format; canonicalise addresses.

    A timestamp must lie in [MIN_TIMESTAMP, MAX_TIMESTAMP). An address loses
    surrounding whitespace, and an IPv6 address is rewritten in its RFC 5952
    form (``2001:DB8:0::1`` → ``2001:db8::1``, brackets dropped), so that one
    host is one device however the exporter spelt it. IPv4-mapped addresses
    (``::ffff:10.0.0.1``) stay IPv6 text. An address with a control character
    or longer than MAX_ADDRESS_CHARS, and other text longer than
    MAX_TEXT_CHARS, reject the row. ``fields`` is updated in place.
    """
    ts = fields.get("ts")
    if isinstance(ts, np.ndarray):
        with np.errstate(invalid="ignore"):
            outside = ~((ts >= MIN_TIMESTAMP) & (ts < MAX_TIMESTAMP))
        errors.flag(outside, "timestamp out of range (expected epoch seconds from 1970 to 9999)")

    for name, role in (("src", "source"), ("dst", "destination")):
        values = fields.get(name)
        if isinstance(values, np.ndarray):
            fields[name] = _canonical_addresses(values, role=role, errors=errors)

    for name in ("proto", "service", "conn_state", "attack", "flow_id"):
        values = fields.get(name)
        if isinstance(values, np.ndarray) and len(values):
            lengths = pd.Series(values, dtype=object).str.len().to_numpy(dtype=np.float64, na_value=0.0)
            errors.flag(lengths > MAX_TEXT_CHARS, f"text too long in {name} (more than {MAX_TEXT_CHARS} characters)")


def _canonical_addresses(values: np.ndarray, *, role: str, errors: RowErrors) -> np.ndarray:
    canonical = {value: _canonical_address(value) for value in pd.unique(values) if isinstance(value, str)}
    out = np.array([canonical.get(value, value) if isinstance(value, str) else value for value in values], dtype=object)
    text = pd.Series(out, dtype=object)
    # Whitespace alone (a stray carriage return, for one) leaves nothing after stripping.
    errors.flag((text == "").to_numpy(dtype=bool), f"missing {role} address")
    control = text.map(lambda value: isinstance(value, str) and _CONTROL_CHARACTER.search(value) is not None)
    errors.flag(control.to_numpy(dtype=bool), f"control character in {role} address")
    lengths = text.str.len().to_numpy(dtype=np.float64, na_value=0.0)
    errors.flag(lengths > MAX_ADDRESS_CHARS, f"{role} address too long (more than {MAX_ADDRESS_CHARS} characters)")
    return out


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _canonical_address(value: str) -> str:
    text = value.strip()
    if ":" not in text:
        return text
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return text
    if address.ipv4_mapped is not None:
        # Python 3.11 prints ::ffff:c0a8:114; the dotted form is the one captures use.
        return f"::ffff:{address.ipv4_mapped}"
    if "." in candidate:
        # Other embedded-IPv4 spellings (::1.2.3.4) stay as written rather than turn hexadecimal.
        return text
    return str(address)
