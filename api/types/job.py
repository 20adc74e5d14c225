"""The ``Job`` type: a queued, running or finished rescoring request."""

from __future__ import annotations

import enum

import strawberry

from api.types.scalars import Timestamp
from graphdb.model import Job as JobRecord


@strawberry.enum(description="Where a job is in its life: queued, running, then done, failed or cancelled.")
class JobStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _time(value: float | None) -> Timestamp | None:
    return None if value is None else Timestamp(value)


@strawberry.type(description="A request to score windows again, run by an iotgraph worker.")
class Job:
    id: strawberry.ID
    kind: str
    status: JobStatus
    window_start: Timestamp | None = strawberry.field(description="First window start to score; null means from the oldest window.")
    window_end: Timestamp | None = strawberry.field(description="Last window start to score; null means up to the newest window.")
    model: str | None = strawberry.field(description="Model version or name; null means the latest trained model.")
    requested_by: str | None = strawberry.field(description="API key id of the requester.")
    requested_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    heartbeat_at: Timestamp | None = strawberry.field(description="Last sign of life from the worker running the job.")
    worker_id: str | None
    error: str | None = strawberry.field(description="Why the job failed.")

    @classmethod
    def from_record(cls, job: JobRecord) -> Job:
        return cls(
            id=strawberry.ID(job.id),
            kind=job.kind,
            status=JobStatus(job.status),
            window_start=_time(job.window_start),
            window_end=_time(job.window_end),
            model=job.model,
            requested_by=job.requested_by,
            requested_at=Timestamp(job.requested_at),
            started_at=_time(job.started_at),
            finished_at=_time(job.finished_at),
            heartbeat_at=_time(job.heartbeat_at),
            worker_id=job.worker_id,
            error=job.error,
        )
