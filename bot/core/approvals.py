"""The approval state machine: states, allowed moves, the stored request, the click decision.

Pure: no Slack, AWS or database code. The engine (bot/approvals_engine.py) loads a request,
asks `decide(...)` whether a click may move it, then applies the move with a
compare-and-set update so that only one click ever wins.

States: `pending -> approved -> executing -> succeeded | failed`, or
`pending -> denied | expired | cancelled`. A request found in `executing` after a restart
moves to `needs_check`: its card says a human must look, and nothing re-runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.core.approval_policy import ApprovalPolicy

PENDING = "pending"
APPROVED = "approved"
EXECUTING = "executing"
SUCCEEDED = "succeeded"
FAILED = "failed"
DENIED = "denied"
EXPIRED = "expired"
CANCELLED = "cancelled"
NEEDS_CHECK = "needs_check"

STATES = (PENDING, APPROVED, EXECUTING, SUCCEEDED, FAILED, DENIED, EXPIRED, CANCELLED, NEEDS_CHECK)
FINAL_STATES = frozenset({SUCCEEDED, FAILED, DENIED, EXPIRED, CANCELLED, NEEDS_CHECK})
OPEN_STATES = frozenset({PENDING})

# Every move the engine may make. `approved -> failed` covers a restart between approval
# and execution (nothing ran); `executing -> needs_check` covers a restart mid-execution.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({APPROVED, DENIED, EXPIRED, CANCELLED}),
    APPROVED: frozenset({EXECUTING, FAILED}),
    EXECUTING: frozenset({SUCCEEDED, FAILED, NEEDS_CHECK}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    DENIED: frozenset(),
    EXPIRED: frozenset(),
    CANCELLED: frozenset(),
    NEEDS_CHECK: frozenset(),
}

RISKS = ("low", "medium", "high")

APPROVE = "approve"
DENY = "deny"
CLICK_KINDS = (APPROVE, DENY)

OUTCOME_OK = "ok"
OUTCOME_SKIPPED = "skipped"
OUTCOME_ERROR = "error"


class InvalidTransition(Exception):
    """A state change that the approval state machine does not allow was attempted."""


@dataclass(frozen=True)
class ResourceOutcome:
    """What happened to one resource when an action ran: ok, skipped or error, and why."""

    resource_id: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form, as stored."""
        return {"resource_id": self.resource_id, "status": self.status, "detail": self.detail}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceOutcome:
        """Rebuild from the stored form."""
        return cls(str(data["resource_id"]), str(data["status"]), str(data.get("detail", "")))


@dataclass(frozen=True)
class Approval:
    """One approver's Approve click that counted."""

    user: str
    at: datetime


@dataclass(frozen=True)
class CardLocation:
    """Where a copy of the card was posted, so every copy can be updated."""

    channel: str
    ts: str


@dataclass(frozen=True)
class Preview:
    """What an action will do, before it runs.

    `summary` is one sentence; `current_state` lines describe the targets now;
    `expected` maps resource id to the state the preview saw (re-checked before running);
    `monthly_usd_effect` is an estimate (negative saves money) or None when not computable.
    """

    summary: str
    current_state: tuple[str, ...] = ()
    monthly_usd_effect: float | None = None
    expected: dict[str, str] = field(default_factory=dict)
    estimate_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored."""
        return {
            "summary": self.summary,
            "current_state": list(self.current_state),
            "monthly_usd_effect": self.monthly_usd_effect,
            "expected": dict(self.expected),
            "estimate_note": self.estimate_note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Preview:
        """Rebuild from the stored form (an empty preview when nothing was stored)."""
        data = data or {}
        return cls(
            summary=str(data.get("summary", "")),
            current_state=tuple(data.get("current_state", ())),
            monthly_usd_effect=data.get("monthly_usd_effect"),
            expected=dict(data.get("expected", {})),
            estimate_note=str(data.get("estimate_note", "")),
        )


@dataclass(frozen=True)
class ApprovalRequest:
    """One request to run an action, exactly as stored; `params` are what will execute."""

    id: str
    action: str
    params: dict[str, Any]
    account: str
    region: str
    reason: str
    requested_by: str
    channel: str
    risk: str
    dry_run: bool
    created_at: datetime
    expires_at: datetime
    state: str = PENDING
    version: int = 0
    thread_ts: str | None = None
    cards: tuple[CardLocation, ...] = ()
    approvals: tuple[Approval, ...] = ()
    required_approvals: int = 1
    decided_by: str | None = None
    decided_at: datetime | None = None
    deny_reason: str | None = None
    outcomes: tuple[ResourceOutcome, ...] = ()
    preview: Preview = field(default_factory=lambda: Preview(summary=""))
    source: str = "slash"
    origin: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """True while the request can still be approved or denied."""
        return self.state in OPEN_STATES

    def approvers_so_far(self) -> tuple[str, ...]:
        """User ids whose Approve clicks have counted, in order."""
        return tuple(a.user for a in self.approvals)


@dataclass(frozen=True)
class Decision:
    """Whether a click may act, and if not, why (a short sentence for the clicker).

    `code` is stable for tests and the audit log: ok, unknown, not_approver,
    self_approval, already_decided, expired, already_approved_by_you, needs_second.
    `completes` is True when an approval brings the request to its required count.
    `new_state` is where an allowed click moves the request (None: stays pending).
    """

    allowed: bool
    code: str
    message: str = ""
    completes: bool = False
    new_state: str | None = None


def check_transition(current: str, new: str) -> None:
    """Raise InvalidTransition unless `current -> new` is in the table."""
    if new not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none (final state)"
        raise InvalidTransition(
            f"cannot move a request from {current} to {new}; allowed: {allowed}"
        )


def format_clock(moment: datetime | None, tz: tzinfo = UTC) -> str:
    """`14:02` for today-ish moments, as people read them on a card."""
    if moment is None:
        return "an unknown time"
    return moment.astimezone(tz).strftime("%H:%M")


def format_when(moment: datetime | None, tz: tzinfo = UTC) -> str:
    """`2024-05-01 14:02 UTC`: a full timestamp with its zone."""
    if moment is None:
        return "an unknown time"
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def describe_final_state(request: ApprovalRequest, tz: tzinfo = UTC) -> str:
    """Why a decided request cannot be clicked any more: `already approved by @x at 14:02`."""
    who = f"<@{request.decided_by}>" if request.decided_by else "someone"
    at = format_clock(request.decided_at, tz)
    state = request.state
    if state in (APPROVED, EXECUTING, SUCCEEDED, FAILED, NEEDS_CHECK):
        return (
            f"This request was already approved by {who} at {at} (now {state.replace('_', ' ')})."
        )
    if state == DENIED:
        return f"This request was already denied by {who} at {at}."
    if state == CANCELLED:
        return f"This request was cancelled by {who} at {at}."
    if state == EXPIRED:
        return f"This request expired at {format_clock(request.expires_at, tz)}; ask again if it is still needed."
    return f"This request is {state}."


def decide(
    request: ApprovalRequest | None,
    clicker: str,
    policy: ApprovalPolicy,
    now: datetime,
    *,
    kind: str = APPROVE,
    group_members: dict[str, frozenset[str]] | None = None,
    tz: tzinfo = UTC,
) -> Decision:
    """Decide whether `clicker`'s Approve or Deny click may act on `request` at `now`.

    Checked in this order: the request exists, it is still pending, it has not expired,
    the clicker may approve this action (user ids or members of user groups, resolved by
    the caller into `group_members`), the requester is not approving their own
    medium/high-risk request (unless the policy allows it), and a second approval comes
    from a different person. The requester may always withdraw their own request
    (a Deny click by the requester cancels it).
    """
    if request is None:
        return Decision(
            False,
            "unknown",
            "I don't know that request; it may have been removed. Ask again with `/penny`.",
        )
    if request.state == PENDING and request.expires_at <= now:
        return Decision(
            False,
            "expired",
            f"This request expired at {format_clock(request.expires_at, tz)}; ask again if it is still needed.",
        )
    if request.state != PENDING:
        return Decision(False, "already_decided", describe_final_state(request, tz))
    if kind == DENY:
        return _decide_deny(request, clicker, policy, group_members)
    return _decide_approve(request, clicker, policy, group_members)


def _decide_deny(
    request: ApprovalRequest,
    clicker: str,
    policy: ApprovalPolicy,
    group_members: dict[str, frozenset[str]] | None,
) -> Decision:
    if clicker == request.requested_by:
        return Decision(True, "ok", completes=True, new_state=CANCELLED)
    if not policy.may_approve(request.action, clicker, group_members):
        return Decision(False, "not_approver", _not_approver_message(request, policy))
    return Decision(True, "ok", completes=True, new_state=DENIED)


def _decide_approve(
    request: ApprovalRequest,
    clicker: str,
    policy: ApprovalPolicy,
    group_members: dict[str, frozenset[str]] | None,
) -> Decision:
    if not policy.may_approve(request.action, clicker, group_members):
        return Decision(False, "not_approver", _not_approver_message(request, policy))
    if clicker == request.requested_by and not policy.self_approval_allowed(
        request.action, request.risk
    ):
        return Decision(
            False,
            "self_approval",
            f"You asked for this {request.risk}-risk action, so someone else must approve it.",
        )
    if clicker in request.approvers_so_far():
        return Decision(
            False,
            "already_approved_by_you",
            f"You already approved this; it needs {request.required_approvals} distinct approvers.",
        )
    completes = len(request.approvals) + 1 >= request.required_approvals
    if not completes:
        return Decision(True, "needs_second", completes=False, new_state=None)
    return Decision(True, "ok", completes=True, new_state=APPROVED)


def _not_approver_message(request: ApprovalRequest, policy: ApprovalPolicy) -> str:
    who = policy.describe_approvers(request.action)
    return f":no_entry: You are not an approver for `{request.action}`. Who may approve: {who}."


def with_approval(request: ApprovalRequest, clicker: str, now: datetime) -> ApprovalRequest:
    """The request with one more counted approval."""
    return replace(request, approvals=(*request.approvals, Approval(clicker, now)))


def outcome_state(outcomes: tuple[ResourceOutcome, ...] | list[ResourceOutcome]) -> str:
    """`failed` when any resource errored, else `succeeded`."""
    return FAILED if any(o.status == OUTCOME_ERROR for o in outcomes) else SUCCEEDED
