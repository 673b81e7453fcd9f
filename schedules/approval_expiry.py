"""The approval expiry sweep: pending requests past their deadline become `expired` (cards updated)."""

from __future__ import annotations

from datetime import datetime

from bot.approvals_engine import expire_due
from bot.core.schedule_config import APPROVAL_EXPIRY
from bot.deps import Deps
from schedules.common import JobResult


def run_approval_expiry(deps: Deps, now: datetime) -> JobResult:
    """Expire every pending approval request whose deadline has passed at `now`."""
    expired = expire_due(deps, now)
    result = JobResult(job=APPROVAL_EXPIRY)
    if expired:
        result.notes.append(f"{expired} request(s) expired")
    return result
