"""``iotgraph watch``: follow growing Zeek conn logs, update the current windows and score each one once it is complete."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path

import typer

from graphdb import StoreError
from graphdb.store import GraphStore
from iotgraph.commands.common import ModelsOption, StoreOption, console, fail, models_dir, open_store_or_exit

HELP = """Follow Zeek conn logs (TSV or JSON) as they grow and score each window once it is complete.

PATH is a log file or a folder of logs (files matching --pattern, oldest
first; new files are picked up as they appear). Rotation, by renaming or
truncating the file, is followed. Only complete lines are read: a line still
being written waits for the next poll.

A window is complete once the watermark, the newest flow timestamp minus
--lateness, reaches its end; it is then scored with --model and one line
per window is logged. Late flows, those of a window already complete, are
counted, stored and their window is scored again. Without a saved model,
windows are completed without scores.

The read position of every file is stored with the flows it covers, so a
restarted watch resumes where it stopped without counting a flow twice.
SIGINT or SIGTERM stops after the batch being written.
"""


def _seconds(value: str, *, option: str) -> float:
    from ingest.windows import parse_duration

    if value.strip() in ("0", "0s"):
        return 0.0
    try:
        return parse_duration(value)
    except ValueError as error:
        fail(f"invalid {option}: {error}")


def watch(
    paths: list[Path] = typer.Argument(..., help="Zeek conn log files or folders of them.", exists=True),
    window: str = typer.Option(None, "--window", "-w", help="Window length, e.g. 5m (default 5m; fixed by the store's first ingest)."),
    step: str = typer.Option(None, "--step", help="Sliding-window step, e.g. 1m (default: the window length, tumbling)."),
    lateness: str = typer.Option("30s", "--lateness", help="How far behind the newest flow a flow may arrive and still be on time, e.g. 30s."),
    model: str = typer.Option("latest", "--model", "-m", help="Model version id, latest, or latest:gcn / latest:gae."),
    poll: str = typer.Option("1s", "--poll", help="Wait between checks of the files when nothing new was read, e.g. 1s or 500ms."),
    pattern: str = typer.Option("conn*", "--pattern", help="File name pattern of the logs read from a folder."),
    once: bool = typer.Option(False, "--once", help="Read what the files hold now, close the complete windows, then exit."),
    explain_top_k: int = typer.Option(20, "--explain-top", min=0, help="Store explanations for this many top devices per window."),
    device: str = typer.Option("auto", "--device", help="Torch device for scoring: auto, cpu, cuda or cuda:N."),
    store: str = StoreOption,
    models: Path = ModelsOption,
) -> None:
    from graphdb.load import resolve_window_spec
    from graphdb.watch import Watcher

    from ml.artifacts import resolve_model
    from ml.device import resolve_device
    from ml.errors import ModelError

    lateness_seconds = _seconds(lateness, option="--lateness")
    poll_seconds = _seconds(poll, option="--poll")
    try:
        resolve_device(device)
        if not model.startswith("latest"):
            # A named model must exist now; only "latest" may appear later.
            resolve_model(model, directory=models_dir(models))
    except (ModelError, ValueError) as error:
        fail(str(error))
    scorer = model_scorer(model=model, models=models_dir(models), explain_top_k=explain_top_k, device=device)

    with open_store_or_exit(store) as opened:
        try:
            spec = resolve_window_spec(opened, window, step)
            watcher = Watcher(opened, paths, spec=spec, lateness=lateness_seconds, scorer=scorer, poll=poll_seconds, pattern=pattern)
        except (StoreError, ValueError) as error:
            fail(str(error))

        previous = {number: signal.signal(number, lambda *_: watcher.stop()) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            stats = watcher.run(once=once)
        except (StoreError, ModelError) as error:
            fail(str(error))
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    console.print(
        f"{stats.new_flows} new flows in {stats.batches} batch(es), {stats.known_flows} already stored, "
        f"{stats.late_flows} late; {len(stats.closed)} window(s) closed, {sum(stats.scored.values())} scoring(s)"
    )


def model_scorer(*, model: str, models: Path, explain_top_k: int, device: str):
    """Return a scorer for ``graphdb.watch.Watcher`` that scores with ``model``, or reports that none exists yet."""
    from graphdb.watch import ScoredWindow

    def score(store: GraphStore, starts: Sequence[float]) -> list[ScoredWindow] | None:
        from ml.errors import ModelNotFoundError
        from ml.scoring import score_windows

        try:
            summaries = score_windows(
                store, list(starts), model=model, models_dir=models, explain_top_k=explain_top_k, device=device, progress=False
            )
        except ModelNotFoundError:
            return None
        return [
            ScoredWindow(
                window_start=summary.window_start,
                model_version=summary.model_version,
                max_score=summary.max_score,
                top_device=summary.top[0][0] if summary.top else None,
            )
            for summary in summaries
        ]

    return score


def register(app: typer.Typer) -> None:
    app.command("watch", help=HELP)(watch)
