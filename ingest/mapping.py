"""Column mapping from any CSV to the flow record.

A mapping names, for each flow field, the source column that contains it::

    ts = "Time"
    src = "SrcDevice"
    dst = "DstDevice"

``ts``, ``src`` and ``dst`` are required. Every other flow field is optional
and gets the value of an unset field when not mapped: -1 for ports, 0 for
counts, 0.0 for duration, an empty string for text and ``unknown`` for the
label. Options:

- ``time_format``: ``epoch`` (seconds, the default), ``epoch_ms``,
  ``epoch_us``, or a ``strftime`` pattern such as ``%Y-%m-%d %H:%M:%S``.
  Times without a zone are read as UTC.
- ``duration_unit``: ``s`` (default) or ``ms``.
- ``separator``: one character, default ``,``; ``tab`` and ``semicolon`` are
  accepted by name.
- ``label_values``: source label value → benign, malicious or unknown;
  values not listed go through ``normalise_label``.

A TOML file contains the fields under ``[columns]``, the options at top level
and ``[label_values]`` as a table. On the command line the same mapping is
``ts=Time,src=SrcDevice,dst=DstDevice,time_format=epoch``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.record import FLOW_COLUMNS, LABELS

REQUIRED_FIELDS = ("ts", "src", "dst")
TIME_FORMATS = ("epoch", "epoch_ms", "epoch_us")
DURATION_UNITS = {"s": 1.0, "ms": 0.001}
SEPARATOR_NAMES = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
OPTION_KEYS = ("time_format", "duration_unit", "separator")
TOML_KEYS = ("columns", "label_values", *OPTION_KEYS)


class ColumnMappingError(ValueError):
    """A mapping names an unknown flow field, lacks a required one, or has an invalid option."""


@dataclass(frozen=True)
class ColumnMapping:
    """Flow field → source column, with the options needed to read the values."""

    columns: Mapping[str, str]
    time_format: str = "epoch"
    duration_unit: str = "s"
    separator: str = ","
    label_values: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(FLOW_COLUMNS))
        if unknown:
            raise ColumnMappingError(
                f"unknown flow field(s) {', '.join(unknown)} in the column mapping; "
                f"valid fields are {', '.join(FLOW_COLUMNS)}"
            )
        missing = [name for name in REQUIRED_FIELDS if name not in self.columns]
        if missing:
            raise ColumnMappingError(
                f"the column mapping lacks {', '.join(missing)}; map at least ts, src and dst, e.g. ts=Time,src=SrcIP,dst=DstIP"
            )
        empty = sorted(name for name, column in self.columns.items() if not str(column).strip())
        if empty:
            raise ColumnMappingError(f"the column mapping gives no source column for {', '.join(empty)}")
        if self.time_format not in TIME_FORMATS and "%" not in self.time_format:
            raise ColumnMappingError(
                f"invalid time_format {self.time_format!r}; use epoch, epoch_ms, epoch_us or a strftime pattern like %Y-%m-%d %H:%M:%S"
            )
        if self.duration_unit not in DURATION_UNITS:
            raise ColumnMappingError(f"invalid duration_unit {self.duration_unit!r}; use s or ms")
        if len(self.separator) != 1:
            raise ColumnMappingError(
                f"invalid separator {self.separator!r}; use one character or one of {', '.join(SEPARATOR_NAMES)}"
            )
        wrong = sorted(value for value, label in self.label_values.items() if label not in LABELS)
        if wrong:
            raise ColumnMappingError(
                f"label_values maps {', '.join(map(repr, wrong))} to a label other than {', '.join(LABELS)}"
            )

    @classmethod
    def from_pairs(cls, pairs: str | Sequence[str]) -> ColumnMapping:
        """Build a mapping from ``field=column`` pairs, comma-separated or as a list.

        ``time_format``, ``duration_unit`` and ``separator`` may appear as
        pairs too; ``separator`` takes a name (tab, comma, semicolon, pipe,
        space) since a comma would end the pair.
        """
        items = pairs.split(",") if isinstance(pairs, str) else [part for item in pairs for part in item.split(",")]
        columns: dict[str, str] = {}
        options: dict[str, str] = {}
        for item in items:
            if not item.strip():
                continue
            name, equals, column = item.partition("=")
            name = name.strip()
            if not equals or not name:
                raise ColumnMappingError(f"invalid mapping pair {item!r}; write field=column, e.g. src=SrcAddr")
            if name in options or name in columns:
                raise ColumnMappingError(f"the mapping names {name!r} twice")
            if name in OPTION_KEYS:
                options[name] = column.strip()
            else:
                columns[name] = column.strip()
        if "separator" in options:
            options["separator"] = SEPARATOR_NAMES.get(options["separator"], options["separator"])
        return cls(columns=columns, **options)

    @classmethod
    def from_toml(cls, path: str | Path) -> ColumnMapping:
        """Load a mapping from a TOML file with a ``[columns]`` table (see the module docstring)."""
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ColumnMappingError(f"{path}: invalid TOML: {error}") from error

        unknown = sorted(set(data) - set(TOML_KEYS))
        if unknown:
            raise ColumnMappingError(f"{path}: unknown key(s) {', '.join(unknown)}; valid keys are {', '.join(TOML_KEYS)}")
        columns = data.get("columns")
        if not isinstance(columns, dict):
            raise ColumnMappingError(f'{path}: missing [columns] table, e.g. [columns] ts = "Time"')
        options = {key: str(data[key]) for key in OPTION_KEYS if key in data}
        if "separator" in options:
            options["separator"] = SEPARATOR_NAMES.get(options["separator"], options["separator"])
        label_values = {str(value): str(label) for value, label in data.get("label_values", {}).items()}
        try:
            return cls(columns={str(k): str(v) for k, v in columns.items()}, label_values=label_values, **options)
        except ColumnMappingError as error:
            raise ColumnMappingError(f"{path}: {error}") from error

    def missing_columns(self, header: Sequence[str]) -> list[str]:
        """Return the mapped source columns that ``header`` lacks."""
        present = set(header)
        return [column for column in self.columns.values() if column not in present]
