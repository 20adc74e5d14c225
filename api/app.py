"""The FastAPI application: GraphQL (with GraphiQL) at /graphql, /healthz and /metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.audit import AuditLog
from api.auth import KeyStore
from api.context import AppState
from api.http_limits import BodySizeLimit, RateLimited, RateLimiter, error_body
from api.limits import Limits
from api.metrics import ApiMetrics
from api.router import InvestigationRouter, context_getter
from api.schema import build_schema
from api.settings import Settings
from api.store_pool import StoreFactory, StorePool
from graphdb import open_store

logger = logging.getLogger(__name__)


def _state(request: Request) -> AppState:
    return request.app.state.iotgraph


def _metrics(request: Request) -> ApiMetrics:
    return request.app.state.metrics


StateDep = Annotated[AppState, Depends(_state)]
MetricsDep = Annotated[ApiMetrics, Depends(_metrics)]


def create_app(settings: Settings, *, store_factory: StoreFactory | None = None) -> FastAPI:
    """Build the API for one store.

    ``store_factory`` opens a store; each store thread calls it once. It
    defaults to ``open_store(settings.store)``. With ``settings.no_auth`` every
    request acts as an admin; the ``serve`` command allows that on a loopback
    host only.

    Security settings: GraphQL introspection and GraphiQL only with
    ``settings.introspection``, CORS headers only for ``settings.cors_origins``,
    bodies up to ``settings.max_body_bytes`` (413 beyond), a per-key request
    rate (429 with Retry-After beyond), and one audit line per request in
    ``settings.audit_path``.
    """
    factory = store_factory or (lambda: open_store(settings.store))
    limits = Limits.from_settings(settings)
    pool = StorePool(factory, threads=settings.store_threads)
    state = AppState(pool=pool, limits=limits, models_dir=settings.models, auth_enabled=not settings.no_auth)
    metrics = ApiMetrics()
    keys = None if settings.no_auth else KeyStore(settings.keys_path)
    audit = AuditLog(settings.audit_path)
    limiter = RateLimiter(per_minute=settings.rate_limit, burst=settings.rate_burst)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        logger.info(
            "API started on store %s, keys %s, limits %s",
            settings.store,
            "disabled (--no-auth)" if keys is None else keys.path,
            limits,
        )
        logger.info(
            "API security: introspection %s, CORS origins %s, body limit %d bytes, rate limit %s, audit log %s",
            "on" if settings.introspection else "off",
            settings.cors_origin_list or "none",
            settings.max_body_bytes,
            f"{settings.rate_limit}/min (burst {settings.rate_burst})" if limiter.enabled else "off",
            audit.path,
        )
        yield
        pool.close()
        logger.info("API stopped")

    app = FastAPI(title="iotgraph investigation API", lifespan=lifespan)
    app.state.iotgraph = state
    app.state.metrics = metrics

    router = InvestigationRouter(
        build_schema(limits=limits, metrics=metrics, introspection=settings.introspection),
        # GraphiQL cannot work without introspection, so it goes with it.
        graphql_ide="graphiql" if settings.introspection else None,
        context_getter=context_getter(state=state, keys=keys, audit=audit, limiter=limiter),
        state=state,
        metrics=metrics,
        audit=audit,
    )
    app.include_router(router, prefix="/graphql")

    @app.exception_handler(RateLimited)
    async def rate_limited(_: Request, error: RateLimited) -> Response:
        return Response(
            error_body(str(error), "RATE_LIMITED"),
            status_code=429,
            media_type="application/json",
            headers={"Retry-After": str(error.retry_after)},
        )

    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # Added last, so it runs first and no other layer reads an oversized body.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, audit=audit)

    @app.get("/healthz")
    async def healthz(state: StateDep) -> JSONResponse:
        """Store reachability and the age of each worker's last heartbeat (seconds)."""
        return await _health(state, stale_after=settings.worker_stale_after)

    @app.get("/metrics")
    async def prometheus_metrics(state: StateDep, metrics: MetricsDep) -> Response:
        now = time.time()
        await state.pool.run(lambda store: metrics.refresh_from_store(store, now=now))
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app


async def _health(state: AppState, *, stale_after: float) -> JSONResponse:
    now = time.time()
    try:
        store_ok = await state.pool.run(lambda store: store.ping())
        heartbeats = await state.pool.run(lambda store: store.worker_heartbeats()) if store_ok else {}
    except Exception:  # noqa: BLE001  # a health check reports any store failure instead of raising
        logger.exception("health check could not reach the store")
        store_ok, heartbeats = False, {}

    workers = {worker_id: round(now - beat, 3) for worker_id, beat in sorted(heartbeats.items())}
    newest_age = min(workers.values()) if workers else None
    if not store_ok:
        status = "unavailable"
    elif newest_age is None or newest_age > stale_after:
        status = "degraded"
    else:
        status = "ok"
    body: dict[str, Any] = {
        "status": status,
        "store": "ok" if store_ok else "unreachable",
        "worker_heartbeat_age_s": newest_age,
        "workers": workers,
        "worker_stale_after_s": stale_after,
    }
    # A missing worker leaves queries working, so only a store failure makes the API unhealthy.
    return JSONResponse(body, status_code=200 if store_ok else 503)
