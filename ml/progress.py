"""Progress bars for training epochs and scoring windows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def progress_bar(total: int, *, description: str, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Show a rich progress bar of ``total`` steps and yield ``advance(status="")``.

    The bar stays hidden when ``enabled`` is False or standard error is not a
    terminal, so logs and CI output carry no control characters.
    """
    console = Console(stderr=True)
    visible = enabled and console.is_terminal
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not visible, transient=False) as progress:
        task = progress.add_task(description, total=total, status="")

        def advance(status: str = "") -> None:
            progress.update(task, advance=1, status=status)

        yield advance
