"""`stop_ec2_instances` and `start_ec2_instances`: several instance ids in one request.

Dry run uses AWS's own check (`DryRun=True`): `DryRunOperation` means the call would have
succeeded, `UnauthorizedOperation` names the missing permission. Instances not in the
state the action needs (already stopped, say) are skipped, not errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.actions.base import (
    OUTCOME_ERROR,
    OUTCOME_OK,
    OUTCOME_SKIPPED,
    ActionContext,
    ActionError,
    ActionUnit,
    ParamSpec,
    Preview,
    ResourceOutcome,
    TargetChanged,
    describe_aws_error,
    error_code,
)
from tools.actions.pricing import EC2_HOURLY_USD, ESTIMATE_NOTE, monthly_usd

INSTANCE_ID = r"i-[0-9a-f]{8,17}"
INSTANCE_IDS = ParamSpec(
    "instance_ids", "str_list", pattern=INSTANCE_ID, max_items=20, help="EC2 instance ids"
)


class Ec2StateChange(ActionUnit):
    """Shared shape of stop/start: act on instances in `from_state`, skip the others."""

    from_state = ""
    verb = ""
    api = ""
    params = (INSTANCE_IDS,)
    effect_sign = 0

    def describe_instances(self, ctx: ActionContext, ids: list[str]) -> dict[str, dict[str, Any]]:
        """id -> instance description; ActionError naming missing ids."""
        try:
            pages = ctx.client("ec2").get_paginator("describe_instances").paginate(InstanceIds=ids)
            found = {
                inst["InstanceId"]: inst
                for page in pages
                for reservation in page["Reservations"]
                for inst in reservation["Instances"]
            }
        except ClientError as exc:
            if error_code(exc) in ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
                raise ActionError(
                    f"EC2 instance not found: {exc.response['Error']['Message']}"
                ) from exc
            raise ActionError(describe_aws_error(exc, "ec2:DescribeInstances")) from exc
        except BotoCoreError as exc:
            raise ActionError(describe_aws_error(exc)) from exc
        missing = [i for i in ids if i not in found]
        if missing:
            raise ActionError(f"EC2 instance(s) not found in {ctx.region}: {', '.join(missing)}")
        return found

    def preview(self, ctx: ActionContext, params: dict[str, Any]) -> Preview:
        """List each instance's state and type; estimate the monthly compute $ change."""
        ids = params["instance_ids"]
        found = self.describe_instances(ctx, ids)
        lines, expected, effect, unknown = [], {}, 0.0, False
        for iid in ids:
            inst = found[iid]
            state, itype = inst["State"]["Name"], inst.get("InstanceType", "?")
            name = _name_tag(inst)
            will = "" if state == self.from_state else f" (not {self.from_state}: will be skipped)"
            lines.append(f"`{iid}`{name}: {state}, {itype}{will}")
            expected[iid] = state
            if state == self.from_state:
                monthly = monthly_usd(EC2_HOURLY_USD, itype)
                unknown = unknown or monthly is None
                effect += monthly or 0.0
        acting = sum(1 for s in expected.values() if s == self.from_state)
        return Preview(
            summary=f"{self.verb.capitalize()} {acting} of {len(ids)} EC2 instance(s) in {ctx.region}",
            current_state=tuple(lines),
            monthly_usd_effect=None if unknown else round(self.effect_sign * effect, 2),
            expected=expected,
            estimate_note=ESTIMATE_NOTE,
        )

    def validate(
        self, ctx: ActionContext, params: dict[str, Any], expected: Mapping[str, str]
    ) -> None:
        """Every instance still exists and is in the state the preview showed."""
        try:
            found = self.describe_instances(ctx, params["instance_ids"])
        except ActionError as exc:
            raise TargetChanged(f"{exc}; the card showed them") from exc
        changed = [
            f"{iid} is now {found[iid]['State']['Name']} (the card showed {want})"
            for iid, want in expected.items()
            if iid in found and found[iid]["State"]["Name"] != want
        ]
        if changed:
            raise TargetChanged("; ".join(changed))

    def execute(
        self, ctx: ActionContext, params: dict[str, Any], dry_run: bool
    ) -> list[ResourceOutcome]:
        """Call Stop/StartInstances for the instances in the right state; skip the rest."""
        ids = params["instance_ids"]
        try:
            found = self.describe_instances(ctx, ids)
        except ActionError as exc:
            return [ResourceOutcome(i, OUTCOME_ERROR, str(exc)) for i in ids]
        acting = [i for i in ids if found[i]["State"]["Name"] == self.from_state]
        outcomes = [
            ResourceOutcome(i, OUTCOME_SKIPPED, f"already {found[i]['State']['Name']}")
            for i in ids
            if i not in acting
        ]
        if not acting:
            return outcomes
        call = getattr(ctx.client("ec2"), self.api)
        permission = f"ec2:{''.join(p.capitalize() for p in self.api.split('_'))}"
        try:
            response = call(InstanceIds=acting, DryRun=dry_run)
        except ClientError as exc:
            if dry_run and error_code(exc) == "DryRunOperation":
                detail = f"DRY RUN: would {self.verb} (AWS permission check passed)"
                return outcomes + [ResourceOutcome(i, OUTCOME_OK, detail) for i in acting]
            detail = describe_aws_error(exc, permission)
            return outcomes + [ResourceOutcome(i, OUTCOME_ERROR, detail) for i in acting]
        except BotoCoreError as exc:
            return outcomes + [
                ResourceOutcome(i, OUTCOME_ERROR, describe_aws_error(exc)) for i in acting
            ]
        changes = response.get("StoppingInstances") or response.get("StartingInstances") or []
        now_state = {c["InstanceId"]: c["CurrentState"]["Name"] for c in changes}
        return outcomes + [
            ResourceOutcome(i, OUTCOME_OK, f"{self.from_state} -> {now_state.get(i, 'requested')}")
            for i in acting
        ]


def _name_tag(instance: dict[str, Any]) -> str:
    for tag in instance.get("Tags", []) or []:
        if tag.get("Key") == "Name":
            return f" ({tag.get('Value', '')[:60]})"
    return ""


class StopEc2Instances(Ec2StateChange):
    """Stop running EC2 instances (EBS volumes and their cost remain)."""

    name = "stop_ec2_instances"
    title = "Stop EC2 instances"
    risk = "medium"
    permissions = ("ec2:DescribeInstances", "ec2:StopInstances")
    from_state = "running"
    verb = "stop"
    api = "stop_instances"
    effect_sign = -1


class StartEc2Instances(Ec2StateChange):
    """Start stopped EC2 instances."""

    name = "start_ec2_instances"
    title = "Start EC2 instances"
    risk = "low"
    permissions = ("ec2:DescribeInstances", "ec2:StartInstances")
    from_state = "stopped"
    verb = "start"
    api = "start_instances"
    effect_sign = 1
