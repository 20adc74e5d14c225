"""Resolvers of the job queries and the ``rescore`` and ``cancelJob`` mutations."""

from __future__ import annotations

import time

import strawberry

from api.auth import Role
from api.errors import InputError
from api.resolvers.models import check_model_known
from api.types.job import Job, JobStatus
from api.types.scalars import Timestamp
from api.validation import check_id, check_range

RESCORE_KIND = "rescore"
LATEST_MODEL = "latest"
DEFAULT_JOB_PAGE = 50


async def resolve_job(info: strawberry.Info, id: strawberry.ID) -> Job | None:  # noqa: A002  # the GraphQL argument is named id
    """One job; null when the id is unknown."""
    job_id = check_id(str(id), argument="id")
    found = await info.context.store(lambda store: store.job(job_id))
    return None if found is None else Job.from_record(found)


async def resolve_jobs(info: strawberry.Info, status: JobStatus | None = None, first: int = DEFAULT_JOB_PAGE) -> list[Job]:
    """Jobs, newest first, optionally with one status."""
    limit = info.context.limits.page_size(first, argument="first")
    status_value = None if status is None else status.value
    jobs = await info.context.store(lambda store: store.jobs(status_value, limit=limit))
    return [Job.from_record(job) for job in jobs]


async def resolve_rescore(
    info: strawberry.Info,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    model: str | None = None,
) -> Job:
    """Queue a job that scores the windows starting in [since, until] again. Requires the analyst role.

    ``model`` is a model version; null or "latest" means the newest trained model.
    The job fails fast when no window lies in the range.
    """
    principal = info.context.require(Role.ANALYST, action="rescore")
    check_range(since, until)
    model_name = None if model in (None, LATEST_MODEL) else check_id(model, argument="model")
    if model_name is not None:
        await check_model_known(info, model_name)

    windows = await info.context.store(lambda store: store.windows(since, until))
    if not windows:
        raise InputError(
            f"no window starts between since {since} and until {until}; query windows for the stored range, or ingest flows first"
        )

    job = await info.context.store(
        lambda store: store.enqueue_job(
            kind=RESCORE_KIND,
            window_start=since,
            window_end=until,
            model=model_name,
            requested_by=principal.key_id,
            at=time.time(),
        )
    )
    return Job.from_record(job)


async def resolve_cancel_job(info: strawberry.Info, id: strawberry.ID) -> Job:  # noqa: A002  # the GraphQL argument is named id
    """Cancel a queued or running job; a finished job is returned unchanged. Requires the analyst role."""
    info.context.require(Role.ANALYST, action="cancelJob")
    job_id = check_id(str(id), argument="id")
    job = await info.context.store(lambda store: store.cancel_job(job_id, at=time.time()))
    return Job.from_record(job)
