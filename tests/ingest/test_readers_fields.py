"""The vectorised field converters shared by the readers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest.readers import fields
from ingest.readers.fields import RowErrors, Rows


def rows_of(*lines: bytes) -> Rows:
    return Rows(numbers=np.arange(1, len(lines) + 1), lines=list(lines))


def test_count_fields_plain() -> None:
    counts = fields.count_fields(b"a\tb\tc\na\tb\n\na\tb\tc\td", sep=b"\t", quoted=False)
    assert list(counts) == [3, 2, 1, 4]


def test_count_fields_quoted() -> None:
    counts = fields.count_fields(b'a,"b,c",d\na,"b\na,b', sep=b",", quoted=True)
    assert list(counts) == [3, -1, 2]


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (b"1\tNaN\t2", True),
        (b"1\t -nan \t2", True),
        (b'1,"nan",2', True),
        (b"Cnan3x\t1\nbanana\t2", False),
        (b"1\t2\nnan", True),
        (b"1\t2", False),
    ],
)
def test_has_nan_field(blob: bytes, expected: bool) -> None:
    sep = b"," if b"," in blob else b"\t"
    assert fields.has_nan_field(blob, sep=sep) is expected


def test_read_columns_keeps_stray_cr_in_line() -> None:
    frame, errors = fields.read_columns(
        rows_of(b"1\tx\ry", b"2\tz"), sep="\t", positions={"n": 0, "t": 1}, numeric={"n"}, unset=["-"], quoted=False
    )
    assert list(frame["t"]) == ["x\ry", "z"]
    assert not errors.bad.any()


def test_read_columns_nan_batch_parsed_as_text() -> None:
    frame, _ = fields.read_columns(
        rows_of(b"NaN\t-", b"2\t5"), sep="\t", positions={"a": 0, "b": 1}, numeric={"a", "b"}, unset=["-"], quoted=False
    )
    assert list(frame["a"]) == ["NaN", "2"]
    assert list(frame["b"]) == ["-", "5"]


def test_read_columns_falls_back_line_by_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real_read_csv = pd.read_csv

    def failing_read_csv(source, **options):
        text = source.getvalue()
        if b"\n" in text or b"bad" in text:
            raise pd.errors.ParserError("simulated parser failure")
        return real_read_csv(source, **options)

    monkeypatch.setattr(fields.pd, "read_csv", failing_read_csv)
    frame, errors = fields.read_columns(
        rows_of(b"1\ta", b"2\tbad", b"3\tc"), sep="\t", positions={"n": 0, "t": 1}, numeric={"n"}, unset=[], quoted=False
    )
    assert list(frame["t"].fillna("")) == ["a", "", "c"]
    assert list(errors.reasons) == [None, "unparsable line", None]


def test_counts_unset_and_invalid() -> None:
    errors = RowErrors(5)
    values = fields.counts(pd.Series(["3", "-", "-2", "1.5", "x"], dtype=object), column="n", errors=errors, unset=["-"])
    assert list(values) == [3, 0, 0, 0, 0]
    assert list(errors.reasons) == [
        None,
        None,
        "negative count in n",
        "invalid count in n (not a whole number)",
        "invalid number in n",
    ]


def test_ports_hexadecimal_and_range() -> None:
    errors = RowErrors(4)
    values = fields.ports(
        pd.Series(["0x0303", "", "65536", "80"], dtype=object), column="p", errors=errors, unset=[""], hexadecimal=True
    )
    assert list(values) == [771, -1, -1, 80]
    assert list(errors.reasons) == [None, None, "port out of range 0..65535 in p", None]


def test_first_reason_wins() -> None:
    errors = RowErrors(2)
    errors.flag(np.array([True, False]), "first")
    errors.flag(np.array([True, True]), "second")
    assert list(errors.reasons) == ["first", "second"]


def test_protocol_names() -> None:
    names = fields.protocol_names(pd.Series(["6", "17", "1", "58", "99", "TCP", None], dtype=object))
    assert list(names) == ["tcp", "udp", "icmp", "ipv6-icmp", "99", "tcp", ""]


def test_epoch_seconds_microseconds_exact() -> None:
    times = pd.to_datetime(pd.Series(["2019/04/04 16:23:00.325010", None]), format="%Y/%m/%d %H:%M:%S.%f")
    seconds = fields.epoch_seconds(times)
    assert seconds[0] == float("1554394980.325010")
    assert np.isnan(seconds[1])


def test_labels_normalised_per_value() -> None:
    labels = fields.labels(pd.Series(["Malicious", "benign", "Background", "-", None, "flow=From-Botnet-V1"]))
    assert list(labels) == ["malicious", "benign", "unknown", "unknown", "unknown", "malicious"]
