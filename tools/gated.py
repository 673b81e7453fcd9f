"""The agent's mutating tools: each one only files an approval request and waits.

None of these tools calls AWS or Slack to change anything. Each hands its exact
parameters to the approval gate (bot/agent/gate.py), which files a request through the
approvals engine (the card shows exactly what will run), pauses the agent's run, and
returns the outcome once a human has decided and the engine has run (or not run) the
action. Names and parameters are those of the action units in tools/actions.
"""

from __future__ import annotations

from typing import Any

from strands import ToolContext, tool

from bot.agent.gate import ApprovalGate


class GatedTools:
    """The gated tools of one question, bound to its Deps, asker and thread."""

    def __init__(self, deps: Any, question: Any, record: Any):
        self.gate = ApprovalGate(deps, question, record)
        alerts = deps.settings.section("alerts")
        self.alerts_channel = str(alerts.get("channel", "")) if alerts else ""

    def tools(self) -> list[Any]:
        """Every gated tool, ready for `Agent(tools=...)`."""
        return [
            self.stop_ec2_instances,
            self.start_ec2_instances,
            self.reboot_rds_instance,
            self.stop_rds_instance,
            self.start_rds_instance,
            self.apply_s3_lifecycle,
            self.approve_spend,
            self.propose_remediation,
        ]

    @tool(context=True)
    def stop_ec2_instances(
        self, instance_ids: list[str], reason: str, tool_context: ToolContext
    ) -> dict[str, Any]:
        """Ask a human to approve stopping EC2 instances; nothing stops until someone approves.

        The run pauses until the request is decided; you then get the outcome to report.

        Args:
            instance_ids: Instance ids such as ["i-0123456789abcdef0"] (max 20).
            reason: One line for the approver: why, with the evidence (e.g. "CPU < 2% for 14 days").
        """
        return self.gate.propose(
            tool_context, "stop_ec2_instances", {"instance_ids": instance_ids}, reason
        )

    @tool(context=True)
    def start_ec2_instances(
        self, instance_ids: list[str], reason: str, tool_context: ToolContext
    ) -> dict[str, Any]:
        """Ask a human to approve starting stopped EC2 instances.

        Args:
            instance_ids: Instance ids such as ["i-0123456789abcdef0"] (max 20).
            reason: One line for the approver.
        """
        return self.gate.propose(
            tool_context, "start_ec2_instances", {"instance_ids": instance_ids}, reason
        )

    @tool(context=True)
    def reboot_rds_instance(
        self,
        db_instance_id: str,
        reason: str,
        tool_context: ToolContext,
        force_failover: bool = False,
    ) -> dict[str, Any]:
        """Ask a human to approve rebooting an RDS instance (brief outage; drops all connections).

        Args:
            db_instance_id: The DB instance identifier, e.g. "orders-db".
            reason: One line for the approver, with the evidence.
            force_failover: Reboot with failover (Multi-AZ instances only).
        """
        params = {"db_instance_id": db_instance_id, "force_failover": force_failover}
        return self.gate.propose(tool_context, "reboot_rds_instance", params, reason)

    @tool(context=True)
    def stop_rds_instance(
        self, db_instance_id: str, reason: str, tool_context: ToolContext
    ) -> dict[str, Any]:
        """Ask a human to approve stopping an RDS instance (AWS restarts it after 7 days).

        Args:
            db_instance_id: The DB instance identifier.
            reason: One line for the approver.
        """
        return self.gate.propose(
            tool_context, "stop_rds_instance", {"db_instance_id": db_instance_id}, reason
        )

    @tool(context=True)
    def start_rds_instance(
        self, db_instance_id: str, reason: str, tool_context: ToolContext
    ) -> dict[str, Any]:
        """Ask a human to approve starting a stopped RDS instance.

        Args:
            db_instance_id: The DB instance identifier.
            reason: One line for the approver.
        """
        return self.gate.propose(
            tool_context, "start_rds_instance", {"db_instance_id": db_instance_id}, reason
        )

    @tool(context=True)
    def apply_s3_lifecycle(
        self,
        bucket: str,
        reason: str,
        tool_context: ToolContext,
        prefix: str = "",
        glacier_days: int | None = None,
        expire_days: int | None = None,
    ) -> dict[str, Any]:
        """Ask a human to approve a lifecycle rule on an S3 bucket (other rules are kept).

        Args:
            bucket: Bucket name.
            reason: One line for the approver (e.g. "2.1 TB of logs in STANDARD, never read").
            prefix: Key prefix the rule applies to ("" for the whole bucket).
            glacier_days: Move objects to Glacier after this many days.
            expire_days: Delete objects after this many days (must be after glacier_days).
        """
        params: dict[str, Any] = {"bucket": bucket, "prefix": prefix}
        if glacier_days is not None:
            params["glacier_days"] = glacier_days
        if expire_days is not None:
            params["expire_days"] = expire_days
        return self.gate.propose(tool_context, "apply_s3_lifecycle", params, reason)

    @tool(context=True)
    def approve_spend(
        self,
        amount_usd: float,
        purpose: str,
        reason: str,
        tool_context: ToolContext,
        account: str | None = None,
        service: str | None = None,
    ) -> dict[str, Any]:
        """Ask a human to approve a planned spend (recorded; budget alerts refer to it).

        Args:
            amount_usd: Amount in US dollars.
            purpose: What the money is for.
            reason: One line for the approver.
            account: Optional 12-digit AWS account id.
            service: Optional service name.
        """
        params: dict[str, Any] = {"amount_usd": amount_usd, "purpose": purpose}
        if account:
            params["account"] = account
        if service:
            params["service"] = service
        return self.gate.propose(tool_context, "approve_spend", params, reason)

    @tool(context=True)
    def propose_remediation(
        self, steps: list[dict[str, Any]], reason: str, tool_context: ToolContext
    ) -> dict[str, Any]:
        """Ask a human to approve several actions as one chain, run in order, stopping at a failure.

        Use for incident remediation, e.g. reboot the database, then post an incident summary:
        [{"action": "reboot_rds_instance", "params": {"db_instance_id": "orders-db"}},
         {"action": "post_incident_summary", "params": {"channel": "<alerts channel id>", "text": "..."}}]
        Actions: reboot_rds_instance, stop_rds_instance, start_rds_instance, stop_ec2_instances,
        start_ec2_instances, apply_s3_lifecycle, approve_spend, post_incident_summary (max 5 steps).

        Args:
            steps: The ordered steps, each {"action": name, "params": {...}}.
            reason: One line for the approver: the cause and the evidence.
        """
        fixed = [self._with_alerts_channel(step) for step in steps]
        return self.gate.propose(tool_context, "chain", {"steps": fixed}, reason)

    def _with_alerts_channel(self, step: dict[str, Any]) -> dict[str, Any]:
        """Fill in the configured alerts channel when the model left an incident post's channel out."""
        if (
            not isinstance(step, dict)
            or step.get("action") != "post_incident_summary"
            or not self.alerts_channel
        ):
            return step
        params = dict(step.get("params") or {})
        if not str(params.get("channel", "")).startswith(("C", "G", "D")):
            params["channel"] = self.alerts_channel
        return {**step, "params": params}
