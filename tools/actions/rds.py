"""`reboot_rds_instance` (optionally forcing a Multi-AZ failover), `stop_rds_instance`,
`start_rds_instance`: one DB instance per request.

RDS has no DryRun flag, so a dry run re-checks the instance and describes exactly the
call it would have made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.actions.base import (
    OUTCOME_ERROR,
    OUTCOME_OK,
    ActionContext,
    ActionError,
    ActionUnit,
    ParamError,
    ParamSpec,
    Preview,
    ResourceOutcome,
    TargetChanged,
    describe_aws_error,
    error_code,
)
from tools.actions.pricing import ESTIMATE_NOTE, RDS_HOURLY_USD, monthly_usd

DB_ID = r"[a-zA-Z][a-zA-Z0-9-]{0,62}"
DB_INSTANCE = ParamSpec("db_instance_id", "str", pattern=DB_ID, help="RDS DB instance identifier")


class RdsInstanceAction(ActionUnit):
    """Shared shape: one DB instance that must be in `from_state` to act."""

    from_state = "available"
    verb = ""
    api = ""
    api_name = ""
    params: tuple[ParamSpec, ...] = (DB_INSTANCE,)

    def describe_db(self, ctx: ActionContext, db_id: str) -> dict[str, Any]:
        """The instance's description; ActionError when it does not exist or AWS refuses."""
        try:
            return ctx.client("rds").describe_db_instances(DBInstanceIdentifier=db_id)[
                "DBInstances"
            ][0]
        except ClientError as exc:
            if error_code(exc) == "DBInstanceNotFound":
                raise ActionError(f"RDS instance {db_id} not found in {ctx.region}") from exc
            raise ActionError(describe_aws_error(exc, "rds:DescribeDBInstances")) from exc
        except BotoCoreError as exc:
            raise ActionError(describe_aws_error(exc)) from exc

    def monthly_effect(self, db: dict[str, Any]) -> float | None:
        """Estimated monthly $ change (override)."""
        return 0.0

    def call_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        """The exact API arguments this action sends."""
        return {"DBInstanceIdentifier": params["db_instance_id"]}

    def preview(self, ctx: ActionContext, params: dict[str, Any]) -> Preview:
        """The instance's status, class and Multi-AZ setting; refuses if it cannot act now."""
        db_id = params["db_instance_id"]
        db = self.describe_db(ctx, db_id)
        status = db["DBInstanceStatus"]
        if status != self.from_state:
            raise ActionError(
                f"RDS instance {db_id} is {status}; it must be {self.from_state} to {self.verb}"
            )
        self.check_target(db, params)
        multi = "Multi-AZ" if db.get("MultiAZ") else "single-AZ"
        return Preview(
            summary=f"{self.verb.capitalize()} RDS instance {db_id} in {ctx.region}",
            current_state=(
                f"`{db_id}`: {status}, {db.get('DBInstanceClass', '?')}, {db.get('Engine', '?')}, {multi}",
            ),
            monthly_usd_effect=self.monthly_effect(db),
            expected={db_id: status},
            estimate_note=ESTIMATE_NOTE,
        )

    def check_target(self, db: dict[str, Any], params: dict[str, Any]) -> None:
        """Action-specific target checks (override); raise ActionError."""

    def validate(
        self, ctx: ActionContext, params: dict[str, Any], expected: Mapping[str, str]
    ) -> None:
        """The instance still exists and has the status the card showed."""
        db_id = params["db_instance_id"]
        try:
            db = self.describe_db(ctx, db_id)
        except ActionError as exc:
            raise TargetChanged(str(exc)) from exc
        want = expected.get(db_id, self.from_state)
        if db["DBInstanceStatus"] != want:
            raise TargetChanged(f"{db_id} is now {db['DBInstanceStatus']} (the card showed {want})")

    def execute(
        self, ctx: ActionContext, params: dict[str, Any], dry_run: bool
    ) -> list[ResourceOutcome]:
        """Make the one RDS call with the stored parameters (or describe it in a dry run)."""
        db_id = params["db_instance_id"]
        kwargs = self.call_kwargs(params)
        if dry_run:
            args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
            return [
                ResourceOutcome(db_id, OUTCOME_OK, f"DRY RUN: would call {self.api_name}({args})")
            ]
        try:
            response = getattr(ctx.client("rds"), self.api)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            return [
                ResourceOutcome(
                    db_id, OUTCOME_ERROR, describe_aws_error(exc, f"rds:{self.api_name}")
                )
            ]
        status = response.get("DBInstance", {}).get("DBInstanceStatus", "requested")
        return [ResourceOutcome(db_id, OUTCOME_OK, f"{self.verb} requested; status now {status}")]


class RebootRdsInstance(RdsInstanceAction):
    """Reboot a DB instance; `force_failover` fails over to the standby (Multi-AZ only)."""

    name = "reboot_rds_instance"
    title = "Reboot RDS instance"
    risk = "high"
    permissions = ("rds:DescribeDBInstances", "rds:RebootDBInstance")
    verb = "reboot"
    api = "reboot_db_instance"
    api_name = "RebootDBInstance"
    params = (DB_INSTANCE, ParamSpec("force_failover", "bool", required=False, default=False))

    def call_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        """Only send ForceFailover when asked (it is invalid on single-AZ instances)."""
        kwargs = super().call_kwargs(params)
        if params.get("force_failover"):
            kwargs["ForceFailover"] = True
        return kwargs

    def check_target(self, db: dict[str, Any], params: dict[str, Any]) -> None:
        """A failover needs a standby."""
        if params.get("force_failover") and not db.get("MultiAZ"):
            raise ParamError(
                f"{db['DBInstanceIdentifier']} is single-AZ, so it has no standby to fail over to; "
                "reboot without --failover"
            )


class StopRdsInstance(RdsInstanceAction):
    """Stop a DB instance (AWS starts it again automatically after 7 days)."""

    name = "stop_rds_instance"
    title = "Stop RDS instance"
    risk = "high"
    permissions = ("rds:DescribeDBInstances", "rds:StopDBInstance")
    verb = "stop"
    api = "stop_db_instance"
    api_name = "StopDBInstance"

    def monthly_effect(self, db: dict[str, Any]) -> float | None:
        """Saves the instance-hours (storage is still charged)."""
        monthly = monthly_usd(
            RDS_HOURLY_USD, db.get("DBInstanceClass", ""), bool(db.get("MultiAZ"))
        )
        return None if monthly is None else -monthly


class StartRdsInstance(RdsInstanceAction):
    """Start a stopped DB instance."""

    name = "start_rds_instance"
    title = "Start RDS instance"
    risk = "low"
    permissions = ("rds:DescribeDBInstances", "rds:StartDBInstance")
    from_state = "stopped"
    verb = "start"
    api = "start_db_instance"
    api_name = "StartDBInstance"

    def monthly_effect(self, db: dict[str, Any]) -> float | None:
        """Adds the instance-hours back."""
        return monthly_usd(RDS_HOURLY_USD, db.get("DBInstanceClass", ""), bool(db.get("MultiAZ")))
