"""`delete_ebs_volumes`, `delete_ebs_snapshots`, `release_elastic_ips`: clean up what idles and costs.

Each takes a list of ids, previews each target's state and monthly cost, re-checks before
running that every target is still in that state (a volume still unattached, an address
still unassociated), and reports one outcome per resource. Dry run uses AWS's own
`DryRun=True` check. Deleting is irreversible, so volumes and snapshots are high risk.
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
from tools.actions.pricing import HOURS_PER_MONTH

# us-east-1 list prices, USD per GB-month (volumes) and per address-hour (public IPv4).
EBS_GB_MONTH_USD = {
    "gp3": 0.08,
    "gp2": 0.10,
    "io1": 0.125,
    "io2": 0.125,
    "st1": 0.045,
    "sc1": 0.015,
    "standard": 0.05,
}
SNAPSHOT_GB_MONTH_USD = 0.05
PUBLIC_IPV4_HOURLY_USD = 0.005
EIP_MONTHLY_USD = round(PUBLIC_IPV4_HOURLY_USD * HOURS_PER_MONTH, 2)
STORAGE_NOTE = (
    "estimate: us-east-1 list prices; snapshots are incremental, so their saving is at most this"
)


def volume_monthly_usd(size_gb: int, volume_type: str) -> float | None:
    """Monthly cost of a volume of `size_gb` GB and `volume_type`, or None when the type is unknown."""
    price = EBS_GB_MONTH_USD.get(volume_type)
    return None if price is None else round(size_gb * price, 2)


def snapshot_monthly_usd(size_gb: int) -> float:
    """Upper bound of a snapshot's monthly cost (its full source volume size)."""
    return round(size_gb * SNAPSHOT_GB_MONTH_USD, 2)


class Ec2Cleanup(ActionUnit):
    """Shared shape: act on each listed resource that is still in `required_state`."""

    required_state = ""
    noun = ""
    verb = ""
    api = ""
    id_param = ""
    describe_permission = ""

    describe_api = ""
    list_key = ""

    def describe(self, ctx: ActionContext, ids: list[str]) -> dict[str, dict[str, Any]]:
        """id -> {state, line, monthly} for each existing target (missing ids are left out)."""
        call = getattr(ctx.client("ec2"), self.describe_api)
        items = _describe_existing(call, self.id_param + "s", ids, self.list_key, self.id_param)
        return {item[self.id_param]: self.summarize(item) for item in items}

    def summarize(self, item: dict[str, Any]) -> dict[str, Any]:
        """{state, line, monthly} of one described resource (override)."""
        raise NotImplementedError

    def call_kwargs(self, resource_id: str) -> dict[str, Any]:
        """The exact API arguments for one resource."""
        return {self.id_param: resource_id}

    def _targets(self, ctx: ActionContext, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
        try:
            return self.describe(ctx, params[self.params[0].name])
        except ClientError as exc:
            raise ActionError(describe_aws_error(exc, self.describe_permission)) from exc
        except BotoCoreError as exc:
            raise ActionError(describe_aws_error(exc)) from exc

    def preview(self, ctx: ActionContext, params: dict[str, Any]) -> Preview:
        """Each target's state and monthly cost; targets not in the right state will be skipped."""
        ids = params[self.params[0].name]
        found = self._targets(ctx, params)
        missing = [i for i in ids if i not in found]
        if missing:
            raise ActionError(f"{self.noun}(s) not found in {ctx.region}: {', '.join(missing)}")
        lines, expected, saving, unknown = [], {}, 0.0, False
        for rid in ids:
            info = found[rid]
            skip = (
                ""
                if info["state"] == self.required_state
                else f" (not {self.required_state}: will be skipped)"
            )
            lines.append(f"`{rid}`: {info['line']}{skip}")
            expected[rid] = info["state"]
            if info["state"] == self.required_state:
                unknown = unknown or info["monthly"] is None
                saving += info["monthly"] or 0.0
        acting = sum(1 for s in expected.values() if s == self.required_state)
        return Preview(
            summary=f"{self.verb.capitalize()} {acting} of {len(ids)} {self.noun}(s) in {ctx.region}",
            current_state=tuple(lines),
            monthly_usd_effect=None if unknown else -round(saving, 2),
            expected=expected,
            estimate_note=STORAGE_NOTE,
        )

    def validate(
        self, ctx: ActionContext, params: dict[str, Any], expected: Mapping[str, str]
    ) -> None:
        """Every target still exists and is in the state the card showed."""
        found = self._targets(ctx, params)
        changed = [
            f"{rid} is now {found[rid]['state']} (the card showed {want})"
            if rid in found
            else f"{rid} no longer exists"
            for rid, want in expected.items()
            if rid not in found or found[rid]["state"] != want
        ]
        if changed:
            raise TargetChanged("; ".join(changed))

    def execute(
        self, ctx: ActionContext, params: dict[str, Any], dry_run: bool
    ) -> list[ResourceOutcome]:
        """Act on each target still in the required state; skip the others; never raise for AWS errors."""
        ids = params[self.params[0].name]
        try:
            found = self._targets(ctx, params)
        except ActionError as exc:
            return [ResourceOutcome(i, OUTCOME_ERROR, str(exc)) for i in ids]
        client = ctx.client("ec2")
        outcomes = []
        for rid in ids:
            state = found.get(rid, {}).get("state", "missing")
            if state != self.required_state:
                outcomes.append(
                    ResourceOutcome(rid, OUTCOME_SKIPPED, f"{state}, not {self.required_state}")
                )
                continue
            outcomes.append(self._act(client, rid, dry_run))
        return outcomes

    def _act(self, client: Any, rid: str, dry_run: bool) -> ResourceOutcome:
        permission = f"ec2:{''.join(p.capitalize() for p in self.api.split('_'))}"
        try:
            getattr(client, self.api)(**self.call_kwargs(rid), DryRun=dry_run)
        except ClientError as exc:
            if dry_run and error_code(exc) == "DryRunOperation":
                return ResourceOutcome(
                    rid, OUTCOME_OK, f"DRY RUN: would {self.verb} (AWS permission check passed)"
                )
            return ResourceOutcome(rid, OUTCOME_ERROR, describe_aws_error(exc, permission))
        except BotoCoreError as exc:
            return ResourceOutcome(rid, OUTCOME_ERROR, describe_aws_error(exc))
        if dry_run:
            return ResourceOutcome(rid, OUTCOME_OK, f"DRY RUN: would {self.verb}")
        return ResourceOutcome(
            rid, OUTCOME_OK, f"{self.verb}d" if self.verb.endswith("e") else f"{self.verb}ed"
        )


class DeleteEbsVolumes(Ec2Cleanup):
    """Delete unattached EBS volumes (irreversible: snapshot first if the data matters)."""

    name = "delete_ebs_volumes"
    title = "Delete EBS volumes"
    risk = "high"
    permissions = ("ec2:DescribeVolumes", "ec2:DeleteVolume")
    params = (
        ParamSpec("volume_ids", "str_list", pattern=r"vol-[0-9a-f]{8,17}", help="EBS volume ids"),
    )
    required_state = "available"
    noun = "EBS volume"
    verb = "delete"
    api = "delete_volume"
    id_param = "VolumeId"
    describe_permission = "ec2:DescribeVolumes"

    describe_api = "describe_volumes"
    list_key = "Volumes"

    def summarize(self, item: dict[str, Any]) -> dict[str, Any]:
        """Volume state (`available` means unattached), size, type and monthly cost."""
        vtype = item.get("VolumeType", "?")
        return {
            "state": item["State"],
            "line": f"{item['State']}, {item['Size']} GiB {vtype}",
            "monthly": volume_monthly_usd(item["Size"], vtype),
        }


class DeleteEbsSnapshots(Ec2Cleanup):
    """Delete EBS snapshots (irreversible)."""

    name = "delete_ebs_snapshots"
    title = "Delete EBS snapshots"
    risk = "high"
    permissions = ("ec2:DescribeSnapshots", "ec2:DeleteSnapshot")
    params = (
        ParamSpec(
            "snapshot_ids", "str_list", pattern=r"snap-[0-9a-f]{8,17}", help="EBS snapshot ids"
        ),
    )
    required_state = "completed"
    noun = "EBS snapshot"
    verb = "delete"
    api = "delete_snapshot"
    id_param = "SnapshotId"
    describe_permission = "ec2:DescribeSnapshots"

    describe_api = "describe_snapshots"
    list_key = "Snapshots"

    def summarize(self, item: dict[str, Any]) -> dict[str, Any]:
        """Snapshot state, size, start date and monthly cost (upper bound)."""
        size = int(item.get("VolumeSize", 0))
        started = str(item.get("StartTime", ""))[:10]
        return {
            "state": item["State"],
            "line": f"{item['State']}, {size} GiB, started {started}",
            "monthly": snapshot_monthly_usd(size),
        }


class ReleaseElasticIps(Ec2Cleanup):
    """Release Elastic IP addresses that are not associated with anything."""

    name = "release_elastic_ips"
    title = "Release Elastic IPs"
    risk = "medium"
    permissions = ("ec2:DescribeAddresses", "ec2:ReleaseAddress")
    params = (
        ParamSpec(
            "allocation_ids",
            "str_list",
            pattern=r"eipalloc-[0-9a-f]{8,17}",
            help="Elastic IP allocation ids",
        ),
    )
    required_state = "unassociated"
    noun = "Elastic IP"
    verb = "release"
    api = "release_address"
    id_param = "AllocationId"
    describe_permission = "ec2:DescribeAddresses"

    describe_api = "describe_addresses"
    list_key = "Addresses"

    def summarize(self, item: dict[str, Any]) -> dict[str, Any]:
        """Whether the address is associated, and its public IP."""
        state = "associated" if item.get("AssociationId") else "unassociated"
        return {
            "state": state,
            "line": f"{item.get('PublicIp', '?')}, {state}",
            "monthly": EIP_MONTHLY_USD,
        }


def _describe_existing(
    call: Any, id_arg: str, ids: list[str], list_key: str, id_key: str
) -> list[dict[str, Any]]:
    """Describe ids one by one so that a missing id leaves the others described (AWS fails the whole call)."""
    found = []
    for rid in ids:
        try:
            found.extend(call(**{id_arg: [rid]}).get(list_key, []))
        except ClientError as exc:
            if "NotFound" in error_code(exc) or "Malformed" in error_code(exc):
                continue
            raise
    return [item for item in found if item.get(id_key) in ids]
