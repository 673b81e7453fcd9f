"""Block Kit for approval cards, the deny-reason modal, `/penny approvals` and `/penny audit`.

Pure builders returning plain dicts. A card shows exactly what will run (action, stored
parameters, account, region), why, who asked, the preview and its estimated $ effect, the
risk, DRY RUN when on, who may approve and until when. Buttons carry only the request id:
the engine loads the stored parameters, never anything from the click.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.core.approvals import (
    APPROVED,
    CANCELLED,
    DENIED,
    EXECUTING,
    EXPIRED,
    FAILED,
    NEEDS_CHECK,
    OUTCOME_ERROR,
    OUTCOME_OK,
    OUTCOME_SKIPPED,
    PENDING,
    SUCCEEDED,
    ApprovalRequest,
    Preview,
    format_clock,
    format_when,
)
from bot.core.ids import (
    APPROVAL_CARD_BLOCK,
    APPROVE_ACTION,
    DENY_ACTION,
    DENY_REASON_BLOCK,
    DENY_REASON_INPUT,
    DENY_REASON_MODAL,
)

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MAX_BLOCKS = 50
RISK_ICONS = {
    "low": ":large_green_circle:",
    "medium": ":large_orange_circle:",
    "high": ":red_circle:",
}
OUTCOME_ICONS = {
    OUTCOME_OK: ":white_check_mark:",
    OUTCOME_SKIPPED: ":fast_forward:",
    OUTCOME_ERROR: ":x:",
}
STATE_LABELS = {
    PENDING: "Waiting for approval",
    APPROVED: "Approved",
    EXECUTING: "Executing",
    SUCCEEDED: "Done",
    FAILED: "Failed",
    DENIED: "Denied",
    EXPIRED: "Expired",
    CANCELLED: "Cancelled",
    NEEDS_CHECK: "Needs a human check",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}]}


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _clip(text, HEADER_LIMIT), "emoji": True},
    }


def action_title(action: str) -> str:
    """`stop_ec2_instances` -> `Stop ec2 instances`, for headers."""
    return action.replace("_", " ").capitalize()


def format_usd_effect(preview: Preview) -> str:
    """`saves about $60.74/month (estimate: ...)` or `no $ effect computed`."""
    effect = preview.monthly_usd_effect
    note = f" ({preview.estimate_note})" if preview.estimate_note else ""
    if effect is None:
        return "$ effect: not computed" + note
    if abs(effect) < 0.005:
        return "$ effect: none" + note
    verb = "saves about" if effect < 0 else "adds about"
    return f"$ effect: {verb} ${abs(effect):,.2f}/month{note}"


def format_params(params: Mapping[str, Any]) -> str:
    """The stored parameters as shown on the card: canonical JSON, exactly what will run."""
    return json.dumps(params, sort_keys=True, indent=1, ensure_ascii=False)


def _what_blocks(request: ApprovalRequest, tz: tzinfo) -> list[dict[str, Any]]:
    """What will run, why and who asked: the part every card state shares."""
    fields = [
        f"*Action*\n`{request.action}`",
        f"*Risk*\n{RISK_ICONS.get(request.risk, '')} {request.risk}",
        f"*Account*\n{request.account}",
        f"*Region*\n{request.region}",
        f"*Requested by*\n<@{request.requested_by}>",
        f"*Expires*\n{format_when(request.expires_at, tz)}",
    ]
    params_text = format_params(request.params)
    shown = _clip(params_text, SECTION_LIMIT - 40)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _clip(f, 2000)} for f in fields]},
        _section(f"*Parameters (exactly what will run)*\n```{shown}```"),
        _section(f"*Why*\n{request.reason or '_no reason given_'}"),
    ]
    preview_lines = [
        request.preview.summary,
        *request.preview.current_state,
        format_usd_effect(request.preview),
    ]
    blocks.append(_section("*Preview*\n" + "\n".join(line for line in preview_lines if line)))
    return blocks


def _header_for(request: ApprovalRequest, prefix: str) -> dict[str, Any]:
    dry = "DRY RUN · " if request.dry_run else ""
    return _header(f"{dry}{prefix}: {action_title(request.action)}")


def _dry_run_banner(request: ApprovalRequest) -> list[dict[str, Any]]:
    if not request.dry_run:
        return []
    return [
        _context(
            ":test_tube: *DRY RUN*: nothing will change in AWS. Penny checks permissions and "
            "describes exactly what it would have done."
        )
    ]


def _footer(request: ApprovalRequest) -> dict[str, Any]:
    return _context(f"Request `{request.id}` · from {request.source}")


def _buttons(request: ApprovalRequest) -> dict[str, Any]:
    approve: dict[str, Any] = {
        "type": "button",
        "action_id": APPROVE_ACTION,
        "text": {"type": "plain_text", "text": "Approve", "emoji": True},
        "style": "primary",
        "value": request.id,
    }
    if request.risk == "high":
        approve["confirm"] = {
            "title": {"type": "plain_text", "text": "Approve a high-risk action?"},
            "text": {
                "type": "mrkdwn",
                "text": _clip(
                    f"This will run `{request.action}` in {request.account} / {request.region}.",
                    300,
                ),
            },
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Cancel"},
            "style": "danger",
        }
    deny = {
        "type": "button",
        "action_id": DENY_ACTION,
        "text": {"type": "plain_text", "text": "Deny", "emoji": True},
        "style": "danger",
        "value": request.id,
    }
    return {"type": "actions", "block_id": APPROVAL_CARD_BLOCK, "elements": [approve, deny]}


def _approvals_so_far(request: ApprovalRequest, tz: tzinfo) -> str:
    if not request.approvals:
        return ""
    done = ", ".join(f"<@{a.user}> at {format_clock(a.at, tz)}" for a in request.approvals)
    return f":ballot_box_with_check: Approved so far by {done} ({len(request.approvals)} of {request.required_approvals})."


def build_approval_card(
    request: ApprovalRequest,
    preview: Preview | None = None,
    policy_summary: str = "",
    now: datetime | None = None,
    tz: tzinfo = UTC,
) -> list[dict[str, Any]]:
    """The open card with Approve and Deny buttons (only the request id in their value)."""
    if preview is not None and preview != request.preview:
        request = replace(request, preview=preview)
    blocks = [
        _header_for(request, "Approval needed"),
        *_dry_run_banner(request),
        *_what_blocks(request, tz),
    ]
    who = f":bust_in_silhouette: Who may approve: {policy_summary}" if policy_summary else ""
    so_far = _approvals_so_far(request, tz)
    if now is not None:
        minutes = max(0, int((request.expires_at - now).total_seconds() // 60))
        who += f"\n:hourglass: Open for about {minutes} more minute(s)."
    if who.strip() or so_far:
        blocks.append(_context("\n".join(t for t in (who.strip(), so_far) if t)))
    blocks.append(_buttons(request))
    blocks.append(_footer(request))
    return blocks


def _decision_line(request: ApprovalRequest, tz: tzinfo) -> str:
    who = f"<@{request.decided_by}>" if request.decided_by else "someone"
    at = format_clock(request.decided_at, tz)
    if request.state == DENIED:
        why = f": {request.deny_reason}" if request.deny_reason else ""
        return f":no_entry_sign: Denied by {who} at {at}{why}"
    if request.state == CANCELLED:
        return f":leftwards_arrow_with_hook: Cancelled by {who} at {at}"
    if request.state == EXPIRED:
        return f":hourglass: Expired at {format_clock(request.expires_at, tz)} without a decision; nothing was run."
    approvers = ", ".join(f"<@{a.user}>" for a in request.approvals) or who
    return f":white_check_mark: Approved by {approvers} at {at}"


def build_decided_card(request: ApprovalRequest, tz: tzinfo = UTC) -> list[dict[str, Any]]:
    """The card once decided (approved, denied, cancelled or expired): no buttons, who and when."""
    label = STATE_LABELS.get(request.state, request.state)
    return [
        _header_for(request, label),
        *_dry_run_banner(request),
        _section(_decision_line(request, tz)),
        *_what_blocks(request, tz),
        _footer(request),
    ]


def build_executing_card(request: ApprovalRequest, tz: tzinfo = UTC) -> list[dict[str, Any]]:
    """The card while the action runs."""
    dry = " (DRY RUN)" if request.dry_run else ""
    return [
        _header_for(request, "Executing"),
        *_dry_run_banner(request),
        _section(_decision_line(request, tz)),
        _section(f":gear: Re-checking the target, then running the stored parameters{dry}…"),
        *_what_blocks(request, tz),
        _footer(request),
    ]


def _outcome_lines(request: ApprovalRequest) -> list[str]:
    lines = []
    for outcome in request.outcomes:
        icon = OUTCOME_ICONS.get(outcome.status, ":grey_question:")
        detail = f": {outcome.detail}" if outcome.detail else ""
        lines.append(f"{icon} `{outcome.resource_id}` {outcome.status}{detail}")
    return lines or ["_no resources were reported_"]


def build_outcome_card(request: ApprovalRequest, tz: tzinfo = UTC) -> list[dict[str, Any]]:
    """The final card: per-resource outcome (ok / skipped / error)."""
    label = "Done" if request.state == SUCCEEDED else "Failed"
    dry = "DRY RUN: nothing was changed in AWS. " if request.dry_run else ""
    return [
        _header_for(request, label),
        *_dry_run_banner(request),
        _section(_decision_line(request, tz)),
        _section(f"*Outcome* {dry}\n" + "\n".join(_outcome_lines(request))),
        *_what_blocks(request, tz),
        _footer(request),
    ]


def build_needs_check_card(request: ApprovalRequest, tz: tzinfo = UTC) -> list[dict[str, Any]]:
    """Penny stopped while this was executing: a person must check what happened; no re-run."""
    return [
        _header_for(request, "Needs a human check"),
        _section(
            ":rotating_light: *Needs a human check.* Penny restarted while this action was "
            "executing, so it cannot tell whether it finished. It will not run it again on its "
            "own: check the resources in the AWS console, then ask again if needed."
        ),
        _section(_decision_line(request, tz)),
        *_what_blocks(request, tz),
        _footer(request),
    ]


def build_card_for_state(
    request: ApprovalRequest, policy_summary: str, now: datetime, tz: tzinfo = UTC
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for the card in the request's current state."""
    text = f"{STATE_LABELS.get(request.state, request.state)}: {request.action} ({request.id})"
    if request.dry_run:
        text = "DRY RUN · " + text
    if request.state == PENDING:
        return text, build_approval_card(request, None, policy_summary, now, tz)
    if request.state == EXECUTING:
        return text, build_executing_card(request, tz)
    if request.state in (SUCCEEDED, FAILED):
        return text, build_outcome_card(request, tz)
    if request.state == NEEDS_CHECK:
        return text, build_needs_check_card(request, tz)
    return text, build_decided_card(request, tz)


def build_deny_reason_modal(request: ApprovalRequest, private_metadata: str) -> dict[str, Any]:
    """The modal that asks for an optional reason before denying."""
    return {
        "type": "modal",
        "callback_id": DENY_REASON_MODAL,
        "private_metadata": private_metadata[:3000],
        "title": {"type": "plain_text", "text": "Deny request"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(
                f"Deny `{request.action}` asked by <@{request.requested_by}>?\n"
                f"Request `{request.id}`"
            ),
            {
                "type": "input",
                "block_id": DENY_REASON_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason (optional)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": DENY_REASON_INPUT,
                    "multiline": True,
                    "max_length": 500,
                },
            },
        ],
    }


def build_approvals_list(
    requests: Sequence[ApprovalRequest],
    permalinks: Mapping[str, str],
    now: datetime,
    tz: tzinfo = UTC,
) -> list[dict[str, Any]]:
    """`/penny approvals`: open requests with links to their cards."""
    blocks: list[dict[str, Any]] = [_header(f"Open approval requests ({len(requests)})")]
    if not requests:
        blocks.append(_section("Nothing is waiting for approval."))
        return blocks
    shown = requests[: MAX_BLOCKS - 3]
    for request in shown:
        link = permalinks.get(request.id)
        title = f"<{link}|{request.action}>" if link else f"`{request.action}`"
        minutes = max(0, int((request.expires_at - now).total_seconds() // 60))
        dry = " · DRY RUN" if request.dry_run else ""
        count = (
            f" · {len(request.approvals)}/{request.required_approvals} approvals"
            if request.required_approvals > 1
            else ""
        )
        blocks.append(
            _section(
                f"*{title}* {RISK_ICONS.get(request.risk, '')} {request.risk}{dry}{count}\n"
                f"asked by <@{request.requested_by}> · expires in {minutes} min · `{request.id}`\n"
                f"{_clip(request.reason, 300)}"
            )
        )
    if len(requests) > len(shown):
        blocks.append(_context(f"…and {len(requests) - len(shown)} more."))
    return blocks


def build_audit_list(
    entries: Sequence[Mapping[str, Any]], tz: tzinfo = UTC
) -> list[dict[str, Any]]:
    """`/penny audit [N]`: the latest audit entries, newest first, in as few sections as fit."""
    blocks: list[dict[str, Any]] = [_header(f"Audit log: latest {len(entries)} entries")]
    if not entries:
        blocks.append(_section("The audit log is empty."))
        return blocks
    chunk: list[str] = []
    for entry in entries:
        ts = format_when(datetime.fromisoformat(entry["ts"]), tz)
        request = f" `{entry['request_id']}`" if entry.get("request_id") else ""
        details = entry.get("details") or {}
        note = details.get("message") or details.get("reason") or details.get("code") or ""
        line = f"`#{entry['seq']}` {ts} *{entry['event']}* by {_actor(entry['actor'])}{request}"
        line = _clip(line + (f" · {note}" if note else ""), 500)
        if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_LIMIT - 10:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    return blocks[:MAX_BLOCKS]


def _actor(actor: str) -> str:
    return f"<@{actor}>" if actor[:1] in ("U", "W") and actor.isalnum() else actor
