"""Signed Slack request builders live in bot/devtools (the console uses them too)."""

from bot.devtools.slack_requests import (
    FORM,
    JSON,
    block_actions_body,
    event_body,
    signed_headers,
    slash_command_body,
    url_verification_body,
    view_submission_body,
)

__all__ = [
    "FORM",
    "JSON",
    "block_actions_body",
    "event_body",
    "signed_headers",
    "slash_command_body",
    "url_verification_body",
    "view_submission_body",
]
