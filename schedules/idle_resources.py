"""Idle resources: EC2 with low CPU, stopped instances still paying for volumes, unattached EBS,
unassociated Elastic IPs and old snapshots, each with its estimated monthly saving.

The report is posted once per ISO week (`idle_resources:<year>-W<week>`). Each finding's
button opens an approval request through the approvals engine for the stored parameters
(kept in `idle_findings`, never taken from the button), so nothing changes without an
approver. Buttons are offered for findings in the region Penny's AWS session acts in.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.session import RETRY_CONFIG
from bot.core.blocks.reports import (
    IdleFinding,
    IdleReport,
    build_idle_resources_blocks,
    idle_report_text,
)
from bot.core.schedule_config import IDLE_RESOURCES
from bot.deps import Deps
from bot.store import ledger
from schedules.common import JobResult, aws_error_code, job_config
from schedules.posting import post_once
from tools.actions.cleanup import EIP_MONTHLY_USD, snapshot_monthly_usd, volume_monthly_usd
from tools.actions.pricing import EC2_HOURLY_USD, monthly_usd

logger = logging.getLogger(__name__)

ACTION_LABELS = {
    "stop_ec2_instances": "Request stop",
    "delete_ebs_volumes": "Request delete",
    "delete_ebs_snapshots": "Request delete",
    "release_elastic_ips": "Request release",
}
Check = Callable[[Any, Any, str, datetime, dict[str, Any]], list[dict[str, Any]]]


def report_key(now: datetime) -> str:
    """The once-only key of this week's report."""
    year, week, _ = now.isocalendar()
    return f"idle_resources:{year}-W{week:02d}"


def finding_id(key: str, resource_id: str) -> str:
    """A short, stable id for a finding in one report (what the button carries)."""
    return "f" + hashlib.sha256(f"{key}|{resource_id}".encode()).hexdigest()[:20]


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def idle_instances(
    ec2: Any, cloudwatch: Any, region: str, now: datetime, opts: dict[str, Any]
) -> list[dict[str, Any]]:
    """Running instances whose daily average CPU stayed under the threshold over the lookback."""
    threshold = float(opts["cpu_threshold_percent"])
    days = int(opts["cpu_lookback_days"])
    found = []
    for instance in _instances(ec2, "running"):
        stats = cloudwatch.get_metric_statistics(
            Namespace="AWS/EC2",
            MetricName="CPUUtilization",
            Dimensions=[{"Name": "InstanceId", "Value": instance["InstanceId"]}],
            StartTime=now - timedelta(days=days),
            EndTime=now,
            Period=86400,
            Statistics=["Average"],
        )
        averages = [p["Average"] for p in stats.get("Datapoints", [])]
        # Fewer than half the days measured: too little evidence to call it idle.
        if len(averages) < max(1, days // 2):
            continue
        mean = sum(averages) / len(averages)
        if mean >= threshold or max(averages) >= 2 * threshold:
            continue
        itype = instance.get("InstanceType", "?")
        found.append(
            _finding(
                "idle_instance",
                instance["InstanceId"],
                f"{itype}{_name(instance)}, average CPU {mean:.1f}% over {len(averages)} days",
                monthly_usd(EC2_HOURLY_USD, itype),
                action="stop_ec2_instances",
                param="instance_ids",
            )
        )
    return found


def stopped_instances(
    ec2: Any, cloudwatch: Any, region: str, now: datetime, opts: dict[str, Any]
) -> list[dict[str, Any]]:
    """Stopped instances whose EBS volumes are still billed."""
    found = []
    for instance in _instances(ec2, "stopped"):
        volume_ids = [
            m["Ebs"]["VolumeId"]
            for m in instance.get("BlockDeviceMappings", [])
            if m.get("Ebs", {}).get("VolumeId")
        ]
        if not volume_ids:
            continue
        volumes = ec2.describe_volumes(VolumeIds=volume_ids).get("Volumes", [])
        size = sum(v["Size"] for v in volumes)
        costs = [volume_monthly_usd(v["Size"], v.get("VolumeType", "")) for v in volumes]
        found.append(
            _finding(
                "stopped_instance",
                instance["InstanceId"],
                f"stopped {instance.get('InstanceType', '?')}{_name(instance)} with {len(volumes)} volume(s), {size} GiB still billed; snapshot and terminate it if it is no longer needed",
                None if None in costs else round(sum(c or 0.0 for c in costs), 2),
            )
        )
    return found


def unattached_volumes(
    ec2: Any, cloudwatch: Any, region: str, now: datetime, opts: dict[str, Any]
) -> list[dict[str, Any]]:
    """EBS volumes attached to nothing (state `available`)."""
    found = []
    for page in ec2.get_paginator("describe_volumes").paginate(
        Filters=[{"Name": "status", "Values": ["available"]}]
    ):
        for volume in page.get("Volumes", []):
            vtype = volume.get("VolumeType", "?")
            found.append(
                _finding(
                    "unattached_volume",
                    volume["VolumeId"],
                    f"{volume['Size']} GiB {vtype}, attached to nothing{_name(volume)}",
                    volume_monthly_usd(volume["Size"], vtype),
                    action="delete_ebs_volumes",
                    param="volume_ids",
                )
            )
    return found


def unassociated_eips(
    ec2: Any, cloudwatch: Any, region: str, now: datetime, opts: dict[str, Any]
) -> list[dict[str, Any]]:
    """Elastic IPs associated with nothing (billed as idle public IPv4)."""
    found = []
    for address in ec2.describe_addresses().get("Addresses", []):
        if address.get("AssociationId") or not address.get("AllocationId"):
            continue
        found.append(
            _finding(
                "unassociated_eip",
                address["AllocationId"],
                f"Elastic IP {address.get('PublicIp', '?')} associated with nothing",
                EIP_MONTHLY_USD,
                action="release_elastic_ips",
                param="allocation_ids",
            )
        )
    return found


def old_snapshots(
    ec2: Any, cloudwatch: Any, region: str, now: datetime, opts: dict[str, Any]
) -> list[dict[str, Any]]:
    """This account's snapshots older than `snapshot_age_days`."""
    cutoff = now - timedelta(days=int(opts["snapshot_age_days"]))
    found = []
    for page in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"]):
        for snap in page.get("Snapshots", []):
            started = snap.get("StartTime")
            if started is None or started >= cutoff or snap.get("State") != "completed":
                continue
            age = (now - started).days
            found.append(
                _finding(
                    "old_snapshot",
                    snap["SnapshotId"],
                    f"{snap.get('VolumeSize', 0)} GiB, {age} days old"
                    + (f" ({snap['Description'][:80]})" if snap.get("Description") else ""),
                    snapshot_monthly_usd(int(snap.get("VolumeSize", 0))),
                    action="delete_ebs_snapshots",
                    param="snapshot_ids",
                )
            )
    return found


CHECKS: tuple[tuple[str, Check], ...] = (
    ("low-CPU instances", idle_instances),
    ("stopped instances", stopped_instances),
    ("unattached volumes", unattached_volumes),
    ("Elastic IPs", unassociated_eips),
    ("snapshots", old_snapshots),
)


def _finding(
    kind: str,
    resource_id: str,
    description: str,
    monthly: float | None,
    action: str | None = None,
    param: str = "",
) -> dict[str, Any]:
    """One finding as the checks return it; `param` names the action's id-list parameter."""
    return {
        "kind": kind,
        "resource_id": resource_id,
        "description": description,
        "monthly_usd": monthly,
        "action": action,
        "params": {param: [resource_id]} if action else {},
    }


def _instances(ec2: Any, state: str) -> list[dict[str, Any]]:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": [state]}]
    )
    return [
        i for page in pages for r in page.get("Reservations", []) for i in r.get("Instances", [])
    ]


def _name(resource: dict[str, Any]) -> str:
    for tag in resource.get("Tags", []) or []:
        if tag.get("Key") == "Name":
            return f" ({str(tag.get('Value', ''))[:60]})"
    return ""


def find_idle_resources(
    deps: Deps, now: datetime, opts: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str], str, list[str]]:
    """Run every check in every region: (findings with region, regions, acting region, notes)."""
    session = deps.aws()
    acting_region = session.region_name or "us-east-1"
    regions = list(opts["regions"]) or [acting_region]
    findings: list[dict[str, Any]] = []
    notes: list[str] = []
    for region in regions:
        ec2 = session.client("ec2", region_name=region, config=RETRY_CONFIG)
        cloudwatch = session.client("cloudwatch", region_name=region, config=RETRY_CONFIG)
        for label, check in CHECKS:
            try:
                found = check(ec2, cloudwatch, region, now, opts)
            except (ClientError, BotoCoreError) as exc:
                code = aws_error_code(exc)
                logger.warning(
                    "region=<%s>, check=<%s>, error=<%s> | idle check failed", region, label, code
                )
                notes.append(f"{label} in {region} not checked ({code}).")
                continue
            findings.extend({**f, "region": region} for f in found)
    return findings, regions, acting_region, notes


def by_savings(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings with the biggest estimated monthly savings first (then by resource id)."""
    return sorted(raw, key=lambda f: (-(f["monthly_usd"] or 0.0), f["resource_id"]))


def idle_report(
    deps: Deps,
    now: datetime,
    opts: dict[str, Any],
    findings: list[IdleFinding] | tuple[IdleFinding, ...],
    regions: list[str],
    notes: list[str],
) -> IdleReport:
    """The report for these findings, stating the thresholds they were found with."""
    return IdleReport(
        findings=tuple(findings),
        regions=tuple(regions),
        as_of=now.astimezone(deps.settings.tz),
        cpu_threshold_percent=float(opts["cpu_threshold_percent"]),
        cpu_lookback_days=int(opts["cpu_lookback_days"]),
        snapshot_age_days=int(opts["snapshot_age_days"]),
        notes=tuple(notes),
    )


def run_idle_resources(deps: Deps, now: datetime) -> JobResult:
    """Find idle resources and post this week's report once, with a button per actionable finding."""
    job = job_config(deps, IDLE_RESOURCES)
    result = JobResult(job=IDLE_RESOURCES)
    key = report_key(now)
    if ledger.is_claimed(deps.store, key):
        result.duplicates += 1
        return result
    opts = dict(job.settings)
    raw, regions, acting_region, notes = find_idle_resources(deps, now, opts)
    findings = []
    for item in by_savings(raw):
        fid = finding_id(key, item["resource_id"])
        action = item["action"] if item["region"] == acting_region else None
        if action:
            ledger.save_finding(
                deps.store,
                {
                    **item,
                    "id": fid,
                    "report_key": key,
                    "action": action,
                    "summary": item["description"],
                },
                now=now,
            )
        findings.append(
            IdleFinding(
                finding_id=fid,
                kind=item["kind"],
                resource_id=item["resource_id"],
                region=item["region"],
                description=item["description"],
                monthly_usd=_money(item["monthly_usd"]),
                action=action,
                action_label=ACTION_LABELS.get(action or "", ""),
            )
        )
    report = idle_report(deps, now, opts, findings, regions, notes)
    posted = post_once(
        deps,
        key,
        job=IDLE_RESOURCES,
        channel=job.channel,
        text=idle_report_text(report),
        blocks=build_idle_resources_blocks(report),
        now=now,
    )
    result.count(posted.status)
    result.notes.extend(notes)
    return result
