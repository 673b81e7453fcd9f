"""The approvals engine: the imperative shell around the approval state machine.

It creates requests (validate parameters, preview, store, post the card, audit), decides
clicks (authorize at click time, compare-and-set, update every copy of the card, run the
stored parameters exactly once after re-checking the target), sweeps expired requests,
and recovers after a restart (requests caught in `executing` become `needs_check`).

Callers that need to hear about outcomes (the agent, schedules) store an `origin`
(`{"kind": "agent", ...}`) with the request and register a listener for that kind with
`add_outcome_listener`; listeners run after every final state.

Wiring: `attach(deps)` puts an ApprovalsEngine on `deps.approvals`; `on_start(deps)` runs
restart recovery. The module-level functions take Deps, for callers that hold only Deps.
"""

from __future__ import annotations

import difflib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.config import ConfigError
from bot.core import messages
from bot.core.approval_policy import ApprovalPolicy, ApprovalPolicyError, parse_approval_policy
from bot.core.approvals import (
    APPROVE,
    APPROVED,
    CANCELLED,
    DENIED,
    DENY,
    EXECUTING,
    EXPIRED,
    FAILED,
    NEEDS_CHECK,
    OUTCOME_ERROR,
    ApprovalRequest,
    CardLocation,
    Decision,
    ResourceOutcome,
    decide,
    outcome_state,
    with_approval,
)
from bot.core.blocks.approval_card import build_card_for_state
from bot.core.ids import APPROVAL_REQUEST_ID_PATTERN
from bot.deps import Deps
from bot.store import approvals as store
from bot.store.approvals import AuditNote
from bot.store.audit import append_audit
from tools.actions import ACTIONS
from tools.actions.base import ActionContext, ActionError, ActionUnit

logger = logging.getLogger(__name__)

PENNY = "penny"
GROUP_CACHE_SECONDS = 60
SOURCES = ("slash", "chat", "agent", "schedule", "console")

OutcomeListener = Callable[[Deps, ApprovalRequest], None]


class ApprovalError(Exception):
    """A request could not be created; the message is safe to show to the requester."""


@dataclass(frozen=True)
class ClickResult:
    """What became of a click: `accepted`, a stable `code`, and a message for the clicker."""

    accepted: bool
    code: str
    message: str = ""
    request: ApprovalRequest | None = None


def new_request_id() -> str:
    """A fresh, unguessable request id like `apr-1f2e3d4c5b6a7988`."""
    return "apr-" + secrets.token_hex(8)


def looks_like_request_id(value: str) -> bool:
    """True when `value` has the exact shape of a request id (anything else is forged)."""
    return bool(re.fullmatch(APPROVAL_REQUEST_ID_PATTERN, value or ""))


class ApprovalsEngine:
    """One per process, shared by threads; state lives in the store, not here."""

    def __init__(self, deps: Deps, actions: dict[str, ActionUnit] | None = None):
        self.deps = deps
        self.actions = actions if actions is not None else ACTIONS
        self.policy = load_policy(deps, self.actions)
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._listeners: dict[str, list[OutcomeListener]] = {}
        self._accounts: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- requests -------------------------------------------------------------------------

    def request_action(
        self,
        action: str,
        params: dict[str, Any],
        requested_by: str,
        reason: str,
        channel: str,
        thread_ts: str | None = None,
        source: str = "slash",
        origin: dict[str, Any] | None = None,
    ) -> ApprovalRequest:
        """Validate, preview, store and post a card for `action`; ApprovalError explains a refusal."""
        unit = self._unit(action)
        try:
            params = unit.check_params(params)
            session = self.deps.aws()
            now = self.deps.clock()
            ctx = ActionContext(
                session=session, slack=self.deps.slack, store=self.deps.store, now=now
            )
            preview = unit.preview(ctx, params)
        except ActionError as exc:
            raise ApprovalError(str(exc)) from exc
        risk = unit.risk_for(params)
        request = ApprovalRequest(
            id=new_request_id(),
            action=action,
            params=params,
            account=self._account(session),
            region=ctx.region,
            reason=(reason or "").strip()[:1000],
            requested_by=requested_by,
            channel=channel,
            thread_ts=thread_ts,
            risk=risk,
            dry_run=self.deps.settings.dry_run,
            created_at=now,
            expires_at=now + self.policy.ttl_for(action),
            required_approvals=self.policy.required_for(action, risk),
            preview=preview,
            source=source if source in SOURCES else "slash",
            origin=origin or {"kind": source},
        )
        details = {
            "action": action,
            "params": params,
            "risk": risk,
            "dry_run": request.dry_run,
            "reason": request.reason,
            "account": request.account,
            "region": request.region,
            "source": request.source,
            "permissions": list(unit.permissions_for(params)),
        }
        store.insert_request(
            self.deps.store, request, AuditNote(requested_by, "requested", details)
        )
        return self._post_card(request)

    def _unit(self, action: str) -> ActionUnit:
        unit = self.actions.get(action)
        if unit is None:
            close = difflib.get_close_matches(action, list(self.actions), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise ApprovalError(
                f"unknown action `{action}`.{hint} Valid: {', '.join(sorted(self.actions))}"
            )
        return unit

    def _account(self, session: Any) -> str:
        """The AWS account id of the session (cached), or 'unknown account'."""
        key = str(getattr(session, "profile_name", "") or "default")
        with self._lock:
            if key in self._accounts:
                return self._accounts[key]
        try:
            from bot.aws.session import billing_client

            account = billing_client(session, "sts").get_caller_identity()["Account"]
        except Exception:  # an unknown account must not block a request; the card says so
            logger.warning("session=<%s> | could not read the AWS account id", key)
            return "unknown account"
        with self._lock:
            self._accounts[key] = account
        return account

    def _post_card(self, request: ApprovalRequest) -> ApprovalRequest:
        text, blocks = self._render(request)
        try:
            result = self.deps.slack.chat_postMessage(
                channel=request.channel, text=text, blocks=blocks, thread_ts=request.thread_ts
            )
        except SlackApiError as exc:
            error = exc.response.get("error", "")
            logger.warning("request=<%s>, error=<%s> | card not posted", request.id, error)
            withdrawn = replace(
                request, state=CANCELLED, decided_by=PENNY, decided_at=self.deps.clock()
            )
            store.save_transition(
                self.deps.store,
                request,
                withdrawn,
                self.deps.clock(),
                AuditNote(PENNY, "cancelled", {"message": f"card could not be posted: {error}"}),
            )
            raise ApprovalError(messages.approval_card_not_posted()) from exc
        location = CardLocation(result.get("channel") or request.channel, result["ts"])
        store.add_card_location(self.deps.store, request.id, location)
        append_audit(
            self.deps.store,
            PENNY,
            "card_posted",
            request.id,
            {"channel": location.channel, "ts": location.ts},
            self.deps.clock(),
        )
        return store.get_request(self.deps.store, request.id) or request

    # -- clicks ---------------------------------------------------------------------------

    def handle_click(
        self,
        request_id: str,
        clicker: str,
        decision: str,
        reason: str | None = None,
        card: CardLocation | None = None,
    ) -> ClickResult:
        """Authorize and apply one Approve or Deny click; run the action when approval completes.

        `card` is the message the click came from; a click whose card is not one of the
        request's stored cards is refused as forged.
        """
        now = self.deps.clock()
        checked = self._authorize(request_id, clicker, decision, card, now)
        if isinstance(checked, ClickResult):
            return checked
        request, verdict = checked
        if decision == DENY:
            after = replace(
                request,
                state=verdict.new_state or CANCELLED,
                decided_by=clicker,
                decided_at=now,
                deny_reason=(reason or "").strip()[:500] or None,
            )
            note = AuditNote(clicker, after.state, {"reason": after.deny_reason or ""})
            return self._apply(request, after, note, clicker, decision)
        counted = with_approval(request, clicker, now)
        if not verdict.completes:
            note = AuditNote(
                clicker,
                "approval_recorded",
                {"count": len(counted.approvals), "required": request.required_approvals},
            )
            message = messages.approval_recorded_needs_more(
                len(counted.approvals), request.required_approvals
            )
            return self._apply(request, counted, note, clicker, decision, message)
        approved = replace(counted, state=APPROVED, decided_by=clicker, decided_at=now)
        note = AuditNote(clicker, "approved", {"approvers": list(approved.approvers_so_far())})
        result = self._apply(request, approved, note, clicker, decision)
        if result.accepted and result.request is not None:
            final = self._execute(result.request)
            return replace(result, request=final)
        return result

    def check_click(
        self, request_id: str, clicker: str, decision: str, card: CardLocation | None = None
    ) -> ClickResult:
        """Would this click be allowed now? Refusals are audited; nothing changes state.

        Used before opening the deny-reason modal, so a refused clicker is told at once.
        """
        checked = self._authorize(request_id, clicker, decision, card, self.deps.clock())
        if isinstance(checked, ClickResult):
            return checked
        return ClickResult(True, "ok", "", checked[0])

    def _authorize(
        self,
        request_id: str,
        clicker: str,
        decision: str,
        card: CardLocation | None,
        now: datetime,
    ) -> ClickResult | tuple[ApprovalRequest, Decision]:
        """Load the request and decide the click: a refusal (audited) or (request, verdict)."""
        self.expire_due(now)
        if decision not in (APPROVE, DENY) or not looks_like_request_id(request_id):
            return self._refuse(
                None, clicker, decision, "forged", messages.approval_forged_click(), request_id
            )
        request = store.get_request(self.deps.store, request_id)
        if request is not None and card is not None and card not in request.cards:
            return self._refuse(
                request, clicker, decision, "forged", messages.approval_forged_click()
            )
        verdict = decide(
            request,
            clicker,
            self.policy,
            now,
            kind=decision,
            group_members=self._group_members(request.action) if request else {},
            tz=self.deps.settings.tz,
        )
        if not verdict.allowed or request is None:
            return self._refuse(
                request, clicker, decision, verdict.code, verdict.message, request_id
            )
        return request, verdict

    def _apply(
        self,
        before: ApprovalRequest,
        after: ApprovalRequest,
        note: AuditNote,
        clicker: str,
        decision: str,
        message: str = "",
    ) -> ClickResult:
        """Compare-and-set; the loser of a race is told what the winner did."""
        moved = self._move(before, after, note)
        if moved is None:
            latest = store.get_request(self.deps.store, before.id)
            verdict = decide(
                latest,
                clicker,
                self.policy,
                self.deps.clock(),
                kind=decision,
                group_members=self._group_members(before.action),
                tz=self.deps.settings.tz,
            )
            why = (
                verdict.message
                or "Someone else acted on this request at the same moment; try again."
            )
            return self._refuse(latest, clicker, decision, "lost_race", why, before.id)
        self._refresh_cards(moved)
        if moved.state != before.state and moved.state in (CANCELLED, DENIED):
            self._notify(moved)
        return ClickResult(True, "ok" if not message else "needs_second", message, moved)

    def _move(
        self, before: ApprovalRequest, after: ApprovalRequest, note: AuditNote | None
    ) -> ApprovalRequest | None:
        """Compare-and-set one step; the request as stored afterwards, or None if another won."""
        if not store.save_transition(self.deps.store, before, after, self.deps.clock(), note):
            return None
        return replace(after, version=before.version + 1)

    def _refuse(
        self,
        request: ApprovalRequest | None,
        clicker: str,
        decision: str,
        code: str,
        message: str,
        request_id: str | None = None,
    ) -> ClickResult:
        rid = request.id if request else None
        append_audit(
            self.deps.store,
            clicker,
            "click_refused",
            rid,
            {
                "code": code,
                "click": decision,
                "message": message,
                "value": (request_id or "")[:100],
            },
            self.deps.clock(),
        )
        logger.info("request=<%s>, user=<%s>, code=<%s> | click refused", rid, clicker, code)
        return ClickResult(False, code, message, request)

    # -- execution ------------------------------------------------------------------------

    def _execute(self, approved: ApprovalRequest) -> ApprovalRequest:
        """approved -> executing -> succeeded | failed, exactly once (the CAS picks one runner)."""
        executing = self._move(
            approved, replace(approved, state=EXECUTING), AuditNote(PENNY, "executing", {})
        )
        if executing is None:
            return store.get_request(self.deps.store, approved.id) or approved
        self._refresh_cards(executing)
        outcomes = self._run_unit(executing)
        state = outcome_state(outcomes)
        final = replace(executing, state=state, outcomes=tuple(outcomes))
        details = {"outcomes": [o.to_dict() for o in outcomes], "dry_run": executing.dry_run}
        moved = self._move(executing, final, AuditNote(PENNY, state, details))
        if moved is None:  # a recovery sweep marked it needs_check meanwhile; keep its verdict
            return store.get_request(self.deps.store, approved.id) or final
        self._refresh_cards(moved)
        self._notify(moved)
        return moved

    def _run_unit(self, request: ApprovalRequest) -> list[ResourceOutcome]:
        """Re-check the target, then run exactly the stored parameters."""
        unit = self.actions[request.action]
        ctx = ActionContext(
            session=self.deps.aws(),
            slack=self.deps.slack,
            store=self.deps.store,
            request_id=request.id,
            requested_by=request.requested_by,
            approved_by=", ".join(request.approvers_so_far()),
            now=self.deps.clock(),
        )
        target = ", ".join(request.preview.expected) or request.action
        try:
            unit.validate(ctx, request.params, request.preview.expected)
        except ActionError as exc:
            return [ResourceOutcome(target, OUTCOME_ERROR, f"not run: {exc}")]
        try:
            return unit.execute(ctx, request.params, request.dry_run)
        except Exception:  # a unit bug must end in `failed`, never leave the request executing
            logger.exception(
                "request=<%s>, action=<%s> | action raised", request.id, request.action
            )
            return [ResourceOutcome(target, OUTCOME_ERROR, "unexpected error; see Penny's log")]

    # -- sweeps ---------------------------------------------------------------------------

    def expire_due(self, now: datetime | None = None) -> int:
        """Move every pending request past its expiry to `expired`; returns how many moved."""
        now = now or self.deps.clock()
        moved = 0
        for request in store.list_due_for_expiry(self.deps.store, now):
            after = self._move(
                request,
                replace(request, state=EXPIRED, decided_at=now),
                AuditNote(PENNY, "expired", {}),
            )
            if after is not None:
                moved += 1
                self._refresh_cards(after)
                self._notify(after)
        return moved

    def recover_after_restart(self) -> dict[str, int]:
        """After a restart: `executing` -> needs_check (never re-run); `approved` -> failed
        (nothing ran). Pending requests stay decidable; expired ones are swept."""
        now = self.deps.clock()
        counts = {NEEDS_CHECK: 0, FAILED: 0}
        for request in store.list_requests(self.deps.store, [EXECUTING], limit=1000):
            after = self._move(
                request,
                replace(request, state=NEEDS_CHECK),
                AuditNote(PENNY, "needs_check", {"message": "found executing after a restart"}),
            )
            if after is not None:
                counts[NEEDS_CHECK] += 1
                self._refresh_cards(after)
                self._notify(after)
        for request in store.list_requests(self.deps.store, [APPROVED], limit=1000):
            outcome = ResourceOutcome(
                request.action,
                OUTCOME_ERROR,
                "Penny restarted before running this; nothing was changed. Ask again if still needed.",
            )
            after = self._move(
                request,
                replace(request, state=FAILED, outcomes=(outcome,)),
                AuditNote(PENNY, FAILED, {"message": outcome.detail}),
            )
            if after is not None:
                counts[FAILED] += 1
                self._refresh_cards(after)
                self._notify(after)
        expired = self.expire_due(now)
        logger.info(
            "needs_check=<%d>, failed=<%d>, expired=<%d> | approvals recovered",
            counts[NEEDS_CHECK],
            counts[FAILED],
            expired,
        )
        return {**counts, EXPIRED: expired}

    # -- cards, groups, listeners ---------------------------------------------------------

    def _render(self, request: ApprovalRequest) -> tuple[str, list[dict[str, Any]]]:
        summary = self.policy.summary(request.action, request.risk)
        return build_card_for_state(request, summary, self.deps.clock(), self.deps.settings.tz)

    def _refresh_cards(self, request: ApprovalRequest) -> None:
        """chat.update every posted copy of the card to the request's current state."""
        latest = store.get_request(self.deps.store, request.id) or request
        text, blocks = self._render(latest)
        for card in latest.cards:
            try:
                self.deps.slack.chat_update(
                    channel=card.channel, ts=card.ts, text=text, blocks=blocks
                )
            except SlackApiError as exc:
                logger.warning(
                    "request=<%s>, ts=<%s>, error=<%s> | card update failed",
                    request.id,
                    card.ts,
                    exc.response.get("error", ""),
                )

    def _group_members(self, action: str) -> dict[str, frozenset[str]]:
        """Members of the user groups that may approve `action`, cached briefly; empty on error."""
        return {gid: self._members_of(gid) for gid in self.policy.group_ids_for(action)}

    def all_group_members(self) -> dict[str, frozenset[str]]:
        """Members of every user group in the policy."""
        return {gid: self._members_of(gid) for gid in self.policy.all_group_ids()}

    def _members_of(self, group_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._groups.get(group_id)
        if cached and time.monotonic() - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        try:
            users = frozenset(
                self.deps.slack.usergroups_users_list(usergroup=group_id).get("users", [])
            )
        except SlackApiError as exc:  # fail closed: an unknown group approves nobody
            logger.warning(
                "group=<%s>, error=<%s> | user group lookup failed",
                group_id,
                exc.response.get("error", ""),
            )
            return frozenset()
        with self._lock:
            self._groups[group_id] = (time.monotonic(), users)
        return users

    def is_approver(self, user: str) -> bool:
        """True when `user` may approve at least one action (gates `/penny audit`)."""
        return self.policy.is_approver_anywhere(user, self.all_group_members())

    def add_outcome_listener(self, origin_kind: str, listener: OutcomeListener) -> None:
        """Call `listener(deps, request)` when a request whose origin kind matches reaches a final state."""
        with self._lock:
            self._listeners.setdefault(origin_kind, []).append(listener)

    def _notify(self, request: ApprovalRequest) -> None:
        kind = str(request.origin.get("kind", request.source))
        with self._lock:
            listeners = list(self._listeners.get(kind, ()))
        for listener in listeners:
            try:
                listener(self.deps, request)
            except Exception:  # one caller's bug must not break the approval flow
                logger.exception(
                    "request=<%s>, origin=<%s> | outcome listener failed", request.id, kind
                )

    # -- queries --------------------------------------------------------------------------

    def open_requests(self) -> list[ApprovalRequest]:
        """Pending requests, newest first (expired ones are swept first)."""
        self.expire_due()
        return store.list_requests(self.deps.store, ["pending"], limit=100)

    def permalinks(self, requests: list[ApprovalRequest]) -> dict[str, str]:
        """Links to each request's first card; requests whose link Slack refuses are left out."""
        links: dict[str, str] = {}
        for request in requests:
            if not request.cards:
                continue
            card = request.cards[0]
            try:
                result = self.deps.slack.chat_getPermalink(channel=card.channel, message_ts=card.ts)
                links[request.id] = result["permalink"]
            except (SlackApiError, KeyError):
                logger.info("request=<%s> | no permalink", request.id)
        return links


def load_policy(deps: Deps, actions: dict[str, ActionUnit] | None = None) -> ApprovalPolicy:
    """The approval policy from Settings; ConfigError names every problem."""
    settings = deps.settings
    try:
        return parse_approval_policy(
            settings.approvers,
            settings.section("approvals"),
            settings.approval_ttl,
            known_actions=list(actions if actions is not None else ACTIONS),
        )
    except ApprovalPolicyError as exc:
        raise ConfigError([f"PENNY_CONFIG {p}" for p in exc.problems]) from exc


def get_engine(deps: Deps) -> ApprovalsEngine:
    """The engine attached to deps (attaching one if the composition root has not)."""
    if not isinstance(deps.approvals, ApprovalsEngine):
        deps.approvals = ApprovalsEngine(deps)
    return deps.approvals


def attach(deps: Deps) -> None:
    """Composition-root hook: build the engine (a bad policy stops start-up) on deps.approvals."""
    deps.approvals = ApprovalsEngine(deps)


def on_start(deps: Deps) -> None:
    """Serving-process hook: recover requests caught mid-flight by the last shutdown."""
    recover_after_restart(deps)


def request_action(
    deps: Deps,
    action: str,
    params: dict[str, Any],
    requested_by: str,
    reason: str,
    channel: str,
    thread_ts: str | None = None,
    source: str = "slash",
    origin: dict[str, Any] | None = None,
) -> ApprovalRequest:
    """Create a request and post its card (see ApprovalsEngine.request_action)."""
    return get_engine(deps).request_action(
        action, params, requested_by, reason, channel, thread_ts, source, origin
    )


def handle_click(
    deps: Deps,
    request_id: str,
    clicker: str,
    decision: str,
    reason: str | None = None,
    card: CardLocation | None = None,
) -> ClickResult:
    """Apply one Approve/Deny click (see ApprovalsEngine.handle_click)."""
    return get_engine(deps).handle_click(request_id, clicker, decision, reason, card)


def expire_due(deps: Deps, now: datetime | None = None) -> int:
    """The expiry sweep, for the scheduler; returns how many requests expired."""
    return get_engine(deps).expire_due(now)


def recover_after_restart(deps: Deps) -> dict[str, int]:
    """Restart recovery: executing -> needs_check, approved -> failed, expired swept."""
    return get_engine(deps).recover_after_restart()
