"""Store calls off the event loop, one store connection per thread.

Store calls block (SQLite queries, Neo4j round trips), so the API runs them
on a few dedicated threads. Each thread opens its own store and is the only
one to use and close it, which suits SQLite connections that must stay on
the thread that created them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

from graphdb.store import GraphStore

logger = logging.getLogger(__name__)

T = TypeVar("T")
StoreFactory = Callable[[], GraphStore]

_STOP = object()


class StorePool:
    """A fixed set of threads, each holding one store, that run store calls for async code."""

    def __init__(self, factory: StoreFactory, *, threads: int = 4, name: str = "iotgraph-store") -> None:
        if threads < 1:
            raise ValueError(f"invalid threads {threads}: a store pool needs at least 1 thread")
        self._factory = factory
        self._tasks: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve, name=f"{name}-{index}", daemon=True) for index in range(threads)]
        self._closed = False
        for thread in self._threads:
            thread.start()

    async def run(self, call: Callable[[GraphStore], T]) -> T:
        """Run ``call(store)`` on a pool thread and return its result."""
        return await asyncio.wrap_future(self.submit(call))

    def submit(self, call: Callable[[GraphStore], T]) -> concurrent.futures.Future[T]:
        if self._closed:
            raise RuntimeError("the store pool is closed; create the app again to reopen the store")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._tasks.put((call, future))
        return future

    def close(self, *, timeout: float = 10.0) -> None:
        """Close every thread's store after the calls already queued."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._tasks.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)

    def _serve(self) -> None:
        store: GraphStore | None = None
        try:
            while True:
                task = self._tasks.get()
                if task is _STOP:
                    return
                call, future = task  # type: ignore[misc]  # only (call, future) pairs and _STOP are queued
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    if store is None:
                        store = self._factory()
                    future.set_result(call(store))
                except BaseException as error:  # noqa: BLE001  # handed to the awaiting request, which reports it
                    future.set_exception(error)
        finally:
            if store is not None:
                store.close()
