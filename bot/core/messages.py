"""Every user-facing error and status sentence, as small functions (one place to word them)."""

from __future__ import annotations


def something_went_wrong(doing: str) -> str:
    """Generic failure: never a stack trace, always what to try next."""
    return f":warning: Penny could not {doing} just now. It has been logged; please try again in a minute."


def working_on(command: str) -> str:
    """The instant acknowledgement of a slow command."""
    return f":hourglass_flowing_sand: Working on `{command}`…"


def slack_rate_limited() -> str:
    """Slack asked Penny to slow down and retries ran out."""
    return ":snail: Slack is rate-limiting Penny right now; the answer will be retried shortly."


def not_in_channel() -> str:
    """Penny cannot post in a channel it is not a member of."""
    return "Penny is not in this channel yet: invite it with `/invite @Penny`, then try again."


def not_an_approver() -> str:
    """Someone without approval rights tried an approver-only command."""
    return ":no_entry: Only approvers can do that. Ask an admin to add you to PENNY_APPROVERS or the approval policy."
