"""Progress bars stay silent off a terminal."""

from __future__ import annotations

from ml.progress import progress_bar


def test_silent_without_terminal(capsys):
    with progress_bar(3, description="training gcn", enabled=True) as advance:
        for _ in range(3):
            advance("loss 0.1")
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""
