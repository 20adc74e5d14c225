"""The watermark, complete windows and late flows."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.watch import Watermark, late_windows, window_complete


def test_watermark_before_flows() -> None:
    assert Watermark(lateness=30).value is None


def test_watermark_newest_minus_lateness() -> None:
    watermark = Watermark(lateness=30)
    watermark.observe([100.0, 400.0, 250.0])

    assert watermark.value == 370.0


def test_watermark_never_moves_back() -> None:
    watermark = Watermark(lateness=0, newest=500.0)
    watermark.observe([100.0])

    assert watermark.value == 500.0


def test_watermark_ignores_nan() -> None:
    watermark = Watermark(lateness=0)
    watermark.observe([np.nan])

    assert watermark.value is None


def test_negative_lateness_rejected() -> None:
    with pytest.raises(ValueError, match="invalid lateness -1"):
        Watermark(lateness=-1)


def test_window_complete_at_end() -> None:
    assert window_complete(300.0, size=300.0, watermark=600.0)


def test_window_open_before_end() -> None:
    assert not window_complete(300.0, size=300.0, watermark=599.9)


def test_late_tumbling() -> None:
    late, starts = late_windows(np.array([10.0, 310.0, 650.0]), size=300.0, step=300.0, closed_until=600.0)

    assert late.tolist() == [True, True, False]
    assert starts == [0.0, 300.0]


def test_late_sliding_any_window_closed() -> None:
    # 650 lies in the windows starting at 400 (ends 700) and 500 (ends 800).
    late, starts = late_windows(np.array([650.0]), size=300.0, step=100.0, closed_until=700.0)

    assert late.tolist() == [True]
    assert starts == [400.0]


def test_nothing_late_before_first_close() -> None:
    late, starts = late_windows(np.array([10.0]), size=300.0, step=300.0, closed_until=None)

    assert late.tolist() == [False]
    assert starts == []
