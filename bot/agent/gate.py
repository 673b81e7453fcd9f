"""The approval gate: how a mutating tool of the agent turns into a human decision.

A gated tool never calls AWS. It calls `ApprovalGate.propose(...)`, which:

1. files an approval request through the approvals engine (validated, previewed, stored,
   card posted in the thread) with `origin = {"kind": "agent", "session_id", "tool_use_id"}`,
   and records the tool call in `agent_gated_calls` (once per tool call: a resumed run
   finds the row and never files a second request);
2. pauses the run with a Strands interrupt (`tool_context.interrupt(...)`); the run ends
   with `stop_reason == "interrupt"` and the session manager stores the paused tool call
   in SQLite.

When the request reaches a final state (executed, failed, denied, expired, cancelled,
needs_check), the approvals engine calls the listener registered for origin kind
"agent" (bot.agent.service.resume_after_decision). It claims the row (compare-and-set,
so one resume per request even with two notifications), rebuilds the thread's agent from
SQLite (which works the same in a process started after a restart), and resumes with an
`interruptResponse` carrying the outcome as recorded by the engine. The gated tool is
re-run, `interrupt(...)` now returns that outcome, and the tool returns it to the model,
which reports it in the thread. Nothing the model says can forge an outcome: only the
engine's listener answers the interrupt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from strands.interrupt import InterruptException

from bot.agent.usage import ToolCall
from bot.core.approvals import ApprovalRequest
from bot.store.db import Store

logger = logging.getLogger(__name__)

INTERRUPT_NAME = "penny-approval"
ORIGIN_KIND = "agent"
WAITING = "waiting"
RESUMING = "resuming"
RESUMED = "resumed"


@dataclass(frozen=True)
class GatedCall:
    """One gated tool call and the approval request it waits for (a row of agent_gated_calls)."""

    session_id: str
    tool_use_id: str
    request_id: str
    action: str
    interrupt_id: str
    user: str
    channel: str
    thread_ts: str | None
    state: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def find_gated_call(store: Store, session_id: str, tool_use_id: str) -> GatedCall | None:
    """The gated call of a tool call, if it already filed a request."""
    rows = store.query(
        "SELECT * FROM agent_gated_calls WHERE session_id = ? AND tool_use_id = ?",
        [session_id, tool_use_id],
    )
    return _row_to_call(rows[0]) if rows else None


def gated_call_for_request(store: Store, request_id: str) -> GatedCall | None:
    """The gated call waiting for an approval request, if the agent filed it."""
    rows = store.query("SELECT * FROM agent_gated_calls WHERE request_id = ?", [request_id])
    return _row_to_call(rows[0]) if rows else None


def _row_to_call(row: dict[str, Any]) -> GatedCall:
    return GatedCall(
        session_id=row["session_id"],
        tool_use_id=row["tool_use_id"],
        request_id=row["request_id"],
        action=row["action"],
        interrupt_id=row["interrupt_id"],
        user=row["user"],
        channel=row["channel"],
        thread_ts=row["thread_ts"],
        state=row["state"],
    )


def record_gated_call(store: Store, call: GatedCall) -> None:
    """Remember that a tool call filed a request (before the run pauses)."""
    store.execute(
        """INSERT INTO agent_gated_calls (tool_use_id, session_id, request_id, action, interrupt_id,
            user, channel, thread_ts, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            call.tool_use_id,
            call.session_id,
            call.request_id,
            call.action,
            call.interrupt_id,
            call.user,
            call.channel,
            call.thread_ts,
            call.state,
            _now(),
        ],
    )


def set_interrupt_id(store: Store, request_id: str, interrupt_id: str) -> None:
    """Store the interrupt id the run returned for a request (used to resume it)."""
    store.execute(
        "UPDATE agent_gated_calls SET interrupt_id = ? WHERE request_id = ?",
        [interrupt_id, request_id],
    )


def claim_for_resume(store: Store, request_id: str) -> bool:
    """Move a waiting call to resuming; True for the one caller that wins (compare-and-set)."""
    changed = store.execute(
        "UPDATE agent_gated_calls SET state = ?, resumed_at = ? WHERE request_id = ? AND state = ?",
        [RESUMING, _now(), request_id, WAITING],
    )
    return changed == 1


def finish_resume(store: Store, request_id: str, state: str = RESUMED) -> None:
    """Mark a resumed call done (or back to waiting when the resume could not run)."""
    store.execute(
        "UPDATE agent_gated_calls SET state = ? WHERE request_id = ?", [state, request_id]
    )


def outcome_response(request: ApprovalRequest) -> dict[str, Any]:
    """What the paused tool receives when the request is decided: the engine's record of it."""
    return {
        "request_id": request.id,
        "action": request.action,
        "state": request.state,
        "dry_run": request.dry_run,
        "decided_by": request.decided_by,
        "approved_by": list(request.approvers_so_far()),
        "deny_reason": request.deny_reason,
        "outcomes": [o.to_dict() for o in request.outcomes],
    }


class ApprovalGate:
    """Files approval requests for one question's gated tool calls and pauses the run."""

    def __init__(self, deps: Any, question: Any, record: Any):
        self.deps = deps
        self.question = question
        self.record = record

    def propose(
        self, tool_context: Any, action: str, params: dict[str, Any], reason: str
    ) -> dict[str, Any]:
        """File (once) an approval request for `action` with `params`, pause, and return the outcome.

        Returns an error result when the approvals engine refuses the request (bad
        parameters, unknown target); otherwise raises Strands' interrupt the first time and
        returns the decision's outcome when the run is resumed.
        """
        from bot.approvals_engine import ApprovalError, request_action
        from tools.aws_read import error_result

        tool_use_id = str(tool_context.tool_use["toolUseId"])
        session_id = self.question.session_id
        call = find_gated_call(self.deps.store, session_id, tool_use_id)
        if call is None:
            try:
                request = request_action(
                    self.deps,
                    action,
                    params,
                    requested_by=self.question.user,
                    reason=reason,
                    channel=self.question.channel,
                    thread_ts=self.question.thread_ts,
                    source="agent",
                    origin={
                        "kind": ORIGIN_KIND,
                        "session_id": session_id,
                        "tool_use_id": tool_use_id,
                    },
                )
            except ApprovalError as exc:
                logger.info(
                    "action=<%s>, session=<%s> | approval request refused", action, session_id
                )
                return error_result(
                    "ApprovalRequestRefused", str(exc), "Fix the parameters or explain to the user."
                )
            call = GatedCall(
                session_id=session_id,
                tool_use_id=tool_use_id,
                request_id=request.id,
                action=action,
                interrupt_id="",
                user=self.question.user,
                channel=self.question.channel,
                thread_ts=self.question.thread_ts,
                state=WAITING,
            )
            record_gated_call(self.deps.store, call)
            self.record.approvals.append(request.id)
            logger.info(
                "action=<%s>, request=<%s>, session=<%s> | approval requested",
                action,
                request.id,
                session_id,
            )
        try:
            response = tool_context.interrupt(
                INTERRUPT_NAME,
                reason={
                    "request_id": call.request_id,
                    "action": action,
                    "message": "waiting for a human approval",
                },
            )
        except InterruptException:
            self.record.tools.append(ToolCall(str(tool_context.tool_use["name"]), "interrupted"))
            raise
        return _outcome_result(response)


def _outcome_result(response: Any) -> dict[str, Any]:
    """The tool result for the model once the decision is known."""
    outcome = response if isinstance(response, dict) else {"state": str(response)}
    state = outcome.get("state", "")
    explanation = {
        "succeeded": "The approved action ran; report each resource outcome.",
        "failed": "The approved action ran but failed (or did not run); report why from the outcomes.",
        "denied": "A human denied the request; nothing changed. Report who and why.",
        "expired": "Nobody decided in time; nothing changed.",
        "cancelled": "The request was withdrawn; nothing changed.",
        "needs_check": "Penny stopped while the action was running; a human must check the resource.",
    }.get(state, "Report the state to the user.")
    return {
        **outcome,
        "what_it_means": explanation + (" This was a DRY RUN." if outcome.get("dry_run") else ""),
    }
