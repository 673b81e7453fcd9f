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


def approval_recorded_needs_more(have: int, need: int) -> str:
    """An approval counted, but the request needs more distinct approvers."""
    return f":ballot_box_with_check: Your approval is recorded ({have} of {need}); it needs {need - have} more approver(s)."


def approval_forged_click() -> str:
    """A button value or card that does not match any stored request card."""
    return ":no_entry: That button does not match a request card Penny posted, so nothing was done."


def approval_request_posted(request_id: str, action: str) -> str:
    """Confirmation to the requester that a card is waiting for approval."""
    return (
        f":inbox_tray: Request `{request_id}` for `{action}` is waiting for approval; see the card."
    )


def approval_request_refused(problem: str) -> str:
    """A request could not be created (bad parameters, missing target, AWS refused)."""
    return f":warning: I can't request that: {problem}"


def approval_card_not_posted() -> str:
    """The card could not be posted, so the request was withdrawn."""
    return ":warning: I could not post the approval card, so the request was withdrawn. Is Penny in this channel? Try `/invite @Penny`."


def account_not_in_scope(accounts: tuple[str, ...]) -> str:
    """A cost question named linked accounts outside Penny's `[cost] accounts` list."""
    named = ", ".join(f"`{account}`" for account in accounts)
    noun = "Account" if len(accounts) == 1 else "Accounts"
    verb = "is not one" if len(accounts) == 1 else "are not ones"
    return (
        f":no_entry: {noun} {named} {verb} Penny is configured for, so it cannot show its costs. "
        "An admin can add it to `[cost] accounts` in Penny's config file."
    )
