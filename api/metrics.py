"""Prometheus metrics of the API: GraphQL requests, job counts and the last scored window.

Each app gets its own registry, so several apps in one process (tests) do
not share counters. Store-backed gauges are refreshed when ``/metrics`` is
scraped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from strawberry.extensions import SchemaExtension

from graphdb.model import JobStatus
from graphdb.store import GraphStore

# An operation is labelled by its root fields, whose number the schema bounds.
# Client operation names are free text, so they would let any client create new series.
_MAX_FIELDS_IN_LABEL = 3
# Counting stops at this many jobs per status, so a larger count reads as this limit.
_JOB_COUNT_LIMIT = 100_000


class ApiMetrics:
    """The collectors of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "iotgraph_graphql_requests",
            "GraphQL operations by root fields and outcome (ok or error).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "iotgraph_graphql_request_seconds",
            "Time to execute a GraphQL operation, by root fields.",
            ["operation"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=self.registry,
        )
        self.jobs = Gauge("iotgraph_jobs", "Jobs in the store by status.", ["status"], registry=self.registry)
        self.last_scored_window = Gauge(
            "iotgraph_last_scored_window_start_seconds",
            "Start (epoch seconds) of the newest scored window; 0 when none is scored.",
            registry=self.registry,
        )
        self.worker_heartbeat_age = Gauge(
            "iotgraph_worker_heartbeat_age_seconds",
            "Seconds since the most recent heartbeat of any worker; -1 when no worker ever ran.",
            registry=self.registry,
        )

    def refresh_from_store(self, store: GraphStore, *, now: float) -> None:
        """Set the store-backed gauges; runs on a store thread at scrape time."""
        # NOTE: counting reads the job rows, as GraphStore has no count by status; slow only with very many jobs.
        for status in JobStatus:
            self.jobs.labels(status=status.value).set(len(store.jobs(status.value, limit=_JOB_COUNT_LIMIT)))

        scored = [window.start for window in store.windows() if window.status == "scored"]
        self.last_scored_window.set(max(scored) if scored else 0.0)

        heartbeats = store.worker_heartbeats()
        self.worker_heartbeat_age.set(now - max(heartbeats.values()) if heartbeats else -1.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def operation_label(document: object, operation_name: str | None) -> str:
    """Return the sorted root field names of the executed operation, e.g. ``neighborhood`` or ``device+jobs``."""
    definitions = getattr(document, "definitions", None)
    if not definitions:
        return "unparsed"
    operations = [node for node in definitions if isinstance(node, OperationDefinitionNode)]
    chosen = next((node for node in operations if node.name and node.name.value == operation_name), None)
    if chosen is None and operations:
        chosen = operations[0]
    if chosen is None:
        return "unparsed"
    fields = sorted({node.name.value for node in chosen.selection_set.selections if isinstance(node, FieldNode)})
    if not fields:
        return "fragments"
    label = "+".join(fields[:_MAX_FIELDS_IN_LABEL])
    return label + ("+more" if len(fields) > _MAX_FIELDS_IN_LABEL else "")


class OperationMetrics(SchemaExtension):
    """Count and time every GraphQL operation into an app's ``ApiMetrics``."""

    def __init__(self, *, metrics: ApiMetrics) -> None:
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        context = self.execution_context
        label = operation_label(context.graphql_document, context.operation_name)
        outcome = "error" if context.result is not None and context.result.errors else "ok"
        self.metrics.requests.labels(operation=label, outcome=outcome).inc()
        self.metrics.latency.labels(operation=label).observe(elapsed)
