"""Approve / Deny buttons, the deny-reason modal, and the approval `/penny` subcommands.

Each listener acks at once and does the work in a lazy listener: parse the click into
(request id, clicker, card), hand it to the approvals engine, and tell a refused clicker
why in an ephemeral message. Nothing here trusts the button beyond the request id: the
engine loads the stored parameters and checks that the click came from that request's card.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.approvals_engine import ApprovalError, ClickResult, get_engine
from bot.core import messages
from bot.core.approvals import APPROVE, DENY, CardLocation
from bot.core.blocks.approval_card import (
    build_approvals_list,
    build_audit_list,
    build_deny_reason_modal,
)
from bot.core.ids import (
    APPROVE_ACTION,
    DENY_ACTION,
    DENY_REASON_BLOCK,
    DENY_REASON_INPUT,
    DENY_REASON_MODAL,
)
from bot.core.replies import PennyInvocation, Reply
from bot.deps import Deps
from bot.store.audit import latest_audit
from handlers.common import post_reply
from handlers.once import once_per_delivery
from handlers.penny import Subcommand

logger = logging.getLogger(__name__)

AUDIT_DEFAULT, AUDIT_MAX = 20, 100


@dataclass(frozen=True)
class Click:
    """One Approve/Deny click as the engine needs it."""

    request_id: str
    clicker: str
    card: CardLocation | None
    trigger_id: str = ""


def parse_click(body: dict[str, Any]) -> Click:
    """The request id (button value), who clicked, and which card message it came from."""
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
    card = CardLocation(channel, ts) if channel and ts else None
    return Click(
        request_id=str(action.get("value", ""))[:200],
        clicker=(body.get("user") or {}).get("id", ""),
        card=card,
        trigger_id=body.get("trigger_id", ""),
    )


def tell_clicker(deps: Deps, click: Click, result: ClickResult) -> None:
    """Explain a refusal (or a partial approval) to the clicker only."""
    if not result.message or click.card is None:
        return
    post_reply(
        deps,
        channel=click.card.channel,
        user=click.clicker,
        reply=Reply(text=result.message, ephemeral=True),
    )


def register(app: App, deps: Deps) -> None:
    """Register the button and modal listeners."""
    engine = get_engine(deps)

    def ack_now(ack: Ack) -> None:
        ack()

    def run_approve(body: dict[str, Any]) -> None:
        click = parse_click(body)
        result = engine.handle_click(click.request_id, click.clicker, APPROVE, card=click.card)
        tell_clicker(deps, click, result)

    def run_deny(body: dict[str, Any]) -> None:
        click = parse_click(body)
        check = engine.check_click(click.request_id, click.clicker, DENY, card=click.card)
        if not check.accepted or check.request is None:
            tell_clicker(deps, click, check)
            return
        metadata = json.dumps(
            {
                "request_id": click.request_id,
                "channel": click.card.channel if click.card else "",
                "ts": click.card.ts if click.card else "",
            }
        )
        try:
            deps.slack.views_open(
                trigger_id=click.trigger_id, view=build_deny_reason_modal(check.request, metadata)
            )
        except (
            SlackApiError
        ) as exc:  # trigger expired: deny without a reason rather than do nothing
            logger.warning("error=<%s> | deny modal not opened", exc.response.get("error", ""))
            tell_clicker(
                deps,
                click,
                engine.handle_click(click.request_id, click.clicker, DENY, card=click.card),
            )

    def run_deny_submission(body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        values = (view.get("state") or {}).get("values") or {}
        reason = ((values.get(DENY_REASON_BLOCK) or {}).get(DENY_REASON_INPUT) or {}).get("value")
        card = (
            CardLocation(meta["channel"], meta["ts"])
            if meta.get("channel") and meta.get("ts")
            else None
        )
        click = Click(str(meta.get("request_id", "")), (body.get("user") or {}).get("id", ""), card)
        result = engine.handle_click(
            click.request_id, click.clicker, DENY, reason=reason, card=click.card
        )
        tell_clicker(deps, click, result)

    app.action(APPROVE_ACTION)(ack=ack_now, lazy=[once_per_delivery(deps, run_approve)])
    app.action(DENY_ACTION)(ack=ack_now, lazy=[once_per_delivery(deps, run_deny)])
    app.view(DENY_REASON_MODAL)(ack=ack_now, lazy=[once_per_delivery(deps, run_deny_submission)])


# -- /penny subcommands ---------------------------------------------------------------------


class UsageError(Exception):
    """The subcommand's arguments are wrong; the message says what and the closest valid choice."""


@dataclass(frozen=True)
class ArgSpec:
    """Flags a subcommand takes: boolean switches and flags with a value."""

    switches: tuple[str, ...] = ()
    options: tuple[str, ...] = ("--reason",)
    int_options: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)


def parse_args(argv: Sequence[str], spec: ArgSpec) -> tuple[list[str], dict[str, Any]]:
    """Split argv into positionals and flags; unknown flags name the closest valid one."""
    known = [*spec.switches, *spec.options, *spec.int_options]
    positionals: list[str] = []
    flags: dict[str, Any] = dict(spec.defaults)
    words = list(argv)
    while words:
        word = words.pop(0)
        name, _, inline = word.partition("=")
        if not word.startswith("--"):
            positionals.append(word)
        elif name in spec.switches:
            flags[name] = True
        elif name in (*spec.options, *spec.int_options):
            value = inline or (words.pop(0) if words else "")
            if not value:
                raise UsageError(f"`{name}` needs a value")
            if name in spec.int_options:
                if not value.isdigit():
                    raise UsageError(f"`{name}` needs a whole number of days, got `{value}`")
                flags[name] = int(value)
            else:
                flags[name] = value
        else:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise UsageError(f"unknown option `{name}`.{hint} Valid: {', '.join(known) or 'none'}")
    return positionals, flags


def parse_amount(text: str) -> float:
    """`$1,500.50` or `1500` -> 1500.5; UsageError otherwise."""
    cleaned = text.replace("$", "").replace(",", "").strip()
    if not re.fullmatch(r"\d+(\.\d{1,2})?", cleaned):
        raise UsageError(f"`{text}` is not an amount in dollars (for example 1500 or $1,500.50)")
    return float(cleaned)


def _request_subcommand(
    name: str,
    usage: str,
    summary: str,
    spec: ArgSpec,
    build: Callable[[list[str], dict[str, Any]], tuple[str, dict[str, Any]]],
) -> Subcommand:
    """A subcommand that turns its arguments into (action, params) and asks for approval."""

    def run(invocation: PennyInvocation, deps: Deps) -> Reply:
        try:
            positionals, flags = parse_args(invocation.argv, spec)
            action, params = build(positionals, flags)
            request = get_engine(deps).request_action(
                action,
                params,
                requested_by=invocation.user_id,
                reason=str(flags.get("--reason", "")),
                channel=invocation.channel_id,
                source="slash",
            )
        except (UsageError, ApprovalError) as exc:
            text = f"{messages.approval_request_refused(str(exc))}\nUsage: `/penny {usage}`"
            return Reply(text=text, ephemeral=True)
        return Reply(text=messages.approval_request_posted(request.id, action), ephemeral=True)

    return Subcommand(name=name, usage=usage, summary=summary, run=run)


def _need(positionals: list[str], what: str, at_least: int = 1, at_most: int | None = None) -> None:
    if len(positionals) < at_least:
        raise UsageError(f"missing {what}")
    if at_most is not None and len(positionals) > at_most:
        raise UsageError(f"unexpected extra words: {' '.join(positionals[at_most:])}")


def _reboot_rds(positionals: list[str], flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    _need(positionals, "the DB instance id", 1, 1)
    return "reboot_rds_instance", {
        "db_instance_id": positionals[0],
        "force_failover": bool(flags.get("--failover")),
    }


def _ec2(action: str) -> Callable[[list[str], dict[str, Any]], tuple[str, dict[str, Any]]]:
    def build(positionals: list[str], flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        _need(positionals, "at least one instance id (i-...)")
        ids = [word for p in positionals for word in p.split(",") if word]
        return action, {"instance_ids": ids}

    return build


def _s3_lifecycle(positionals: list[str], flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    _need(positionals, "the bucket name", 1, 1)
    params: dict[str, Any] = {"bucket": positionals[0], "prefix": flags.get("--prefix", "")}
    if "--glacier-days" in flags:
        params["glacier_days"] = flags["--glacier-days"]
    if "--expire-days" in flags:
        params["expire_days"] = flags["--expire-days"]
    return "apply_s3_lifecycle", params


def _approve_spend(positionals: list[str], flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    _need(positionals, "an amount and a purpose", 2)
    params: dict[str, Any] = {
        "amount_usd": parse_amount(positionals[0]),
        "purpose": " ".join(positionals[1:]),
    }
    for flag, key in (("--account", "account"), ("--service", "service")):
        if flag in flags:
            params[key] = flags[flag]
    return "approve_spend", params


def run_approvals(invocation: PennyInvocation, deps: Deps) -> Reply:
    """`/penny approvals`: the open requests with links to their cards."""
    engine = get_engine(deps)
    requests = engine.open_requests()
    blocks = build_approvals_list(
        requests, engine.permalinks(requests), deps.clock(), deps.settings.tz
    )
    return Reply(text=f"{len(requests)} open approval request(s)", blocks=blocks, ephemeral=True)


def run_audit(invocation: PennyInvocation, deps: Deps) -> Reply:
    """`/penny audit [N]`: the latest N audit entries, for approvers only."""
    if not get_engine(deps).is_approver(invocation.user_id):
        return Reply(text=messages.not_an_approver(), ephemeral=True)
    count = AUDIT_DEFAULT
    if invocation.argv:
        if not invocation.argv[0].isdigit() or len(invocation.argv) > 1:
            return Reply(text="Usage: `/penny audit [N]` (N from 1 to 100)", ephemeral=True)
        count = max(1, min(AUDIT_MAX, int(invocation.argv[0])))
    entries = latest_audit(deps.store, count)
    blocks = build_audit_list(entries, deps.settings.tz)
    return Reply(text=f"Latest {len(entries)} audit entries", blocks=blocks, ephemeral=True)


PENNY_SUBCOMMANDS: list[Subcommand] = [
    _request_subcommand(
        "reboot-rds",
        'reboot-rds <db-id> [--failover] [--reason "..."]',
        "ask to reboot an RDS instance (approval needed)",
        ArgSpec(switches=("--failover",)),
        _reboot_rds,
    ),
    _request_subcommand(
        "stop-ec2",
        'stop-ec2 <instance-id>... [--reason "..."]',
        "ask to stop EC2 instances (approval needed)",
        ArgSpec(),
        _ec2("stop_ec2_instances"),
    ),
    _request_subcommand(
        "start-ec2",
        'start-ec2 <instance-id>... [--reason "..."]',
        "ask to start EC2 instances (approval needed)",
        ArgSpec(),
        _ec2("start_ec2_instances"),
    ),
    _request_subcommand(
        "s3-lifecycle",
        's3-lifecycle <bucket> [--prefix logs/] [--glacier-days 30] [--expire-days 365] [--reason "..."]',
        "ask to add an S3 lifecycle rule, merged with existing ones (approval needed)",
        ArgSpec(options=("--reason", "--prefix"), int_options=("--glacier-days", "--expire-days")),
        _s3_lifecycle,
    ),
    _request_subcommand(
        "approve-spend",
        'approve-spend <amount> <purpose> [--account 123456789012] [--service "Amazon EC2"]',
        "ask to record a spend approval for budget alerts (approval needed)",
        ArgSpec(options=("--reason", "--account", "--service")),
        _approve_spend,
    ),
    Subcommand(
        "approvals", "approvals", "open approval requests, with links to their cards", run_approvals
    ),
    Subcommand("audit", "audit [N]", "the latest audit log entries (approvers only)", run_audit),
]
