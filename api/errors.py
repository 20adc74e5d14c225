"""Errors the API returns, and the hook that masks everything else.

    ApiError                   shown to the client with ``extensions.code``
    ├── InputError             BAD_USER_INPUT: a malformed id, since > until, a bad cursor
    ├── LimitError             LIMIT_EXCEEDED: a value above a configured limit
    ├── ForbiddenError         FORBIDDEN: the key's role is too low (HTTP 403)
    └── TimeLimitError         TIMEOUT: the request ran past the time limit

Store errors meant for callers keep their message: ``NotFoundError`` becomes
NOT_FOUND and ``InvalidRequestError`` BAD_USER_INPUT. Any other exception is
logged with the request id and replaced by "internal error, request id X".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from graphdb.errors import InvalidRequestError, NotFoundError

logger = logging.getLogger(__name__)


class ApiError(Exception):
    code = "BAD_REQUEST"


class InputError(ApiError):
    code = "BAD_USER_INPUT"


class LimitError(ApiError):
    code = "LIMIT_EXCEEDED"


class ForbiddenError(ApiError):
    code = "FORBIDDEN"


class TimeLimitError(ApiError):
    code = "TIMEOUT"


# Store errors whose message is written for the caller.
_STORE_ERROR_CODES: dict[type[Exception], str] = {NotFoundError: "NOT_FOUND", InvalidRequestError: "BAD_USER_INPUT"}


def error_code(error: GraphQLError) -> str | None:
    """Return the client-facing code of an error, or None when it must be masked.

    GraphQL errors without an original exception come from parsing and
    validation (including the depth, alias and token limits) and are safe to show.
    """
    original = error.original_error
    if original is None:
        return (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")  # type: ignore[return-value]
    if isinstance(original, ApiError):
        return original.code
    for kind, code in _STORE_ERROR_CODES.items():
        if isinstance(original, kind):
            return code
    if isinstance(original, GraphQLError):
        return error_code(original)
    return None


class ErrorPolicy(SchemaExtension):
    """Tag expected errors with ``extensions.code``; mask the others with the request id.

    ``Schema.process_errors`` (see ``api.schema``) has already logged the
    originals with their tracebacks before this runs.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", "unknown")
        result.errors = [self._public_error(error, request_id) for error in result.errors]

    @staticmethod
    def _public_error(error: GraphQLError, request_id: str) -> GraphQLError:
        code = error_code(error)
        if code is None:
            return GraphQLError(
                f"internal error, request id {request_id}",
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            )
        extensions = dict(error.extensions or {})
        extensions.setdefault("code", code)
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )


def log_errors(errors: list[GraphQLError], *, request_id: str, operation: str | None) -> None:
    """Log internal errors with their traceback and expected ones at INFO, each with the request id."""
    for error in errors:
        code = error_code(error)
        if code is None:
            logger.error(
                "internal error in request %s (operation %s, path %s): %s",
                request_id,
                operation or "-",
                error.path,
                error.message,
                exc_info=error.original_error,
            )
        else:
            logger.info("request %s (operation %s) returned %s: %s", request_id, operation or "-", code, error.message)
