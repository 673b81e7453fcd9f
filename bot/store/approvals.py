"""Approval requests and spend approvals in SQLite, moved only by compare-and-set updates.

A state change is `UPDATE ... WHERE id = ? AND state = ? AND version = ?` inside
`Store.transaction()` (SQLite's write lock taken up front); the row count decides who won,
so two clicks, two threads or two processes can never both move the same request. The
matching audit entry is written in the same transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from bot.core.approvals import (
    Approval,
    ApprovalRequest,
    CardLocation,
    Preview,
    ResourceOutcome,
    check_transition,
)
from bot.store.audit import append_audit
from bot.store.db import Store

logger = logging.getLogger(__name__)


def m010_create_approval_requests(db: sqlite_utils.Database) -> None:
    """One row per approval request: the exact parameters, the state and its version."""
    db.execute(
        """CREATE TABLE approval_requests (
            id TEXT PRIMARY KEY,
            action TEXT NOT NULL,
            params TEXT NOT NULL,
            account TEXT NOT NULL,
            region TEXT NOT NULL,
            reason TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            channel TEXT NOT NULL,
            thread_ts TEXT,
            risk TEXT NOT NULL,
            dry_run INTEGER NOT NULL,
            state TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            required_approvals INTEGER NOT NULL DEFAULT 1,
            approvals TEXT NOT NULL DEFAULT '[]',
            decided_by TEXT,
            decided_at TEXT,
            deny_reason TEXT,
            outcomes TEXT NOT NULL DEFAULT '[]',
            preview TEXT NOT NULL DEFAULT '{}',
            cards TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL,
            origin TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    db.execute("CREATE INDEX approval_requests_state ON approval_requests (state, expires_at)")


def m011_create_spend_approvals(db: sqlite_utils.Database) -> None:
    """Spend approvals that budget alerts and reports can refer to."""
    db.execute(
        """CREATE TABLE spend_approvals (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL UNIQUE,
            amount_usd REAL NOT NULL,
            purpose TEXT NOT NULL,
            account TEXT,
            service TEXT,
            requested_by TEXT NOT NULL,
            approved_by TEXT NOT NULL,
            approved_at TEXT NOT NULL
        )"""
    )


MIGRATIONS = [m010_create_approval_requests, m011_create_spend_approvals]


@dataclass(frozen=True)
class AuditNote:
    """The audit entry to write together with a state change."""

    actor: str
    event: str
    details: dict[str, Any]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def request_to_row(request: ApprovalRequest) -> dict[str, Any]:
    """The column values for a request."""
    return {
        "id": request.id,
        "action": request.action,
        "params": _dumps(request.params),
        "account": request.account,
        "region": request.region,
        "reason": request.reason,
        "requested_by": request.requested_by,
        "channel": request.channel,
        "thread_ts": request.thread_ts,
        "risk": request.risk,
        "dry_run": int(request.dry_run),
        "state": request.state,
        "version": request.version,
        "created_at": _iso(request.created_at),
        "expires_at": _iso(request.expires_at),
        "updated_at": _iso(request.created_at),
        "required_approvals": request.required_approvals,
        "approvals": _dumps([{"user": a.user, "at": _iso(a.at)} for a in request.approvals]),
        "decided_by": request.decided_by,
        "decided_at": _iso(request.decided_at),
        "deny_reason": request.deny_reason,
        "outcomes": _dumps([o.to_dict() for o in request.outcomes]),
        "preview": _dumps(request.preview.to_dict()),
        "cards": _dumps([{"channel": c.channel, "ts": c.ts} for c in request.cards]),
        "source": request.source,
        "origin": _dumps(request.origin),
    }


def row_to_request(row: dict[str, Any]) -> ApprovalRequest:
    """Rebuild a request from its row."""
    return ApprovalRequest(
        id=row["id"],
        action=row["action"],
        params=json.loads(row["params"]),
        account=row["account"],
        region=row["region"],
        reason=row["reason"],
        requested_by=row["requested_by"],
        channel=row["channel"],
        thread_ts=row["thread_ts"],
        risk=row["risk"],
        dry_run=bool(row["dry_run"]),
        state=row["state"],
        version=row["version"],
        created_at=datetime.fromisoformat(row["created_at"]),
        expires_at=datetime.fromisoformat(row["expires_at"]),
        required_approvals=row["required_approvals"],
        approvals=tuple(
            Approval(a["user"], datetime.fromisoformat(a["at"]))
            for a in json.loads(row["approvals"])
        ),
        decided_by=row["decided_by"],
        decided_at=_dt(row["decided_at"]),
        deny_reason=row["deny_reason"],
        outcomes=tuple(ResourceOutcome.from_dict(o) for o in json.loads(row["outcomes"])),
        preview=Preview.from_dict(json.loads(row["preview"])),
        cards=tuple(CardLocation(c["channel"], c["ts"]) for c in json.loads(row["cards"])),
        source=row["source"],
        origin=json.loads(row["origin"]),
    )


def insert_request(store: Store, request: ApprovalRequest, audit: AuditNote | None = None) -> None:
    """Store a new request (and its `requested` audit entry) atomically."""
    row = request_to_row(request)
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    with store.transaction() as db:
        db.execute(
            f"INSERT INTO approval_requests ({columns}) VALUES ({marks})", list(row.values())
        )
        if audit:
            append_audit(
                store, audit.actor, audit.event, request.id, audit.details, request.created_at
            )


def get_request(store: Store, request_id: str) -> ApprovalRequest | None:
    """The request with this id, or None."""
    rows = store.query("SELECT * FROM approval_requests WHERE id = ?", [request_id])
    return row_to_request(rows[0]) if rows else None


_MUTABLE = {
    "state",
    "approvals",
    "decided_by",
    "decided_at",
    "deny_reason",
    "outcomes",
}


def save_transition(
    store: Store,
    before: ApprovalRequest,
    after: ApprovalRequest,
    now: datetime,
    audit: AuditNote | None = None,
) -> bool:
    """Compare-and-set: write `after` only if the row still is `before` (same state and version).

    Returns True for the one caller that won. The state move itself must be allowed by
    the state machine (an approval that leaves the request pending keeps its state).
    """
    if after.state != before.state:
        check_transition(before.state, after.state)
    new_row = request_to_row(after)
    changes = {k: new_row[k] for k in _MUTABLE}
    sets = ", ".join(f"{k} = ?" for k in changes)
    with store.transaction() as db:
        cursor = db.execute(
            f"UPDATE approval_requests SET {sets}, version = version + 1, updated_at = ? "
            "WHERE id = ? AND state = ? AND version = ?",
            [*changes.values(), _iso(now), before.id, before.state, before.version],
        )
        won = cursor.rowcount == 1
        if won and audit:
            append_audit(store, audit.actor, audit.event, before.id, audit.details, now)
    logger.info(
        "request=<%s>, from=<%s>, to=<%s>, won=<%s> | compare-and-set",
        before.id,
        before.state,
        after.state,
        won,
    )
    return won


def add_card_location(store: Store, request_id: str, location: CardLocation) -> None:
    """Remember one more posted copy of the card (no version bump: not a decision)."""
    with store.transaction() as db:
        row = db.execute(
            "SELECT cards FROM approval_requests WHERE id = ?", [request_id]
        ).fetchone()
        if row is None:
            return
        cards = json.loads(row[0])
        cards.append({"channel": location.channel, "ts": location.ts})
        db.execute(
            "UPDATE approval_requests SET cards = ? WHERE id = ?", [_dumps(cards), request_id]
        )


def list_requests(
    store: Store, states: Iterable[str] | None = None, limit: int = 50
) -> list[ApprovalRequest]:
    """Requests, newest first, optionally only in the given states."""
    wanted = list(states or [])
    where = f"WHERE state IN ({', '.join('?' for _ in wanted)})" if wanted else ""
    rows = store.query(
        f"SELECT * FROM approval_requests {where} ORDER BY created_at DESC LIMIT ?",
        [*wanted, int(limit)],
    )
    return [row_to_request(r) for r in rows]


def list_due_for_expiry(store: Store, now: datetime) -> list[ApprovalRequest]:
    """Pending requests whose expiry has passed."""
    rows = store.query(
        "SELECT * FROM approval_requests WHERE state = 'pending' AND expires_at <= ? ORDER BY expires_at",
        [_iso(now)],
    )
    return [row_to_request(r) for r in rows]


def record_spend_approval(
    store: Store,
    request_id: str,
    amount_usd: float,
    purpose: str,
    requested_by: str,
    approved_by: str,
    approved_at: datetime,
    account: str | None = None,
    service: str | None = None,
) -> bool:
    """Record a spend approval once per request; False when it was already recorded."""
    changed = store.execute(
        "INSERT OR IGNORE INTO spend_approvals (request_id, amount_usd, purpose, account, service, requested_by, approved_by, approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            request_id,
            amount_usd,
            purpose,
            account,
            service,
            requested_by,
            approved_by,
            _iso(approved_at),
        ],
    )
    return changed == 1


def list_spend_approvals(store: Store, since: datetime) -> list[dict[str, Any]]:
    """Spend approvals recorded at or after `since`, oldest first (for budget alerts and reports)."""
    return store.query(
        "SELECT request_id, amount_usd, purpose, account, service, requested_by, approved_by, approved_at "
        "FROM spend_approvals WHERE approved_at >= ? ORDER BY approved_at",
        [_iso(since)],
    )
