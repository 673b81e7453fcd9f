"""Penny's configuration: one frozen Settings object, built once by the composition root.

Settings come from the environment (and a `.env` file, loaded by the caller), plus an
optional TOML file (`PENNY_CONFIG`) for schedules, budgets and approval policy. Every
problem is collected, so a bad start-up names all of them at once with how to fix each.
Nothing here runs at import time.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COST_METRICS = (
    "UnblendedCost",
    "BlendedCost",
    "AmortizedCost",
    "NetAmortizedCost",
    "NetUnblendedCost",
)
LLM_PROVIDERS = ("none", "bedrock", "openai", "anthropic", "ollama")
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """The configuration is missing or malformed; `problems` lists each one with its fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"Penny cannot start, the configuration has {len(problems)} problem(s):\n{lines}"
        )


@dataclass(frozen=True)
class Settings:
    """Everything Penny reads from its environment, validated, immutable."""

    slack_bot_token: str
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    db_path: str = "penny.db"
    config_path: str | None = None
    timezone: str = "UTC"
    cost_metric: str = "UnblendedCost"
    approvers: tuple[str, ...] = ()
    approval_ttl: timedelta = timedelta(hours=1)
    dry_run: bool = True
    llm: str = "none"
    llm_model: str = ""
    llm_daily_budget_usd: float = 5.0
    aws_region: str | None = None
    otel_endpoint: str | None = None
    file_config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def tz(self) -> ZoneInfo:
        """The time zone in which "today" and schedules are read."""
        return ZoneInfo(self.timezone)

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level table of the TOML config (`[jobs]`, `[budgets]`, `[approvals]`...), or {}."""
        value = self.file_config.get(name, {})
        return value if isinstance(value, Mapping) else {}

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict safe for logs: secrets are masked."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in {"slack_bot_token", "slack_signing_secret", "slack_app_token"}:
                value = mask_secret(value)
            elif name == "file_config":
                value = sorted(value)
            out[name] = value
        return out


def mask_secret(value: str) -> str:
    """Show only enough of a secret to tell which one it is."""
    if not value:
        return ""
    return value[:5] + "…" if len(value) > 8 else "…"


def parse_duration(text: str) -> timedelta:
    """Parse `90s`, `15m`, `1h` or `2d` into a timedelta; ValueError otherwise."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(text)
    return timedelta(seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)])


def load_settings(env: Mapping[str, str], *, require_signing_secret: bool = False) -> Settings:
    """Build Settings from an environment mapping, or raise ConfigError naming every problem.

    `require_signing_secret` is set by the HTTP modes, which must verify every request.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}

    token = env.get("SLACK_BOT_TOKEN", "").strip()
    if not token:
        problems.append(
            "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) from your Slack app's OAuth & Permissions page."
        )
    elif not token.startswith("xoxb-"):
        problems.append(
            "SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-' (OAuth & Permissions page of your Slack app)."
        )
    values["slack_bot_token"] = token

    secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    if require_signing_secret and not secret:
        problems.append(
            "SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request; copy it from Basic Information > App Credentials."
        )
    values["slack_signing_secret"] = secret

    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if app_token and not app_token.startswith("xapp-"):
        problems.append(
            "SLACK_APP_TOKEN must be an app-level token starting with 'xapp-' (Basic Information > App-Level Tokens, scope connections:write)."
        )
    values["slack_app_token"] = app_token

    api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    if not api_url.startswith(("http://", "https://")):
        problems.append(f"SLACK_API_URL must be an http(s) URL, got {api_url!r}.")
    values["slack_api_url"] = api_url if api_url.endswith("/") else api_url + "/"

    port = env.get("PORT", "3000").strip() or "3000"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        problems.append(f"PORT must be a number between 0 and 65535, got {port!r}.")
    else:
        values["port"] = int(port)

    values["db_path"] = env.get("PENNY_DB", "").strip() or "penny.db"

    tz = env.get("PENNY_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(tz)
        values["timezone"] = tz
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"PENNY_TIMEZONE {tz!r} is not an IANA time zone (for example UTC, Europe/Berlin, America/New_York)."
        )

    metric = env.get("PENNY_COST_METRIC", "").strip() or "UnblendedCost"
    if metric not in COST_METRICS:
        problems.append(
            f"PENNY_COST_METRIC {metric!r} is not a Cost Explorer metric; use one of {', '.join(COST_METRICS)}."
        )
    values["cost_metric"] = metric

    approvers = tuple(a.strip() for a in env.get("PENNY_APPROVERS", "").split(",") if a.strip())
    bad = [a for a in approvers if not re.fullmatch(r"[UWS][A-Z0-9]{2,}", a)]
    if bad:
        problems.append(
            f"PENNY_APPROVERS must be Slack user or user group ids (U..., W..., S...), comma-separated; not {', '.join(bad)}."
        )
    values["approvers"] = approvers

    ttl = env.get("PENNY_APPROVAL_TTL", "").strip() or "1h"
    try:
        values["approval_ttl"] = parse_duration(ttl)
        if values["approval_ttl"].total_seconds() <= 0:
            raise ValueError(ttl)
    except ValueError:
        problems.append(
            f"PENNY_APPROVAL_TTL {ttl!r} is not a duration; use a number and a unit like 90s, 15m, 1h or 2d."
        )

    dry = (env.get("PENNY_DRY_RUN", "").strip() or "true").lower()
    if dry not in _TRUE | _FALSE:
        problems.append(f"PENNY_DRY_RUN must be true or false, got {dry!r}.")
    values["dry_run"] = dry not in _FALSE

    llm = (env.get("PENNY_LLM", "").strip() or "none").lower()
    if llm not in LLM_PROVIDERS:
        problems.append(
            f"PENNY_LLM {llm!r} is not a provider Penny knows; use one of {', '.join(LLM_PROVIDERS)}."
        )
    values["llm"] = llm
    values["llm_model"] = env.get("PENNY_LLM_MODEL", "").strip()

    budget = env.get("PENNY_LLM_DAILY_BUDGET_USD", "").strip() or "5"
    try:
        values["llm_daily_budget_usd"] = float(budget)
        if values["llm_daily_budget_usd"] < 0:
            raise ValueError(budget)
    except ValueError:
        problems.append(
            f"PENNY_LLM_DAILY_BUDGET_USD must be a non-negative number of dollars, got {budget!r}."
        )

    # botocore itself reads only AWS_DEFAULT_REGION; AWS_REGION (the name DESIGN.md and most
    # AWS tooling use) is honoured here and handed to the session factory.
    values["aws_region"] = (
        env.get("AWS_REGION", "") or env.get("AWS_DEFAULT_REGION", "")
    ).strip() or None

    otel = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if otel and not otel.startswith(("http://", "https://")):
        problems.append(
            f"OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL of an OTLP/HTTP collector, got {otel!r}."
        )
    values["otel_endpoint"] = otel or None

    config_path, file_config = _read_config_file(env, problems)
    values["config_path"] = config_path
    values["file_config"] = MappingProxyType(file_config)

    if problems:
        raise ConfigError(problems)
    return Settings(**values)


def _read_config_file(
    env: Mapping[str, str], problems: list[str]
) -> tuple[str | None, dict[str, Any]]:
    """Read PENNY_CONFIG (or ./penny.toml when present) as TOML."""
    explicit = env.get("PENNY_CONFIG", "").strip()
    path = Path(explicit) if explicit else Path("penny.toml")
    if not path.exists():
        if explicit:
            problems.append(
                f"PENNY_CONFIG points to {explicit!r}, which does not exist; fix the path or unset it."
            )
        return None, {}
    try:
        return str(path), tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        problems.append(f"PENNY_CONFIG {str(path)!r} is not valid TOML: {exc}.")
        return str(path), {}
