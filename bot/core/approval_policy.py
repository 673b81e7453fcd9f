"""Who may approve what: `PENNY_APPROVERS` plus the `[approvals]` table of `PENNY_CONFIG`.

Nobody is an approver by default. The TOML table looks like this::

    [approvals]
    approvers = ["U0123ABCD", "S0OPSTEAM"]     # added to PENNY_APPROVERS
    ttl = "30m"                                 # overrides PENNY_APPROVAL_TTL
    allow_self_approval = { low = true, medium = false, high = false }   # the defaults
    required_approvals = { high = 2 }           # default 1 for every risk

    [approvals.actions.stop_ec2_instances]
    approvers = ["S0OPSTEAM"]   # replaces the default approvers for this action only
    required_approvals = 2
    allow_self_approval = false
    ttl = "15m"

Ids starting with `S` are Slack user groups; the engine resolves their members at click
time. Defaults: the requester may approve their own low-risk requests only, and one
approval is enough at every risk until the policy asks for two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.config import parse_duration

RISK_LEVELS = ("low", "medium", "high")
SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
TOP_KEYS = ("approvers", "ttl", "allow_self_approval", "required_approvals", "actions")
ACTION_KEYS = ("approvers", "ttl", "allow_self_approval", "required_approvals")
DEFAULT_SELF_APPROVAL = {"low": True, "medium": False, "high": False}
MAX_REQUIRED_APPROVALS = 5


class ApprovalPolicyError(Exception):
    """The `[approvals]` policy is malformed; `problems` names each one with the valid choices."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("approval policy problems: " + "; ".join(problems))


@dataclass(frozen=True)
class ActionPolicy:
    """Per-action overrides; None means "use the default"."""

    approvers: tuple[str, ...] | None = None
    required_approvals: int | None = None
    allow_self_approval: bool | None = None
    ttl: timedelta | None = None


@dataclass(frozen=True)
class ApprovalPolicy:
    """The parsed policy; ask it questions rather than reading its fields."""

    default_approvers: tuple[str, ...] = ()
    ttl: timedelta = timedelta(hours=1)
    allow_self_approval: Mapping[str, bool] = field(
        default_factory=lambda: dict(DEFAULT_SELF_APPROVAL)
    )
    required_approvals: Mapping[str, int] = field(
        default_factory=lambda: dict.fromkeys(RISK_LEVELS, 1)
    )
    actions: Mapping[str, ActionPolicy] = field(default_factory=dict)

    def approvers_for(self, action: str) -> tuple[str, ...]:
        """User and user-group ids allowed to approve `action`."""
        override = self.actions.get(action)
        if override is not None and override.approvers is not None:
            return override.approvers
        return self.default_approvers

    def group_ids_for(self, action: str) -> tuple[str, ...]:
        """The user-group ids (S...) among the approvers of `action`, to resolve at click time."""
        return tuple(a for a in self.approvers_for(action) if a.startswith("S"))

    def all_group_ids(self) -> tuple[str, ...]:
        """Every user-group id mentioned anywhere in the policy."""
        ids = [a for a in self.default_approvers if a.startswith("S")]
        for override in self.actions.values():
            ids.extend(a for a in override.approvers or () if a.startswith("S"))
        return tuple(dict.fromkeys(ids))

    def may_approve(
        self, action: str, user: str, group_members: Mapping[str, frozenset[str]] | None = None
    ) -> bool:
        """True when `user` is listed for `action` directly or through a listed user group."""
        members = group_members or {}
        for approver in self.approvers_for(action):
            if approver == user or user in members.get(approver, frozenset()):
                return True
        return False

    def is_approver_anywhere(
        self, user: str, group_members: Mapping[str, frozenset[str]] | None = None
    ) -> bool:
        """True when `user` may approve at least one action (gates `/penny audit`)."""
        actions = [None, *self.actions]
        return any(self.may_approve(a or "", user, group_members) for a in actions)

    def self_approval_allowed(self, action: str, risk: str) -> bool:
        """May the requester approve their own request for `action` at `risk`?"""
        override = self.actions.get(action)
        if override is not None and override.allow_self_approval is not None:
            return override.allow_self_approval
        return bool(self.allow_self_approval.get(risk, False))

    def required_for(self, action: str, risk: str) -> int:
        """How many distinct approvers `action` at `risk` needs."""
        override = self.actions.get(action)
        if override is not None and override.required_approvals is not None:
            return override.required_approvals
        return int(self.required_approvals.get(risk, 1))

    def ttl_for(self, action: str) -> timedelta:
        """How long a request for `action` stays open."""
        override = self.actions.get(action)
        if override is not None and override.ttl is not None:
            return override.ttl
        return self.ttl

    def describe_approvers(self, action: str) -> str:
        """`<@U1>, <!subteam^S2>` or `nobody (set PENNY_APPROVERS)` for a card or a refusal."""
        ids = self.approvers_for(action)
        if not ids:
            return "nobody yet (set PENNY_APPROVERS or the [approvals] policy)"
        return ", ".join(mention(i) for i in ids)

    def summary(self, action: str, risk: str) -> str:
        """One line for the card: who may approve, how many, and whether self-approval counts."""
        need = self.required_for(action, risk)
        count = "one approval" if need == 1 else f"{need} distinct approvers"
        selfish = "" if self.self_approval_allowed(action, risk) else "; not the requester"
        return f"{self.describe_approvers(action)} ({count}{selfish})"


def mention(slack_id: str) -> str:
    """Slack mention markup for a user or a user group id."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def parse_approval_policy(
    env_approvers: Iterable[str],
    section: Mapping[str, Any],
    default_ttl: timedelta,
    known_actions: Iterable[str] | None = None,
) -> ApprovalPolicy:
    """Build the policy from `PENNY_APPROVERS`, the TOML `[approvals]` table and the TTL.

    Raises ApprovalPolicyError listing every problem with the valid choices.
    """
    problems: list[str] = []
    known = sorted(known_actions) if known_actions is not None else None
    _check_keys(section, TOP_KEYS, "[approvals]", problems)
    approvers = tuple(dict.fromkeys([*env_approvers, *_ids(section, "[approvals]", problems)]))
    ttl = _ttl(section, "[approvals]", problems) or default_ttl
    allow_self = dict(DEFAULT_SELF_APPROVAL)
    allow_self.update(_per_risk(section, "allow_self_approval", bool, problems))
    required = dict.fromkeys(RISK_LEVELS, 1)
    required.update(_per_risk(section, "required_approvals", int, problems))
    actions: dict[str, ActionPolicy] = {}
    table = section.get("actions", {})
    if not isinstance(table, Mapping):
        problems.append("[approvals.actions] must be a table of action names")
        table = {}
    for name, entry in table.items():
        if known is not None and name not in known:
            problems.append(
                f"[approvals.actions.{name}]: unknown action; valid: {', '.join(known)}"
            )
            continue
        actions[name] = _action_policy(name, entry, problems)
    if problems:
        raise ApprovalPolicyError(problems)
    return ApprovalPolicy(approvers, ttl, allow_self, required, actions)


def _action_policy(name: str, entry: Any, problems: list[str]) -> ActionPolicy:
    where = f"[approvals.actions.{name}]"
    if not isinstance(entry, Mapping):
        problems.append(f"{where} must be a table with keys {', '.join(ACTION_KEYS)}")
        return ActionPolicy()
    _check_keys(entry, ACTION_KEYS, where, problems)
    approvers = tuple(_ids(entry, where, problems)) if "approvers" in entry else None
    allow_self = entry.get("allow_self_approval")
    if allow_self is not None and not isinstance(allow_self, bool):
        problems.append(f"{where} allow_self_approval must be true or false")
        allow_self = None
    required = entry.get("required_approvals")
    if required is not None and not _valid_count(required):
        problems.append(
            f"{where} required_approvals must be a whole number from 1 to {MAX_REQUIRED_APPROVALS}"
        )
        required = None
    return ActionPolicy(approvers, required, allow_self, _ttl(entry, where, problems))


def _check_keys(
    table: Mapping[str, Any], valid: tuple[str, ...], where: str, problems: list[str]
) -> None:
    for key in table:
        if key not in valid:
            problems.append(f"{where}: unknown key {key!r}; valid: {', '.join(valid)}")


def _ids(table: Mapping[str, Any], where: str, problems: list[str]) -> list[str]:
    raw = table.get("approvers", [])
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        problems.append(
            f'{where} approvers must be a list of Slack ids like "U0123ABCD" or "S0GROUP"'
        )
        return []
    bad = [x for x in raw if not SLACK_ID.match(x)]
    if bad:
        problems.append(
            f"{where} approvers: {', '.join(bad)} are not Slack user (U..., W...) or user group (S...) ids"
        )
    return [x for x in raw if SLACK_ID.match(x)]


def _ttl(table: Mapping[str, Any], where: str, problems: list[str]) -> timedelta | None:
    raw = table.get("ttl")
    if raw is None:
        return None
    try:
        ttl = parse_duration(str(raw))
    except ValueError:
        ttl = timedelta(0)
    if ttl.total_seconds() <= 0:
        problems.append(f"{where} ttl {raw!r} is not a duration; use e.g. 90s, 15m, 1h or 2d")
        return None
    return ttl


def _per_risk(
    table: Mapping[str, Any], key: str, kind: type, problems: list[str]
) -> dict[str, Any]:
    raw = table.get(key)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"[approvals] {key} must be a table like {{ high = ... }} keyed by risk")
        return {}
    out: dict[str, Any] = {}
    for risk, value in raw.items():
        if risk not in RISK_LEVELS:
            problems.append(
                f"[approvals] {key}: unknown risk {risk!r}; valid: {', '.join(RISK_LEVELS)}"
            )
        elif kind is bool and not isinstance(value, bool):
            problems.append(f"[approvals] {key}.{risk} must be true or false")
        elif kind is int and not _valid_count(value):
            problems.append(
                f"[approvals] {key}.{risk} must be a whole number from 1 to {MAX_REQUIRED_APPROVALS}"
            )
        else:
            out[risk] = value
    return out


def _valid_count(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 1 <= value <= MAX_REQUIRED_APPROVALS
    )
