"""The append-only, hash-chained audit log: every request, decision, execution and outcome.

Each row carries `prev_hash` (the previous row's hash) and `hash = sha256(prev_hash +
canonical row)`, so changing or removing a row breaks the chain from there on.
`audit_head` remembers the last seq and hash, which also catches a truncated tail.
Triggers refuse UPDATE and DELETE on the log; `verify_audit_chain` checks everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from bot.store.db import Store

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64


def m012_create_audit_log(db: sqlite_utils.Database) -> None:
    """The audit log and its head pointer."""
    db.execute(
        """CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            actor TEXT NOT NULL,
            event TEXT NOT NULL,
            request_id TEXT,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX audit_log_request ON audit_log (request_id)")
    db.execute(
        "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)"
    )
    db.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, ?)", [GENESIS_HASH])


def m013_forbid_audit_changes(db: sqlite_utils.Database) -> None:
    """Refuse UPDATE and DELETE on the audit log at the database level."""
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
        )


MIGRATIONS = [m012_create_audit_log, m013_forbid_audit_changes]


def row_hash(
    prev_hash: str, seq: int, ts: str, actor: str, event: str, request_id: str | None, details: str
) -> str:
    """The hash of one row, chained to the previous one."""
    canonical = json.dumps(
        [seq, ts, actor, event, request_id, details], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def append_audit(
    store: Store,
    actor: str,
    event: str,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> int:
    """Append one entry (atomically, joining an open transaction if there is one); returns its seq."""
    ts = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    text = json.dumps(
        details or {}, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":")
    )
    with store.transaction() as db:
        head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        seq, prev = head[0] + 1, head[1]
        digest = row_hash(prev, seq, ts, actor, event, request_id, text)
        db.execute(
            "INSERT INTO audit_log (seq, ts, actor, event, request_id, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, ts, actor, event, request_id, text, prev, digest],
        )
        db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", [seq, digest])
    logger.info(
        "seq=<%d>, event=<%s>, request=<%s>, actor=<%s> | audited", seq, event, request_id, actor
    )
    return seq


def latest_audit(
    store: Store, limit: int = 20, request_id: str | None = None
) -> list[dict[str, Any]]:
    """The newest entries first, with `details` decoded."""
    where, params = ("WHERE request_id = ?", [request_id]) if request_id else ("", [])
    rows = store.query(
        f"SELECT seq, ts, actor, event, request_id, details FROM audit_log {where} ORDER BY seq DESC LIMIT ?",
        [*params, int(limit)],
    )
    for row in rows:
        row["details"] = json.loads(row["details"])
    return rows


def verify_audit_chain(store: Store) -> tuple[bool, str]:
    """Check every row's hash and link, the sequence and the head; (ok, one-line message)."""
    prev, expected_seq, count = GENESIS_HASH, 1, 0
    with store.reading() as db:
        cursor = db.execute(
            "SELECT seq, ts, actor, event, request_id, details, prev_hash, hash FROM audit_log ORDER BY seq"
        )
        for seq, ts, actor, event, request_id, details, prev_hash, digest in cursor:
            if seq != expected_seq:
                return False, f"audit log broken: row {expected_seq} is missing (next row is {seq})"
            if prev_hash != prev:
                return False, f"audit log broken at row {seq}: it does not link to row {seq - 1}"
            if row_hash(prev_hash, seq, ts, actor, event, request_id, details) != digest:
                return False, f"audit log broken at row {seq}: its content was modified"
            prev, expected_seq, count = digest, seq + 1, count + 1
        head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    if head is None or head[0] != count or head[1] != prev:
        return (
            False,
            f"audit log broken: it ends at row {count} but the head says {head[0] if head else '?'}",
        )
    return True, f"audit log intact: {count} entries verified"
