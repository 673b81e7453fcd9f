"""`/penny usage [today|7d|30d]`: Penny's own LLM usage by day, user and channel."""

from __future__ import annotations

from bot.ask_service import usage_reply
from bot.core.ask import USAGE_WINDOWS
from bot.core.replies import PennyInvocation, Reply
from bot.deps import Deps
from handlers.penny import Subcommand


def run_usage(invocation: PennyInvocation, deps: Deps) -> Reply:
    """Show usage for the window named in the first argument (default: today)."""
    window = invocation.argv[0].lower() if invocation.argv else "today"
    if window not in USAGE_WINDOWS:
        text = f"Unknown window `{window}`. Use one of: {', '.join(USAGE_WINDOWS)}."
        return Reply(text=text, ephemeral=True)
    reply = usage_reply(deps, window)
    return Reply(text=reply.text, blocks=reply.blocks, ephemeral=True)


PENNY_SUBCOMMANDS = [
    Subcommand(
        name="usage",
        usage="/penny usage [today|7d|30d]",
        summary="Penny's own usage: questions, fast path vs LLM, tokens, estimated $, tools, approvals",
        run=run_usage,
    )
]
