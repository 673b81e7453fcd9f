"""Posting what the core returns: channel messages, ephemerals and response_url replies.

Slack's 429s are retried by the WebClient's RateLimitErrorRetryHandler (Retry-After is
honoured); what still fails is logged and, where possible, explained to the user.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.core import messages
from bot.core.replies import Reply
from bot.deps import Deps

logger = logging.getLogger(__name__)

_NOT_MEMBER = {"not_in_channel", "channel_not_found"}


def safe_error_reply(doing: str) -> Reply:
    """The reply for an unexpected failure: short, useful, no internals."""
    return Reply(text=messages.something_went_wrong(doing), ephemeral=True)


def post_reply(
    deps: Deps,
    *,
    channel: str,
    user: str,
    reply: Reply,
    thread_ts: str | None = None,
    response_url: str | None = None,
) -> str | None:
    """Post a Reply where it belongs; returns the message ts when Slack gives one."""
    try:
        if reply.ephemeral:
            return _post_ephemeral(deps, channel, user, reply, thread_ts, response_url)
        result = deps.slack.chat_postMessage(
            channel=channel, text=reply.text, blocks=reply.blocks or None, thread_ts=thread_ts
        )
        return result.get("ts")
    except SlackApiError as exc:
        error = exc.response.get("error", "")
        logger.warning("channel=<%s>, error=<%s> | slack post failed", channel, error)
        if error in _NOT_MEMBER and response_url:
            _send_to_response_url(response_url, reply, in_channel=not reply.ephemeral)
        elif error in _NOT_MEMBER:
            _try_ephemeral_note(deps, channel, user, messages.not_in_channel())
        return None


def _post_ephemeral(
    deps: Deps,
    channel: str,
    user: str,
    reply: Reply,
    thread_ts: str | None,
    response_url: str | None,
) -> None:
    if response_url:
        _send_to_response_url(response_url, reply, in_channel=False)
        return None
    deps.slack.chat_postEphemeral(
        channel=channel,
        user=user,
        text=reply.text,
        blocks=reply.blocks or None,
        thread_ts=thread_ts,
    )
    return None


def _send_to_response_url(url: str, reply: Reply, *, in_channel: bool) -> None:
    response = WebhookClient(url, timeout=10).send(
        text=reply.text,
        blocks=reply.blocks or None,
        response_type="in_channel" if in_channel else "ephemeral",
    )
    if response.status_code >= 300:
        logger.warning("status=<%d> | response_url post failed", response.status_code)


def _try_ephemeral_note(deps: Deps, channel: str, user: str, text: str) -> None:
    try:
        deps.slack.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError:
        logger.warning("channel=<%s> | could not explain the failed post either", channel)
