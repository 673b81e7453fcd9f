"""Foundation tables: Cost Explorer response cache and the Slack request de-duplication log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from bot.store.db import Store


def m001_create_ce_cache(db: sqlite_utils.Database) -> None:
    """Cost Explorer responses keyed by the normalised request, with an expiry (NULL: never)."""
    db.execute(
        """CREATE TABLE ce_cache (
            key TEXT PRIMARY KEY,
            operation TEXT NOT NULL,
            response TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            expires_at TEXT
        )"""
    )


def m002_create_seen_requests(db: sqlite_utils.Database) -> None:
    """Slack deliveries already handled (event_id, trigger_id...), so retries are answered once."""
    db.execute(
        """CREATE TABLE seen_requests (
            key TEXT PRIMARY KEY,
            seen_at TEXT NOT NULL
        )"""
    )


MIGRATIONS = [m001_create_ce_cache, m002_create_seen_requests]


def cache_get(store: Store, key: str, now: datetime | None = None) -> Any | None:
    """The cached response for `key` if present and not expired, else None."""
    now = now or datetime.now(UTC)
    rows = store.query("SELECT response, expires_at FROM ce_cache WHERE key = ?", [key])
    if not rows:
        return None
    expires = rows[0]["expires_at"]
    if expires is not None and datetime.fromisoformat(expires) <= now:
        return None
    return json.loads(rows[0]["response"])


def cache_put(
    store: Store,
    key: str,
    operation: str,
    response: Any,
    ttl: timedelta | None,
    now: datetime | None = None,
) -> None:
    """Store a response; `ttl` None means it never expires (a finalised period)."""
    now = now or datetime.now(UTC)
    expires = None if ttl is None else (now + ttl).isoformat(timespec="seconds")
    store.execute(
        "INSERT OR REPLACE INTO ce_cache (key, operation, response, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        [
            key,
            operation,
            json.dumps(response, default=str),
            now.isoformat(timespec="seconds"),
            expires,
        ],
    )


def first_time_seen(store: Store, key: str) -> bool:
    """Record a Slack delivery key; True only for the first caller, across threads and processes."""
    changed = store.execute(
        "INSERT OR IGNORE INTO seen_requests (key, seen_at) VALUES (?, ?)",
        [key, datetime.now(UTC).isoformat(timespec="seconds")],
    )
    return changed == 1


def forget_seen_before(store: Store, cutoff: datetime) -> int:
    """Drop de-duplication keys older than `cutoff` (Slack retries stop within minutes)."""
    return store.execute(
        "DELETE FROM seen_requests WHERE seen_at < ?", [cutoff.isoformat(timespec="seconds")]
    )
