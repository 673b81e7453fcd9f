"""Cloud actions that run only from an approved request; `ACTIONS` maps name -> unit."""

from __future__ import annotations

from tools.actions.base import ActionUnit
from tools.actions.chain import Chain
from tools.actions.cleanup import DeleteEbsSnapshots, DeleteEbsVolumes, ReleaseElasticIps
from tools.actions.ec2 import StartEc2Instances, StopEc2Instances
from tools.actions.rds import RebootRdsInstance, StartRdsInstance, StopRdsInstance
from tools.actions.s3 import ApplyS3Lifecycle
from tools.actions.slack_post import PostIncidentSummary
from tools.actions.spend import ApproveSpend


def build_registry() -> dict[str, ActionUnit]:
    """Every action unit by name, with `chain` able to run any of the others."""
    units: list[ActionUnit] = [
        RebootRdsInstance(),
        StopRdsInstance(),
        StartRdsInstance(),
        StopEc2Instances(),
        StartEc2Instances(),
        ApplyS3Lifecycle(),
        ApproveSpend(),
        PostIncidentSummary(),
        DeleteEbsVolumes(),
        DeleteEbsSnapshots(),
        ReleaseElasticIps(),
    ]
    registry = {unit.name: unit for unit in units}
    registry["chain"] = Chain(dict(registry))
    return registry


ACTIONS: dict[str, ActionUnit] = build_registry()
