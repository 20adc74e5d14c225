"""The audit log: one JSON line per API request, and what it touched.

Each line records when (``ts``, epoch seconds), who (``key_id`` and
``role``; null when the request carried no valid key), what (``operation``:
the root fields, e.g. ``neighborhood`` or ``resolvePseudonym``), which
device ids the request named or received (``devices``, at most
MAX_DEVICES_PER_RECORD, with ``devices_total``), and the outcome (``ok`` or
``error``, the HTTP ``status`` and the GraphQL error ``codes``). Rejections
before GraphQL runs are recorded too: ``rate_limited``, ``too_large``.

No line carries a token, a header, the query text, its variables or a
real address behind a pseudonym. The file is created with mode 0600 at
``IOTGRAPH_AUDIT_LOG``, by default ``iotgraph-audit.jsonl`` beside a SQLite
store. ``iotgraph audit --since 1h`` prints it.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

logger = logging.getLogger(__name__)

MAX_DEVICES_PER_RECORD = 1000
# Root fields (GraphQL names) and their argument that names a device id.
DEVICE_ARGUMENTS: dict[str, str] = {
    "device": "id",
    "neighborhood": "deviceId",
    "explanation": "deviceId",
    "scoreHistory": "deviceId",
    "labelDevice": "id",
    "resolvePseudonym": "id",
}
_ROOT_TYPES = frozenset({"Query", "Mutation"})


@dataclass
class AuditRecord:
    """One request in the audit log; see the module docstring for the fields."""

    ts: float
    request_id: str
    key_id: str | None
    role: str | None
    operation: str
    outcome: str
    status: int
    codes: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    devices_total: int = 0
    client: str | None = None
    duration_ms: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)


class AuditTrail:
    """The operation and device ids of one request, filled in while it runs; the router turns it into an AuditRecord."""

    def __init__(self, *, request_id: str, client: str | None) -> None:
        self.request_id = request_id
        self.client = client
        self.started = time.monotonic()
        self.operation = "-"
        self._devices: dict[str, None] = {}

    def add_device(self, device_id: object) -> None:
        if device_id is not None:
            self._devices[str(device_id)] = None

    def collect(self, value: object) -> None:
        """Add the device ids a root field returned: devices, scores, explanations, neighbourhoods."""
        if value is None:
            return
        if isinstance(value, list | tuple):
            for item in value:
                self.collect(item)
            return
        # Duck typing over the API types keeps this module free of them: Device has id and ip,
        # Score and Explanation have device_id, Neighborhood has nodes, DeviceConnection has items.
        for attribute in ("nodes", "items"):
            nested = getattr(value, attribute, None)
            if isinstance(nested, list):
                self.collect(nested)
                return
        device_id = getattr(value, "device_id", None)
        if device_id is None and hasattr(value, "ip"):
            device_id = getattr(value, "id", None)
        self.add_device(device_id)

    def record(self, *, principal: Any, outcome: str, status: int, codes: list[str]) -> AuditRecord:
        devices = list(self._devices)
        return AuditRecord(
            ts=time.time(),
            request_id=self.request_id,
            key_id=None if principal is None else principal.key_id,
            role=None if principal is None else principal.role.value,
            operation=self.operation,
            outcome=outcome,
            status=status,
            codes=codes,
            devices=devices[:MAX_DEVICES_PER_RECORD],
            devices_total=len(devices),
            client=self.client,
            duration_ms=round((time.monotonic() - self.started) * 1000.0, 3),
        )


def error_codes(errors: list[GraphQLError] | None) -> list[str]:
    """Return the distinct ``extensions.code`` of a result's errors, in order."""
    codes: dict[str, None] = {}
    for error in errors or []:
        codes[str((error.extensions or {}).get("code", "ERROR"))] = None
    return list(codes)


class AuditLog:
    """Append-only JSON lines file, written under a lock by every request thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, record: AuditRecord) -> None:
        line = record.to_json() + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # O_APPEND keeps lines of concurrent writers (API processes) whole; 0600 keeps them private.
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(descriptor, line.encode("utf-8"))
                finally:
                    os.close(descriptor)
        except OSError:
            # NOTE: a request is not failed for its audit line; the error is logged with the request id instead.
            logger.exception("request %s: could not write the audit log %s", record.request_id, self.path)

    def read(self, *, since: float | None = None) -> Iterator[AuditRecord]:
        """Yield the records at or after ``since`` (epoch seconds), oldest first; malformed lines are skipped and logged."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    record = AuditRecord(**json.loads(line))
                except (json.JSONDecodeError, TypeError) as error:
                    logger.warning("%s line %d is not an audit record (%s); skipped", self.path, number, error)
                    continue
                if since is None or record.ts >= since:
                    yield record


class AuditExtension(SchemaExtension):
    """Collect the operation name and the device ids of root fields into the request's AuditTrail.

    The trail is the ``audit`` attribute the router puts on the context;
    without one the extension does nothing.
    """

    def on_validate(self) -> Iterator[None]:
        # The document is parsed by now, so even a request that fails validation gets its root fields named.
        trail = getattr(self.execution_context.context, "audit", None)
        if trail is not None:
            from api.metrics import operation_label

            trail.operation = operation_label(self.execution_context.graphql_document, self.execution_context.operation_name)
        yield

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        result = _next(root, info, *args, **kwargs)
        if info.parent_type.name not in _ROOT_TYPES:
            return result
        trail = getattr(info.context, "audit", None)
        if trail is None:
            return result
        argument = DEVICE_ARGUMENTS.get(info.field_name)
        if argument is not None:
            trail.add_device(kwargs.get(argument))
        if inspect.isawaitable(result):
            return _collect_later(result, trail)
        trail.collect(result)
        return result


async def _collect_later(result: Any, trail: AuditTrail) -> Any:
    value = await result
    trail.collect(value)
    return value

