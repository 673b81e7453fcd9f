"""`/penny`: the admin command. Subcommands come from the area modules listed below.

Each area module exposes `PENNY_SUBCOMMANDS`, a list of `Subcommand`; this module acks,
parses, runs the subcommand after the ack (lazy listener) and posts what it returns.
"""

from __future__ import annotations

import importlib
import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import Ack, App

from bot.core.replies import PennyInvocation, Reply
from bot.deps import Deps
from handlers.common import post_reply, safe_error_reply
from handlers.once import once_per_delivery

logger = logging.getLogger(__name__)

# Area modules contributing subcommands (imported when the app is built, not at import time).
SUBCOMMAND_MODULES: list[str] = ["handlers.approvals", "handlers.usage_admin", "handlers.schedules"]


@dataclass(frozen=True)
class Subcommand:
    """One `/penny` subcommand: its name, usage line, one-line summary and what runs it."""

    name: str
    usage: str
    summary: str
    run: Callable[[PennyInvocation, Deps], Reply]


def collect_subcommands(modules: list[str] | None = None) -> dict[str, Subcommand]:
    """Gather every `PENNY_SUBCOMMANDS` entry from the area modules, by name."""
    found: dict[str, Subcommand] = {}
    for name in SUBCOMMAND_MODULES if modules is None else modules:
        module = importlib.import_module(name)
        for sub in getattr(module, "PENNY_SUBCOMMANDS", []):
            if sub.name in found:
                raise ValueError(f"/penny {sub.name} is registered twice")
            found[sub.name] = sub
    return found


def parse_invocation(body: dict) -> PennyInvocation:
    """Turn a slash-command payload into a PennyInvocation (quotes group words)."""
    text = (body.get("text") or "").strip()
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    sub = words[0].lower() if words else "help"
    return PennyInvocation(
        subcommand=sub,
        argv=tuple(words[1:]),
        user_id=body.get("user_id", ""),
        channel_id=body.get("channel_id", ""),
        text=text,
        team_id=body.get("team_id", ""),
        trigger_id=body.get("trigger_id", ""),
    )


def build_help_reply(subcommands: dict[str, Subcommand], unknown: str | None = None) -> Reply:
    """The `/penny help` answer, optionally opening with the unknown word that led here."""
    from bot.core.blocks.penny_help import build_penny_help_blocks

    rows = [
        (s.usage.removeprefix("/penny ").strip(), s.summary)
        for s in sorted(subcommands.values(), key=lambda s: s.name)
    ]
    blocks = build_penny_help_blocks(rows, unknown=unknown, known=sorted(subcommands))
    text = f"Unknown /penny subcommand '{unknown}'." if unknown else "Penny admin commands"
    return Reply(text=text, blocks=blocks, ephemeral=True)


def register(app: App, deps: Deps) -> None:
    """Register the `/penny` listener on the Bolt app."""
    subcommands = collect_subcommands()

    def ack_penny(ack: Ack) -> None:
        ack()

    def run_penny(body: dict) -> None:
        invocation = parse_invocation(body)
        sub = subcommands.get(invocation.subcommand)
        if sub is None:
            unknown = None if invocation.subcommand == "help" else invocation.subcommand
            reply = build_help_reply(subcommands, unknown=unknown)
        else:
            try:
                reply = sub.run(invocation, deps)
            except Exception:
                logger.exception("subcommand=<%s> | /penny failed", invocation.subcommand)
                reply = safe_error_reply("run that /penny command")
        post_reply(
            deps,
            channel=invocation.channel_id,
            user=invocation.user_id,
            reply=reply,
            response_url=body.get("response_url"),
        )

    app.command("/penny")(ack=ack_penny, lazy=[once_per_delivery(deps, run_penny)])
