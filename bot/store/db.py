"""The Store: a thread-safe sqlite-utils Database with named migrations.

One connection per Store, guarded by a re-entrant lock, in autocommit mode; writes that
must be atomic run inside `Store.transaction()`, which takes SQLite's write lock up front
(`BEGIN IMMEDIATE`) so that compare-and-set updates are safe across threads and across
processes sharing the file. sqlite-utils methods nest inside it through savepoints.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

logger = logging.getLogger(__name__)

Migration = Callable[[sqlite_utils.Database], None]


class StoreError(Exception):
    """The database could not be opened or migrated (bad path, locked too long, corrupt file)."""


class Store:
    """Access to Penny's SQLite database; share one instance across threads."""

    def __init__(self, db: sqlite_utils.Database, path: str):
        self.db = db
        self.path = path
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Run a block atomically, holding SQLite's write lock from the start."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite_utils.Database]:
        """Hold the connection for a series of reads (no write lock is taken)."""
        with self._lock:
            yield self.db

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Run a SELECT and return its rows as dicts."""
        with self._lock:
            return list(self.db.query(sql, params))

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one write statement on its own (atomic by itself); returns the rows changed."""
        with self._lock:
            return self.db.execute(sql, params).rowcount

    def is_healthy(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self._lock:
                self.db.execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.db.close()


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 text, the format every table uses."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_store(path: str, migrations: Sequence[Migration] | None = None) -> Store:
    """Open (creating if needed) the database at `path` and apply pending migrations.

    `path` may be ":memory:" for tests. Raises StoreError when the file cannot be used.
    """
    if migrations is None:
        from bot.store.migrations import ALL_MIGRATIONS

        migrations = ALL_MIGRATIONS
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL is still crash-safe for the application (no corruption, no lost
            # commit on a process crash); it skips an fsync per commit, which the ack path feels.
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=ON")
        store = Store(sqlite_utils.Database(conn), path)
        apply_migrations(store, migrations)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {path!r}: {exc}") from exc
    return store


def apply_migrations(store: Store, migrations: Sequence[Migration]) -> list[str]:
    """Apply, in order and once each, the migrations not yet recorded; returns their names."""
    names = [m.__name__ for m in migrations]
    if len(set(names)) != len(names):
        raise StoreError(f"duplicate migration names: {names}")
    store.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    applied: list[str] = []
    for migration in migrations:
        with store.transaction() as db:
            done = db.execute(
                "SELECT 1 FROM _migrations WHERE name = ?", [migration.__name__]
            ).fetchone()
            if done:
                continue
            migration(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [migration.__name__, utc_now_iso()],
            )
            applied.append(migration.__name__)
            logger.info("migration=<%s> | applied", migration.__name__)
    return applied
