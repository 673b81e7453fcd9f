"""Scheduled reports in Slack: `/penny schedules`, the idle-finding buttons and the budget Details button.

A finding button carries only the finding id; the action and its parameters come from the
store (what the report showed), and the approvals engine posts the card. The first click
opens the request; later clicks are told where it is.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App

from bot.core import ids
from bot.core.blocks.reports import ScheduleRow, build_budget_details_blocks, build_schedules_blocks
from bot.core.replies import PennyInvocation, Reply
from bot.deps import Deps
from bot.store import ledger
from handlers.common import post_reply, safe_error_reply
from handlers.once import once_per_delivery
from handlers.penny import Subcommand

logger = logging.getLogger(__name__)


def schedules_reply(invocation: PennyInvocation, deps: Deps) -> Reply:
    """`/penny schedules`: every job with its channel, cron, time zone, next and last run."""
    from schedules.cli import _registry

    now = deps.clock()
    rows: list[ScheduleRow] = _registry(deps).rows(deps, now)
    text = "Scheduled jobs: " + ", ".join(r.name for r in rows)
    return Reply(
        text=text,
        blocks=build_schedules_blocks(rows, now=now.astimezone(deps.settings.tz)),
        ephemeral=True,
    )


PENNY_SUBCOMMANDS = [
    Subcommand(
        name="schedules",
        usage="/penny schedules",
        summary="scheduled reports: channel, cron, next and last run",
        run=schedules_reply,
    )
]


def _action_context(body: dict[str, Any]) -> tuple[str, str, str | None, str]:
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("channel") or {}).get("id", "")
    message_ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get(
        "message_ts"
    )
    return (body.get("user") or {}).get("id", ""), channel, message_ts, str(action.get("value", ""))


def request_from_finding(
    deps: Deps, finding_id: str, user: str, channel: str, thread_ts: str | None
) -> Reply:
    """Open an approval request for a stored finding, once; explain anything else."""
    from bot.approvals_engine import ApprovalError, request_action

    finding = ledger.get_finding(deps.store, finding_id)
    if finding is None:
        return Reply(
            text="That finding is no longer on record; run the idle-resources report again.",
            ephemeral=True,
        )
    if not ledger.claim_finding_request(deps.store, finding_id, user):
        current = ledger.get_finding(deps.store, finding_id) or {}
        return Reply(
            text=f"An approval request for `{finding['resource_id']}` was already opened ({current.get('request_id') or 'in progress'}) by <@{current.get('requested_by')}>.",
            ephemeral=True,
        )
    try:
        request = request_action(
            deps,
            finding["action"],
            finding["params"],
            requested_by=user,
            reason=f"Idle resource: {finding['summary']}",
            channel=channel,
            thread_ts=thread_ts,
            source="schedule",
            origin={"kind": "schedule", "finding_id": finding_id},
        )
    except ApprovalError as exc:
        ledger.set_finding_request(deps.store, finding_id, None)
        return Reply(text=f"Penny could not open that request: {exc}", ephemeral=True)
    except Exception:
        ledger.set_finding_request(deps.store, finding_id, None)
        raise
    ledger.set_finding_request(deps.store, finding_id, request.id)
    return Reply(
        text=f"Approval request `{request.id}` opened for `{finding['resource_id']}`.",
        ephemeral=True,
    )


def budget_details_reply(deps: Deps, value: str) -> Reply:
    """The Details answer for the budget named in the button's value."""
    from schedules.budget_alerts import budget_details

    try:
        wanted = json.loads(value)
        name, source = str(wanted["budget"]), str(wanted["source"])
    except (ValueError, KeyError, TypeError):
        return Reply(text="That button is out of date.", ephemeral=True)
    details = budget_details(deps, name, source, deps.clock())
    if details is None:
        return Reply(text=f"Budget {name} no longer exists.", ephemeral=True)
    return Reply(text=f"Budget {name}", blocks=build_budget_details_blocks(details), ephemeral=True)


def register(app: App, deps: Deps) -> None:
    """Register the finding and budget-details buttons."""

    def ack_only(ack: Ack) -> None:
        ack()

    def open_request(body: dict[str, Any]) -> None:
        user, channel, message_ts, value = _action_context(body)
        try:
            reply = request_from_finding(deps, value, user, channel, message_ts)
        except Exception:
            logger.exception("finding=<%s> | opening an approval request failed", value)
            reply = safe_error_reply("open that approval request")
        post_reply(deps, channel=channel, user=user, reply=reply, thread_ts=message_ts)

    def show_budget(body: dict[str, Any]) -> None:
        user, channel, message_ts, value = _action_context(body)
        try:
            reply = budget_details_reply(deps, value)
        except Exception:
            logger.exception("value=<%s> | budget details failed", value)
            reply = safe_error_reply("show the budget details")
        post_reply(deps, channel=channel, user=user, reply=reply)

    app.action(ids.OPEN_APPROVAL_FROM_FINDING_ACTION)(
        ack=ack_only, lazy=[once_per_delivery(deps, open_request)]
    )
    app.action(ids.BUDGET_DETAILS_ACTION)(ack=ack_only, lazy=[once_per_delivery(deps, show_budget)])
