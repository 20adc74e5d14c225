"""The names the api package exports."""

from __future__ import annotations

import api


def test_all_sorted_and_importable() -> None:
    assert api.__all__ == sorted(api.__all__)
    for name in api.__all__:
        assert getattr(api, name) is not None
