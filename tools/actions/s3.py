"""`apply_s3_lifecycle`: move objects under a prefix to Glacier after N days and/or expire
them after M days, merged into the bucket's existing rules instead of replacing them.

S3's PutBucketLifecycleConfiguration replaces the whole configuration, so Penny reads the
current rules, drops only the rule with Penny's id or the same prefix, and writes the
rest back with the new rule. The preview fingerprints the current rules; if they change
before execution, the action stops rather than overwrite someone else's edit.
"""

from __future__ import annotations

import hashlib
import json
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

BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
MAX_RULES = 1000


def penny_rule_id(prefix: str) -> str:
    """The id of the rule Penny manages for a prefix."""
    return f"penny-{prefix or 'whole-bucket'}"[:255]


def rule_prefix(rule: Mapping[str, Any]) -> str | None:
    """The prefix a rule applies to ('' for the whole bucket), None for tag/size filters."""
    if "Prefix" in rule:
        return str(rule["Prefix"])
    flt = rule.get("Filter")
    if flt is None or flt == {}:
        return ""
    if set(flt) == {"Prefix"}:
        return str(flt["Prefix"])
    return None


def build_rule(params: Mapping[str, Any]) -> dict[str, Any]:
    """Penny's rule for these parameters."""
    rule: dict[str, Any] = {
        "ID": penny_rule_id(params.get("prefix", "")),
        "Filter": {"Prefix": params.get("prefix", "")},
        "Status": "Enabled",
    }
    if params.get("glacier_days"):
        rule["Transitions"] = [{"Days": params["glacier_days"], "StorageClass": "GLACIER"}]
    if params.get("expire_days"):
        rule["Expiration"] = {"Days": params["expire_days"]}
    return rule


def merge_rules(
    existing: list[dict[str, Any]], new_rule: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Existing rules minus the ones the new rule supersedes (same id or same prefix), plus it.

    Returns (merged rules, ids of the replaced rules).
    """
    prefix = new_rule["Filter"]["Prefix"]
    kept, replaced = [], []
    for rule in existing:
        if rule.get("ID") == new_rule["ID"] or rule_prefix(rule) == prefix:
            replaced.append(str(rule.get("ID", "(no id)")))
        else:
            kept.append(rule)
    return [*kept, new_rule], replaced


def fingerprint(rules: list[dict[str, Any]]) -> str:
    """A short hash of the rules, to notice a change between preview and execution."""
    return hashlib.sha256(json.dumps(rules, sort_keys=True, default=str).encode()).hexdigest()[:16]


def describe_rule(rule: Mapping[str, Any]) -> str:
    """`logs/: Glacier after 30 d, expire after 365 d (Enabled)` for the card."""
    prefix = rule_prefix(rule)
    where = "other filter" if prefix is None else (prefix or "whole bucket")
    parts = [
        f"{t.get('StorageClass')} after {t.get('Days')} d" for t in rule.get("Transitions", [])
    ]
    if "Expiration" in rule:
        parts.append(f"expire after {rule['Expiration'].get('Days', '?')} d")
    return f"`{rule.get('ID', '(no id)')}` {where}: {', '.join(parts) or 'other settings'} ({rule.get('Status')})"


class ApplyS3Lifecycle(ActionUnit):
    """Add or replace Penny's lifecycle rule for one prefix of a bucket, keeping other rules."""

    name = "apply_s3_lifecycle"
    title = "Apply S3 lifecycle rule"
    risk = "medium"
    permissions = ("s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration")
    params = (
        ParamSpec("bucket", "str", pattern=BUCKET, help="bucket name"),
        ParamSpec(
            "prefix",
            "str",
            required=False,
            default="",
            pattern=r"[\w!\-./*'()]{0,200}",
            help="key prefix",
        ),
        ParamSpec("glacier_days", "int", required=False, minimum=1, maximum=3650),
        ParamSpec("expire_days", "int", required=False, minimum=1, maximum=36500),
    )

    def check_combination(self, params: dict[str, Any]) -> None:
        """At least one of the two; objects must reach Glacier before they expire."""
        glacier, expire = params.get("glacier_days"), params.get("expire_days")
        if glacier is None and expire is None:
            raise ParamError("apply_s3_lifecycle needs --glacier-days, --expire-days or both")
        if glacier is not None and expire is not None and expire <= glacier:
            raise ParamError(f"expire_days ({expire}) must be later than glacier_days ({glacier})")

    def risk_for(self, params: Mapping[str, Any]) -> str:
        """Expiring objects deletes data: high risk."""
        return "high" if params.get("expire_days") else "medium"

    def current_rules(self, ctx: ActionContext, bucket: str) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules now ([] when none); ActionError for a missing bucket."""
        s3 = ctx.client("s3")
        try:
            return list(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
        except ClientError as exc:
            code = error_code(exc)
            if code == "NoSuchLifecycleConfiguration":
                return []
            if code in ("NoSuchBucket", "404"):
                raise ActionError(f"S3 bucket {bucket} does not exist") from exc
            raise ActionError(describe_aws_error(exc, "s3:GetLifecycleConfiguration")) from exc
        except BotoCoreError as exc:
            raise ActionError(describe_aws_error(exc)) from exc

    def preview(self, ctx: ActionContext, params: dict[str, Any]) -> Preview:
        """Show the existing rules and what the merge will replace or keep."""
        bucket = params["bucket"]
        rules = self.current_rules(ctx, bucket)
        new_rule = build_rule(params)
        merged, replaced = merge_rules(rules, new_rule)
        if len(merged) > MAX_RULES:
            raise ActionError(
                f"{bucket} already has {len(rules)} lifecycle rules; S3 allows {MAX_RULES}"
            )
        lines = (
            [f"Existing rules ({len(rules)}):", *(f"• {describe_rule(r)}" for r in rules)]
            if rules
            else ["No lifecycle rules yet."]
        )
        change = f"replaces {', '.join(replaced)}" if replaced else "adds a rule"
        lines.append(
            f"New: {describe_rule(new_rule)} ({change}; {len(merged) - 1} other rule(s) kept)"
        )
        return Preview(
            summary=f"Apply a lifecycle rule to s3://{bucket}/{params.get('prefix', '')}",
            current_state=tuple(lines),
            monthly_usd_effect=None,
            expected={bucket: fingerprint(rules)},
            estimate_note="savings depend on object sizes and access; not computed",
        )

    def validate(
        self, ctx: ActionContext, params: dict[str, Any], expected: Mapping[str, str]
    ) -> None:
        """The bucket's rules are the ones the card showed."""
        bucket = params["bucket"]
        try:
            rules = self.current_rules(ctx, bucket)
        except ActionError as exc:
            raise TargetChanged(str(exc)) from exc
        if bucket in expected and fingerprint(rules) != expected[bucket]:
            raise TargetChanged(
                f"the lifecycle rules of {bucket} changed since the card was posted"
            )

    def execute(
        self, ctx: ActionContext, params: dict[str, Any], dry_run: bool
    ) -> list[ResourceOutcome]:
        """Write the merged configuration (or describe it in a dry run)."""
        bucket = params["bucket"]
        try:
            merged, replaced = merge_rules(self.current_rules(ctx, bucket), build_rule(params))
        except ActionError as exc:
            return [ResourceOutcome(bucket, OUTCOME_ERROR, str(exc))]
        what = f"{len(merged)} rule(s), replacing {', '.join(replaced) or 'none'}"
        if dry_run:
            return [ResourceOutcome(bucket, OUTCOME_OK, f"DRY RUN: would write {what}")]
        try:
            ctx.client("s3").put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": merged}
            )
        except (ClientError, BotoCoreError) as exc:
            return [
                ResourceOutcome(
                    bucket, OUTCOME_ERROR, describe_aws_error(exc, "s3:PutLifecycleConfiguration")
                )
            ]
        return [ResourceOutcome(bucket, OUTCOME_OK, f"wrote {what}")]
