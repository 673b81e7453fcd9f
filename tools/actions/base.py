"""What every cloud action is made of, in the spirit of cloud-custodian.

An action unit has a name, a parameter schema (types, id formats, ranges), the IAM
permissions it needs, a risk level, and three steps: `preview` (what will happen, the
targets' current state, the estimated monthly $ effect), `validate` (re-check right before
running that the targets are still as the preview saw them) and `execute` (run exactly the
stored parameters, dry run or for real, returning one outcome per resource).

Units never build clients: boto3 clients come from the injected session, Slack from the
injected WebClient, the store from Deps, all carried by `ActionContext`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.session import RETRY_CONFIG
from bot.core.approvals import OUTCOME_ERROR, OUTCOME_OK, OUTCOME_SKIPPED, Preview, ResourceOutcome

__all__ = [
    "OUTCOME_ERROR",
    "OUTCOME_OK",
    "OUTCOME_SKIPPED",
    "ActionContext",
    "ActionError",
    "ActionUnit",
    "ParamError",
    "ParamSpec",
    "Preview",
    "ResourceOutcome",
    "TargetChanged",
    "describe_aws_error",
]

HOURS_PER_MONTH = 730
ACCESS_DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "UnauthorizedAccess",
}


class ActionError(Exception):
    """An action cannot be previewed or run: its target is missing or AWS refused the call."""


class ParamError(ActionError):
    """The parameters do not match the action's schema; the message names the valid choices."""


class TargetChanged(ActionError):
    """The target is no longer in the state the card showed, so Penny will not act on it."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its type (`str`, `int`, `float`, `bool`, `str_list`) and constraints."""

    name: str
    kind: str
    required: bool = True
    default: Any = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_items: int = 20
    max_length: int = 500
    help: str = ""

    def describe(self) -> str:
        """`instance_ids (list of i-[0-9a-f]{8,17}, 1-20 items)` for error messages."""
        bits = [self.kind.replace("str_list", "list")]
        if self.pattern:
            bits.append(f"matching {self.pattern}")
        if self.minimum is not None or self.maximum is not None:
            bits.append(f"from {self.minimum} to {self.maximum}")
        return f"{self.name} ({', '.join(bits)})"


@dataclass
class ActionContext:
    """What a unit may use: the boto3 session, the Slack client, the store, who and when."""

    session: Any
    slack: Any = None
    store: Any = None
    request_id: str = ""
    requested_by: str = ""
    approved_by: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def client(self, service: str) -> Any:
        """A boto3 client from the injected session, with Penny's retry configuration."""
        return self.session.client(service, config=RETRY_CONFIG)

    @property
    def region(self) -> str:
        """The session's region (where the action runs)."""
        return self.session.region_name or "us-east-1"


class ActionUnit:
    """Base class for an action; subclasses set the class attributes and the three steps."""

    name: str = ""
    title: str = ""
    risk: str = "medium"
    permissions: tuple[str, ...] = ()
    params: tuple[ParamSpec, ...] = ()

    def check_params(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and normalise parameters against the schema; ParamError names the valid ones."""
        if not isinstance(raw, Mapping):
            raise ParamError(f"{self.name} takes a mapping of parameters: {self.describe_params()}")
        known = {spec.name: spec for spec in self.params}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ParamError(
                f"{self.name} does not take {', '.join(unknown)}; valid: {self.describe_params()}"
            )
        out: dict[str, Any] = {}
        for spec in self.params:
            if raw.get(spec.name) is None:
                if spec.required:
                    raise ParamError(f"{self.name} needs {spec.describe()}")
                if spec.default is not None:
                    out[spec.name] = spec.default
                continue
            out[spec.name] = _check_value(self.name, spec, raw[spec.name])
        self.check_combination(out)
        return out

    def check_combination(self, params: dict[str, Any]) -> None:
        """Cross-field rules (override); raise ParamError."""

    def describe_params(self) -> str:
        """Every parameter with its type, for error messages."""
        return "; ".join(spec.describe() for spec in self.params)

    def risk_for(self, params: Mapping[str, Any]) -> str:
        """The risk of running with these params (a chain takes its riskiest step)."""
        return self.risk

    def permissions_for(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """IAM permissions needed with these params."""
        return self.permissions

    def preview(self, ctx: ActionContext, params: dict[str, Any]) -> Preview:
        """What will happen, the current state and the monthly $ effect; ActionError if impossible."""
        raise NotImplementedError

    def validate(
        self, ctx: ActionContext, params: dict[str, Any], expected: Mapping[str, str]
    ) -> None:
        """Re-check the targets against what the preview saw; raise TargetChanged if they moved."""
        raise NotImplementedError

    def execute(
        self, ctx: ActionContext, params: dict[str, Any], dry_run: bool
    ) -> list[ResourceOutcome]:
        """Run exactly `params`; one outcome per resource; never raises for AWS errors."""
        raise NotImplementedError


def _check_value(action: str, spec: ParamSpec, value: Any) -> Any:
    where = f"{action}: {spec.describe()}"
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ParamError(f"{where} must be true or false, got {value!r}")
        return value
    if spec.kind in ("int", "float"):
        return _check_number(where, spec, value)
    if spec.kind == "str_list":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items:
            raise ParamError(f"{where} must be a non-empty list")
        if len(items) > spec.max_items:
            raise ParamError(f"{where} takes at most {spec.max_items} items, got {len(items)}")
        checked = [_check_string(where, spec, item) for item in items]
        return list(dict.fromkeys(checked))
    return _check_string(where, spec, value)


def _check_string(where: str, spec: ParamSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError(f"{where} must be text, got {value!r}")
    text = value.strip()
    if len(text) > spec.max_length:
        raise ParamError(f"{where} is longer than {spec.max_length} characters")
    if spec.pattern and not re.fullmatch(spec.pattern, text):
        raise ParamError(f"{where}: {text!r} does not match")
    return text


def _check_number(where: str, spec: ParamSpec, value: Any) -> int | float:
    if isinstance(value, bool):
        raise ParamError(f"{where} must be a number, got {value!r}")
    try:
        number: int | float = int(value) if spec.kind == "int" else float(value)
    except (TypeError, ValueError):
        raise ParamError(f"{where} must be a number, got {value!r}") from None
    if spec.kind == "int" and isinstance(value, float) and not value.is_integer():
        raise ParamError(f"{where} must be a whole number, got {value!r}")
    if spec.minimum is not None and number < spec.minimum:
        raise ParamError(f"{where} must be at least {spec.minimum}, got {number}")
    if spec.maximum is not None and number > spec.maximum:
        raise ParamError(f"{where} must be at most {spec.maximum}, got {number}")
    return number


def describe_aws_error(exc: Exception, permission: str = "") -> str:
    """A short sentence for an AWS failure: AccessDenied names the missing permission."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code in ACCESS_DENIED_CODES:
            needed = f" (needs {permission})" if permission else ""
            return f"permission problem: {code}{needed}"
        if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded"):
            return f"AWS is throttling requests ({code}) and retries ran out; try again in a minute"
        return f"{code}: {message}" if message else code
    if isinstance(exc, BotoCoreError):
        return f"could not reach AWS: {exc}"
    return str(exc)


def error_code(exc: Exception) -> str:
    """The AWS error code of a ClientError, else ''."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""
