"""The GraphQL endpoint: authentication, the request time limit and the per-request context."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import Any

from fastapi import Request, Response
from graphql import GraphQLError
from strawberry.fastapi import GraphQLRouter
from strawberry.types import ExecutionResult

from api.audit import AuditLog, AuditTrail, error_codes
from api.auth import LOCAL_PRINCIPAL, AuthenticationError, KeysFileError, KeyStore
from api.context import AppState, RequestContext
from api.http_limits import RateLimited, RateLimiter
from api.loaders import create_loaders
from api.metrics import ApiMetrics

logger = logging.getLogger(__name__)

# A client may pass its own request id to correlate logs; anything else gets a fresh one.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_of(request: Request) -> str:
    supplied = request.headers.get("x-request-id", "")
    return supplied if _CLIENT_REQUEST_ID.match(supplied) else uuid.uuid4().hex[:16]


class InvestigationRouter(GraphQLRouter):
    """A GraphQLRouter that rejects unauthenticated requests before parsing them, cancels slow ones and audits each."""

    def __init__(self, *args: Any, state: AppState, metrics: ApiMetrics, audit: AuditLog | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state = state
        self.metrics = metrics
        self.audit = audit

    async def execute_single(self, *, request: Any, request_adapter: Any, sub_response: Response, context: Any, root_value: Any, request_data: Any) -> ExecutionResult:  # type: ignore[override]  # keyword form of the base signature
        result = await self._execute_guarded(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )
        trail = getattr(context, "audit", None)
        if self.audit is not None and trail is not None:
            record = trail.record(
                principal=context.principal,
                outcome="error" if result.errors else "ok",
                status=sub_response.status_code or 200,
                codes=error_codes(result.errors),
            )
            self.audit.write(record)
        return result

    async def _execute_guarded(self, *, request: Any, request_adapter: Any, sub_response: Response, context: Any, root_value: Any, request_data: Any) -> ExecutionResult:
        if context.principal is None:
            sub_response.status_code = context.auth_status
            if context.auth_status == 401:
                sub_response.headers["WWW-Authenticate"] = 'Bearer realm="iotgraph"'
            code = "UNAUTHENTICATED" if context.auth_status == 401 else "INTERNAL_SERVER_ERROR"
            self.metrics.requests.labels(operation="unauthenticated", outcome="error").inc()
            return ExecutionResult(data=None, errors=[GraphQLError(context.auth_error, extensions={"code": code})])

        timeout = self.state.limits.request_timeout
        try:
            return await asyncio.wait_for(
                super().execute_single(
                    request=request,
                    request_adapter=request_adapter,
                    sub_response=sub_response,
                    context=context,
                    root_value=root_value,
                    request_data=request_data,
                ),
                timeout,
            )
        except TimeoutError:
            logger.warning("request %s ran past the time limit of %gs and was cancelled", context.request_id, timeout)
            self.metrics.requests.labels(operation="timed_out", outcome="error").inc()
            sub_response.status_code = 504
            message = (
                f"request exceeded the time limit of {timeout:g}s (IOTGRAPH_REQUEST_TIMEOUT) and was cancelled; "
                f"narrow the time range, lower hops or limit, or raise the limit (request id {context.request_id})"
            )
            return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": "TIMEOUT"})])


def context_getter(*, state: AppState, keys: KeyStore | None, audit: AuditLog | None = None, limiter: RateLimiter | None = None):
    """Return the FastAPI dependency that builds each request's context.

    The context carries an ``audit`` trail that ``api.audit.AuditExtension``
    fills in. With a ``limiter`` a request over its key's rate (its client
    address's, without a valid key) raises RateLimited, which the app turns
    into 429.
    """

    async def get_context(request: Request, response: Response) -> RequestContext:
        request_id = request_id_of(request)
        response.headers["X-Request-ID"] = request_id
        context = RequestContext(
            state=state,
            loaders=create_loaders(state.pool),
            request_id=request_id,
            principal=LOCAL_PRINCIPAL if keys is None else None,
        )
        context.audit = AuditTrail(request_id=request_id, client=request.client.host if request.client else None)
        if keys is not None:
            await _authenticate(context, keys, request)
        if limiter is not None:
            _take_token(context, limiter, audit)
        return context

    return get_context


async def _authenticate(context: RequestContext, keys: KeyStore, request: Request) -> None:
    try:
        context.principal = await asyncio.to_thread(keys.authenticate, request.headers)
    except AuthenticationError as error:
        context.auth_error = str(error)
    except KeysFileError:
        logger.exception("request %s: the API keys file could not be read", context.request_id)
        context.auth_status = 503
        context.auth_error = (
            f"API keys cannot be checked because the server's keys file is invalid; tell an admin (request id {context.request_id})"
        )


def _take_token(context: RequestContext, limiter: RateLimiter, audit: AuditLog | None) -> None:
    trail = context.audit
    bucket = f"API key {context.principal.key_id}" if context.principal is not None else f"client {trail.client}"
    try:
        limiter.take(bucket)
    except RateLimited:
        logger.info("request %s rejected: %s is over its rate limit", context.request_id, bucket)
        if audit is not None:
            audit.write(trail.record(principal=context.principal, outcome="rate_limited", status=429, codes=["RATE_LIMITED"]))
        raise
