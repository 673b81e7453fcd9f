"""The dependencies handed to every listener, job and tool: built once by bot.app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.store import Store


def system_clock() -> datetime:
    """The real time, timezone-aware (UTC)."""
    return datetime.now(UTC)


@dataclass
class Deps:
    """What a listener, job or tool needs; fields are filled in by the composition root.

    `aws` is a boto3 session factory (call it to get a boto3.Session); `clock` returns an
    aware datetime so tests can control time. Area engines (cost, approvals, agent,
    scheduler) are attached as they are built.
    """

    settings: Settings
    store: Store
    slack: WebClient
    aws: Callable[[], Any]
    clock: Callable[[], datetime] = system_clock
    cost: Any = None
    approvals: Any = None
    agent: Any = None
    jobs: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def today(self) -> date:
        """Today's date in PENNY_TIMEZONE."""
        return self.clock().astimezone(self.settings.tz).date()
