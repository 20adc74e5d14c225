"""The pseudonym → address table of a SQLite store, in a file of its own.

The table lives apart from the store file (``iotgraph.db`` →
``iotgraph.pseudonyms.db``), created with mode 0600, so that the store file
can be copied, inspected or handed to an analyst without a single real
address in it. Only ``GraphStore.resolve_pseudonym`` reads it, and only the
admin paths (the ``resolvePseudonym`` mutation, ``iotgraph pseudonym
resolve``) call that.

The file is created on the first pseudonym written; a store that never
ingested with ``--pseudonymise`` has none.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS pseudonyms (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    last_seen REAL NOT NULL
) WITHOUT ROWID
"""
# Keeps the newest flow time, which retention compares with its cut-off.
UPSERT = """
INSERT INTO pseudonyms (id, address, last_seen) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)
"""


def vault_path(store_path: str) -> str:
    """Return the pseudonym file of a store file: the same name with ``.pseudonyms.db`` for its suffix."""
    if store_path == ":memory:":
        return store_path
    path = Path(store_path)
    return str(path.with_name(path.stem + ".pseudonyms.db"))


class PseudonymVault:
    """One connection to the pseudonym file, shared by the store's threads under a lock."""

    def __init__(self, path: str, *, timeout: float = 30.0) -> None:
        self.path = path
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connection(self, *, create: bool) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        in_memory = self.path == ":memory:"
        if not in_memory and not Path(self.path).exists():
            if not create:
                return None
            # Created 0600 before SQLite opens it, so the addresses are never readable by others.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            logger.info("created pseudonym file %s (mode 0600)", self.path)
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
        conn.execute(SCHEMA)
        self._conn = conn
        return conn

    def add(self, rows: Sequence[tuple[str, str, float]]) -> None:
        """Store (pseudonym, address, last_seen) rows in one transaction."""
        if not rows:
            return
        with self._lock:
            conn = self._connection(create=True)
            assert conn is not None  # create=True always returns a connection
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(UPSERT, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def resolve(self, pseudonym: str) -> str | None:
        with self._lock:
            conn = self._connection(create=False)
            if conn is None:
                return None
            row = conn.execute("SELECT address FROM pseudonyms WHERE id = ?", (pseudonym,)).fetchone()
        return None if row is None else row[0]

    def count(self) -> int:
        with self._lock:
            conn = self._connection(create=False)
            return 0 if conn is None else int(conn.execute("SELECT COUNT(*) FROM pseudonyms").fetchone()[0])

    def delete_orphans(self, *, before: float, existing: Callable[[Sequence[str]], set[str]], batch_size: int) -> int:
        """Delete pseudonyms last seen before ``before`` whose device ``existing`` no longer finds; return how many.

        A pseudonym seen later is kept even without its device: an ingest may
        have stored the pseudonym and not yet committed the device.
        """
        deleted = 0
        after = ""
        while True:
            with self._lock:
                conn = self._connection(create=False)
                if conn is None:
                    return deleted
                page = [
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM pseudonyms WHERE id > ? AND last_seen < ? ORDER BY id LIMIT ?", (after, before, batch_size)
                    )
                ]
            if not page:
                return deleted
            after = page[-1]
            orphans = sorted(set(page) - existing(page))
            if orphans:
                with self._lock:
                    conn = self._connection(create=False)
                    assert conn is not None  # it returned the page above
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany("DELETE FROM pseudonyms WHERE id = ?", ((pseudonym,) for pseudonym in orphans))
                    conn.execute("COMMIT")
                deleted += len(orphans)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
