"""The per-request context every resolver receives as ``info.context``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from strawberry.fastapi import BaseContext

from api.auth import Principal, Role
from api.errors import ForbiddenError
from api.limits import Limits
from api.loaders import Loaders
from api.store_pool import StorePool
from graphdb.store import GraphStore

T = TypeVar("T")


@dataclass
class AppState:
    """App-wide state: the store pool, the limits and the models folder."""

    pool: StorePool
    limits: Limits
    models_dir: Path
    auth_enabled: bool


class RequestContext(BaseContext):
    """One request's identity, store access and loaders.

    ``principal`` is None when authentication failed; the router then responds
    with ``auth_status`` (401, or 503 when the keys file is unreadable) and
    ``auth_error`` before any resolver runs.
    """

    def __init__(
        self,
        *,
        state: AppState,
        loaders: Loaders,
        request_id: str,
        principal: Principal | None,
        auth_error: str | None = None,
    ) -> None:
        super().__init__()
        self.state = state
        self.loaders = loaders
        self.request_id = request_id
        self.principal = principal
        self.auth_error = auth_error
        self.auth_status = 401

    @property
    def limits(self) -> Limits:
        return self.state.limits

    async def store(self, call: Callable[[GraphStore], T]) -> T:
        """Run ``call(store)`` on the store pool."""
        return await self.state.pool.run(call)

    def require(self, role: Role, *, action: str) -> Principal:
        """Return the caller; raise ForbiddenError (HTTP 403) naming the required role when theirs is lower."""
        principal = self.principal
        if principal is None:
            # The router rejects unauthenticated requests before execution, so this is a programming error.
            raise RuntimeError("resolver ran without an authenticated principal")
        if not principal.role.allows(role):
            if self.response is not None:
                self.response.status_code = 403
            raise ForbiddenError(
                f"{action} requires the {role.value} role; API key {principal.key_id} has the {principal.role.value} role. "
                "Ask an admin for a key with that role"
            )
        return principal
