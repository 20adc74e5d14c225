"""A stand-in for the Neo4j driver that records every statement the store sends.

It executes nothing: each statement returns the records a test scripts for
it (none by default). Tests use it to check what the store sends: which
statements and parameters, in how many transactions, against which database.
Whether Neo4j accepts the statements is checked by tools/cypher-check and by
the contract suite on a real Neo4j.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cypher

Responder = Callable[[dict[str, Any]], list[dict[str, Any]]]


def statement_name(query: str) -> str:
    """Return the cypher/ file name a query text came from; schema parts map to ``schema``."""
    for name in cypher.names():
        if cypher.load(name) == query:
            return name
    if query in cypher.split_statements(cypher.load("schema")):
        return "schema"
    raise AssertionError(f"statement not loaded from a cypher/ file: {query[:80]!r}")


@dataclass
class Call:
    name: str
    params: dict[str, Any]
    transaction: int
    database: str | None


class StubResult:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self._records = records

    def __iter__(self):
        return iter(self._records)

    def single(self) -> dict[str, Any] | None:
        return self._records[0] if self._records else None

    def consume(self) -> None:
        return None


class StubTransaction:
    def __init__(self, driver: StubDriver, number: int, database: str | None) -> None:
        self._driver = driver
        self._number = number
        self._database = database

    def run(self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> StubResult:
        params = {**(parameters or {}), **kwargs}
        name = statement_name(query)
        self._driver.calls.append(Call(name, params, self._number, self._database))
        responder = self._driver.responses.get(name)
        return StubResult(responder(params) if responder else [])


class StubSession:
    def __init__(self, driver: StubDriver, database: str | None) -> None:
        self._driver = driver
        self._database = database

    def __enter__(self) -> StubSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _transaction(self, kind: str, work: Callable[..., Any], *args: Any) -> Any:
        self._driver.transactions.append(kind)
        return work(StubTransaction(self._driver, len(self._driver.transactions), self._database), *args)

    def execute_read(self, work: Callable[..., Any], *args: Any) -> Any:
        return self._transaction("read", work, *args)

    def execute_write(self, work: Callable[..., Any], *args: Any) -> Any:
        return self._transaction("write", work, *args)

    def run(self, query: str, parameters: dict[str, Any] | None = None) -> StubResult:
        self._driver.transactions.append("auto")
        return StubTransaction(self._driver, len(self._driver.transactions), self._database).run(query, parameters)


@dataclass
class StubDriver:
    responses: dict[str, Responder] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    transactions: list[str] = field(default_factory=list)
    sessions: list[str | None] = field(default_factory=list)
    closed: bool = False

    def session(self, *, database: str | None = None, **config: Any) -> StubSession:
        self.sessions.append(database)
        return StubSession(self, database)

    def close(self) -> None:
        self.closed = True

    def reset(self) -> None:
        self.calls.clear()
        self.transactions.clear()
        self.sessions.clear()

    def named(self, name: str) -> list[Call]:
        return [call for call in self.calls if call.name == name]
