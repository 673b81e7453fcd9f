"""What the core hands back to a listener: blocks plus fallback text, and who should see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A message to post.

    `text` is the notification/fallback text; `ephemeral` replies are shown only to the
    person who asked; `blocks` are Block Kit dicts from a `build_*` function.
    """

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: bool = False


@dataclass(frozen=True)
class PennyInvocation:
    """A parsed `/penny <subcommand> ...` call."""

    subcommand: str
    argv: tuple[str, ...]
    user_id: str
    channel_id: str
    text: str
    team_id: str = ""
    trigger_id: str = ""
