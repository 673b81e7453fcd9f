"""What Penny remembers per Slack thread for the fast path: the last intent it answered.

A follow-up such as "and the month before?" is routed against the thread's previous
intent; keeping it in SQLite means the follow-up still works after a restart.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.store.db import Store


def m029_create_ask_threads(db: sqlite_utils.Database) -> None:
    """The last fast-path intent per (channel, thread)."""
    db.execute(
        """CREATE TABLE ask_threads (
            channel TEXT NOT NULL,
            thread_ts TEXT NOT NULL,
            intent TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel, thread_ts)
        )"""
    )


MIGRATIONS = [m029_create_ask_threads]


def previous_intent(store: Store, channel: str, thread_ts: str) -> dict[str, Any] | None:
    """The intent (as `Intent.as_dict()`) last answered in this thread, or None."""
    rows = store.query(
        "SELECT intent FROM ask_threads WHERE channel = ? AND thread_ts = ?", [channel, thread_ts]
    )
    return json.loads(rows[0]["intent"]) if rows else None


def remember_intent(
    store: Store, channel: str, thread_ts: str, intent: dict[str, Any], now: datetime
) -> None:
    """Keep `intent` as the thread's previous intent (replacing the last one)."""
    store.execute(
        """INSERT INTO ask_threads (channel, thread_ts, intent, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (channel, thread_ts) DO UPDATE SET intent = excluded.intent,
            updated_at = excluded.updated_at""",
        [channel, thread_ts, json.dumps(intent), now.isoformat(timespec="seconds")],
    )
