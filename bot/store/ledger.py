"""The schedules' memory: the once-only ledger, the outbox, job run history and the scheduler lease.

* **Ledger.** A row per thing that must happen once (a job occurrence, a report for a
  period, a budget threshold in a period, an anomaly id). `claim` inserts it with
  INSERT OR IGNORE, so across threads, restarts and replicas exactly one caller wins;
  callers claim *before* posting and record the posted ts after. A post Slack refused
  with a rate limit is kept in the row (state `retry`, payload, when to retry) and
  delivered later, so it is neither lost nor sent twice.
* **Runs.** Each job run with when it started, what triggered it and how it ended.
* **Lease.** With several replicas on one database, the one holding the lease runs the
  schedules; acquire/renew/release are compare-and-set, and an expired lease can be taken.
* **Idle findings.** The parameters behind each finding button, stored so an approval
  request opens for exactly what the report showed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from bot.store.db import Store

CLAIMED = "claimed"
POSTED = "posted"
RETRY = "retry"
COVERED = "covered"
FAILED = "failed"


def m030_create_job_ledger(db: sqlite_utils.Database) -> None:
    """Once-only keys: who claimed what, whether and where it was posted, or what to retry."""
    db.execute(
        """CREATE TABLE job_ledger (
            key TEXT PRIMARY KEY,
            job TEXT NOT NULL,
            state TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            posted_at TEXT,
            channel TEXT,
            ts TEXT,
            payload TEXT,
            retry_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            detail TEXT
        )"""
    )
    db.execute("CREATE INDEX job_ledger_retry ON job_ledger (state, retry_at)")


def m031_create_job_runs(db: sqlite_utils.Database) -> None:
    """Job run history: one row per run, with its trigger and outcome."""
    db.execute(
        """CREATE TABLE job_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job TEXT NOT NULL,
            trigger TEXT NOT NULL,
            scheduled_for TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT,
            detail TEXT
        )"""
    )
    db.execute("CREATE INDEX job_runs_job ON job_runs (job, started_at)")


def m032_create_scheduler_lease(db: sqlite_utils.Database) -> None:
    """The scheduler lease: one row per lease name, held by one replica until it expires."""
    db.execute(
        """CREATE TABLE scheduler_lease (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )"""
    )


def m033_create_idle_findings(db: sqlite_utils.Database) -> None:
    """Idle-resource findings behind report buttons, and the approval request each one opened."""
    db.execute(
        """CREATE TABLE idle_findings (
            id TEXT PRIMARY KEY,
            report_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            action TEXT NOT NULL,
            params TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            region TEXT NOT NULL,
            summary TEXT NOT NULL,
            monthly_usd REAL,
            created_at TEXT NOT NULL,
            request_id TEXT,
            requested_by TEXT
        )"""
    )


MIGRATIONS = [
    m030_create_job_ledger,
    m031_create_job_runs,
    m032_create_scheduler_lease,
    m033_create_idle_findings,
]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# -- ledger -------------------------------------------------------------------------------------


def claim(
    store: Store, key: str, *, job: str = "", now: datetime, detail: str | None = None
) -> bool:
    """Claim `key`; True only for the first caller ever, across threads, restarts and replicas."""
    changed = store.execute(
        "INSERT OR IGNORE INTO job_ledger (key, job, state, claimed_at, detail) VALUES (?, ?, ?, ?, ?)",
        [key, job, CLAIMED, _iso(now), detail],
    )
    return changed == 1


def claim_covered(store: Store, key: str, *, job: str, now: datetime, covered_by: str) -> bool:
    """Claim `key` as handled by the post of another key (e.g. a lower threshold in the same alert)."""
    changed = store.execute(
        "INSERT OR IGNORE INTO job_ledger (key, job, state, claimed_at, detail) VALUES (?, ?, ?, ?, ?)",
        [key, job, COVERED, _iso(now), f"covered by {covered_by}"],
    )
    return changed == 1


def is_claimed(store: Store, key: str) -> bool:
    """True when `key` was claimed (posted, waiting for a retry, or covered by another post)."""
    return bool(store.query("SELECT 1 FROM job_ledger WHERE key = ?", [key]))


def ledger_entry(store: Store, key: str) -> dict[str, Any] | None:
    """The ledger row for `key` (payload decoded), or None."""
    rows = store.query("SELECT * FROM job_ledger WHERE key = ?", [key])
    if not rows:
        return None
    row = dict(rows[0])
    row["payload"] = json.loads(row["payload"]) if row["payload"] else None
    return row


def record_posted(store: Store, key: str, *, channel: str, ts: str | None, now: datetime) -> None:
    """Note where the claimed `key` was posted (its message ts), clearing any pending retry."""
    store.execute(
        "UPDATE job_ledger SET state = ?, posted_at = ?, channel = ?, ts = ?, payload = NULL, retry_at = NULL, attempts = attempts + 1 WHERE key = ?",
        [POSTED, _iso(now), channel, ts, key],
    )


def schedule_retry(
    store: Store, key: str, *, payload: dict[str, Any], retry_at: datetime, error: str
) -> None:
    """Keep the post for `key` to deliver at `retry_at` (Slack rate-limited it)."""
    store.execute(
        "UPDATE job_ledger SET state = ?, payload = ?, retry_at = ?, attempts = attempts + 1, detail = ? WHERE key = ?",
        [RETRY, json.dumps(payload), _iso(retry_at), error, key],
    )


def mark_failed(store: Store, key: str, *, error: str) -> None:
    """The post for `key` failed in a way that may or may not have reached Slack: keep it claimed, visibly."""
    store.execute("UPDATE job_ledger SET state = ?, detail = ? WHERE key = ?", [FAILED, error, key])


def release(store: Store, key: str) -> None:
    """Forget a claim whose post Slack definitely refused, so a later run may try again."""
    store.execute("DELETE FROM job_ledger WHERE key = ? AND state != ?", [key, POSTED])


def due_retries(store: Store, now: datetime) -> list[dict[str, Any]]:
    """Posts waiting for a retry whose time has come, oldest first (payload decoded)."""
    rows = store.query(
        "SELECT * FROM job_ledger WHERE state = ? AND retry_at <= ? ORDER BY retry_at, key",
        [RETRY, _iso(now)],
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"]) if row["payload"] else None
    return rows


def take_retry(store: Store, key: str, now: datetime) -> bool:
    """Compare-and-set a due retry back to `claimed`, so only one deliverer sends it."""
    changed = store.execute(
        "UPDATE job_ledger SET state = ? WHERE key = ? AND state = ? AND retry_at <= ?",
        [CLAIMED, key, RETRY, _iso(now)],
    )
    return changed == 1


def posted_ts(store: Store, key: str) -> str | None:
    """The ts of the message posted for `key`, or None when not (yet) posted."""
    rows = store.query("SELECT ts FROM job_ledger WHERE key = ? AND state = ?", [key, POSTED])
    return rows[0]["ts"] if rows else None


def last_posted(store: Store, prefix: str) -> dict[str, Any] | None:
    """The most recent posted ledger row whose key starts with `prefix`."""
    rows = store.query(
        "SELECT * FROM job_ledger WHERE key LIKE ? AND state = ? ORDER BY posted_at DESC LIMIT 1",
        [prefix.replace("%", "") + "%", POSTED],
    )
    return rows[0] if rows else None


# -- runs ---------------------------------------------------------------------------------------


def start_run(
    store: Store, job: str, *, trigger: str, now: datetime, scheduled_for: datetime | None = None
) -> int:
    """Record that `job` started (trigger: schedule, catch-up, manual); returns the run id."""
    with store.transaction() as db:
        cursor = db.execute(
            "INSERT INTO job_runs (job, trigger, scheduled_for, started_at) VALUES (?, ?, ?, ?)",
            [job, trigger, _iso(scheduled_for) if scheduled_for else None, _iso(now)],
        )
        return int(cursor.lastrowid or 0)


def finish_run(store: Store, run_id: int, *, outcome: str, detail: str, now: datetime) -> None:
    """Record how a run ended: ok or error, with a one-line detail."""
    store.execute(
        "UPDATE job_runs SET finished_at = ?, outcome = ?, detail = ? WHERE id = ?",
        [_iso(now), outcome, detail[:500], run_id],
    )


def last_run(store: Store, job: str) -> dict[str, Any] | None:
    """The latest run of `job` (any trigger), or None."""
    rows = store.query(
        "SELECT * FROM job_runs WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT 1", [job]
    )
    return rows[0] if rows else None


# -- lease --------------------------------------------------------------------------------------


def acquire_lease(store: Store, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `holder`; True when `holder` now holds it.

    Succeeds when nobody holds it, when it expired, or when `holder` already holds it
    (renewal). Atomic across processes sharing the database (BEGIN IMMEDIATE).
    """
    with store.transaction() as db:
        row = db.execute(
            "SELECT holder, expires_at FROM scheduler_lease WHERE name = ?", [name]
        ).fetchone()
        if row is not None and row[0] != holder and datetime.fromisoformat(row[1]) > now:
            return False
        expires = _iso(now + ttl)
        if row is None:
            db.execute(
                "INSERT INTO scheduler_lease (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)",
                [name, holder, _iso(now), expires],
            )
        elif row[0] == holder:
            db.execute(
                "UPDATE scheduler_lease SET expires_at = ? WHERE name = ? AND holder = ?",
                [expires, name, holder],
            )
        else:
            db.execute(
                "UPDATE scheduler_lease SET holder = ?, acquired_at = ?, expires_at = ? WHERE name = ? AND holder = ?",
                [holder, _iso(now), expires, name, row[0]],
            )
        return True


def release_lease(store: Store, name: str, holder: str) -> bool:
    """Give the lease up (only if `holder` holds it), so another replica takes over at once."""
    return (
        store.execute("DELETE FROM scheduler_lease WHERE name = ? AND holder = ?", [name, holder])
        == 1
    )


def lease_holder(store: Store, name: str, now: datetime) -> str | None:
    """Who holds the lease now (None when free or expired)."""
    rows = store.query("SELECT holder, expires_at FROM scheduler_lease WHERE name = ?", [name])
    if not rows or datetime.fromisoformat(rows[0]["expires_at"]) <= now:
        return None
    return rows[0]["holder"]


# -- idle findings ------------------------------------------------------------------------------


def save_finding(store: Store, finding: dict[str, Any], *, now: datetime) -> None:
    """Store one finding's button parameters (id, report_key, kind, action, params, resource_id, region, summary, monthly_usd)."""
    store.execute(
        "INSERT OR IGNORE INTO idle_findings (id, report_key, kind, action, params, resource_id, region, summary, monthly_usd, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            finding["id"],
            finding["report_key"],
            finding["kind"],
            finding["action"],
            json.dumps(finding["params"], sort_keys=True),
            finding["resource_id"],
            finding["region"],
            finding["summary"],
            finding.get("monthly_usd"),
            _iso(now),
        ],
    )


def get_finding(store: Store, finding_id: str) -> dict[str, Any] | None:
    """A stored finding with its params decoded, or None."""
    rows = store.query("SELECT * FROM idle_findings WHERE id = ?", [finding_id])
    if not rows:
        return None
    row = dict(rows[0])
    row["params"] = json.loads(row["params"])
    return row


def claim_finding_request(store: Store, finding_id: str, user: str) -> bool:
    """Mark a finding as having an approval request opening; True only for the first click."""
    changed = store.execute(
        "UPDATE idle_findings SET request_id = 'opening', requested_by = ? WHERE id = ? AND request_id IS NULL",
        [user, finding_id],
    )
    return changed == 1


def set_finding_request(store: Store, finding_id: str, request_id: str | None) -> None:
    """Record the approval request a finding opened (None gives the button back after a failure)."""
    if request_id is None:
        store.execute(
            "UPDATE idle_findings SET request_id = NULL, requested_by = NULL WHERE id = ?",
            [finding_id],
        )
    else:
        store.execute(
            "UPDATE idle_findings SET request_id = ? WHERE id = ?", [request_id, finding_id]
        )
