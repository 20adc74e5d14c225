"""``iotgraph worker``: run rescoring jobs queued through the API."""

from __future__ import annotations

from pathlib import Path

import typer

from graphdb import StoreError, default_store_url
from iotgraph.commands.common import ModelsOption, StoreOption, fail, models_dir


def _seconds(value: str, *, option: str) -> float:
    from ingest.windows import parse_duration

    try:
        return parse_duration(value)
    except ValueError as error:
        fail(f"invalid {option}: {error}")


def worker(
    once: bool = typer.Option(False, "--once", help="Run queued jobs until the queue is empty, then exit."),
    poll: str = typer.Option("2s", "--poll", help="Wait between queue checks when idle, e.g. 2s or 500ms."),
    heartbeat: str = typer.Option("5s", "--heartbeat", help="Interval of the running job's heartbeat."),
    stale_after: str = typer.Option("60s", "--stale-after", help="Requeue running jobs whose heartbeat is older than this."),
    device: str = typer.Option("auto", "--device", help="Torch device for scoring: auto, cpu, cuda or cuda:N."),
    worker_id: str = typer.Option(None, "--id", help="Worker id in logs and jobs (default <host>-<pid>-<random>).", show_default=False),
    store: str = StoreOption,
    models: Path = ModelsOption,
) -> None:
    """Claim rescoring jobs from the store and score their windows; SIGTERM stops after the current window."""
    from ml.worker import run_worker

    try:
        run_worker(
            store or default_store_url(),
            once=once,
            poll=_seconds(poll, option="--poll"),
            models_dir=models_dir(models),
            worker_id=worker_id,
            heartbeat_every=_seconds(heartbeat, option="--heartbeat"),
            stale_after=_seconds(stale_after, option="--stale-after"),
            device=device,
        )
    except (StoreError, ValueError) as error:
        fail(str(error))


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
