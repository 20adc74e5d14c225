"""The GraphQL schema: queries, mutations and the extensions every request runs through.

``api/schema.graphql`` is this schema printed as SDL; regenerate it with
``iotgraph schema > api/schema.graphql`` after changing a type or resolver.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from api.audit import AuditExtension
from api.errors import ErrorPolicy, log_errors
from api.limits import Limits
from api.metrics import ApiMetrics, OperationMetrics
from api.resolvers.devices import resolve_device, resolve_devices
from api.resolvers.explanations import resolve_explanation
from api.resolvers.jobs import resolve_cancel_job, resolve_job, resolve_jobs, resolve_rescore
from api.resolvers.labels import resolve_label_device
from api.resolvers.models import resolve_models
from api.resolvers.neighborhood import resolve_neighborhood
from api.resolvers.pseudonyms import resolve_resolve_pseudonym
from api.resolvers.scores import resolve_score_history, resolve_suspicious_devices
from api.resolvers.windows import resolve_windows
from api.settings import Settings
from api.types.device import Device, DeviceConnection, Score
from api.types.explanation import Explanation
from api.types.job import Job
from api.types.model import Model
from api.types.neighborhood import Neighborhood
from api.types.scalars import SCALAR_MAP
from api.types.window import Window


def _field(resolver: Callable[..., object]) -> Any:
    """Return a field whose description is the first paragraph of its resolver's docstring."""
    doc = inspect.getdoc(resolver) or ""
    return strawberry.field(resolver=resolver, description=doc.split("\n\n")[0].replace("\n", " ") or None)


@strawberry.type(description="Read access; every field needs at least the viewer role.")
class Query:
    windows: list[Window] = _field(resolve_windows)
    device: Device | None = _field(resolve_device)
    devices: DeviceConnection = _field(resolve_devices)
    suspicious_devices: list[Score] = _field(resolve_suspicious_devices)
    neighborhood: Neighborhood = _field(resolve_neighborhood)
    explanation: Explanation | None = _field(resolve_explanation)
    score_history: list[Score] = _field(resolve_score_history)
    job: Job | None = _field(resolve_job)
    jobs: list[Job] = _field(resolve_jobs)
    models: list[Model] = _field(resolve_models)


@strawberry.type(description="Changes; every field needs at least the analyst role.")
class Mutation:
    rescore: Job = _field(resolve_rescore)
    cancel_job: Job = _field(resolve_cancel_job)
    label_device: Device = _field(resolve_label_device)
    resolve_pseudonym: str | None = _field(resolve_resolve_pseudonym)


class InvestigationSchema(strawberry.Schema):
    """The schema with error logging that names the request id of every error."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        context = None if execution_context is None else execution_context.context
        log_errors(
            errors,
            request_id=getattr(context, "request_id", "unknown"),
            operation=None if execution_context is None else execution_context.operation_name,
        )


def build_schema(*, limits: Limits, metrics: ApiMetrics | None = None, introspection: bool = True) -> InvestigationSchema:
    """Return the schema with the document limits, metrics, audit collection and error masking of one app.

    With ``introspection`` False, documents that query ``__schema`` or
    ``__type`` fail validation (``__typename`` still works).
    """
    extensions: list[Callable[[], SchemaExtension]] = [*limits.document_extensions()]
    if not introspection:
        extensions.append(partial(AddValidationRules, [NoSchemaIntrospectionCustomRule]))
    if metrics is not None:
        extensions.append(partial(OperationMetrics, metrics=metrics))
    extensions.append(AuditExtension)
    # Last, so that it masks the errors every other extension and resolver produced.
    extensions.append(ErrorPolicy)
    return InvestigationSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )


def export_sdl() -> str:
    """Return the schema as SDL text, as stored in ``api/schema.graphql``."""
    # The SDL does not depend on limits, so defaults serve and the environment is not read.
    schema = build_schema(limits=Limits.from_settings(Settings.model_construct()))
    return schema.as_str() + "\n"
