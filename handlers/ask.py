"""Ask Penny: @-mentions and DMs, answered in the thread.

The listener acknowledges at once; after the ack (a lazy listener) it posts a placeholder
in the thread, answers through bot.ask_service (fast path first, then the LLM), and
replaces the placeholder with the answer. Messages from bots (Penny included), edits and
other message subtypes are ignored; duplicate deliveries are dropped by handlers.once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.ask_service import answer_in_thread
from bot.core import messages
from bot.core.replies import Reply
from bot.deps import Deps
from handlers.common import post_reply
from handlers.once import once_per_delivery

logger = logging.getLogger(__name__)

PLACEHOLDER = ":hourglass_flowing_sand: Looking into it…"
# Subtypes that still carry a person's question; every other subtype (edits, deletes,
# joins, bot messages) is not a question to Penny.
QUESTION_SUBTYPES = frozenset({"thread_broadcast", "file_share"})
DM_CONVERSATION = "dm"
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class AskEvent:
    """A question parsed from an event: who, where, which thread, and the text without the mention."""

    user: str
    channel: str
    thread_ts: str
    text: str
    conversation: str | None = None


def parse_ask_event(event: dict[str, Any], bot_user_id: str | None) -> AskEvent | None:
    """The question in an app_mention or DM event, or None when Penny should not answer it."""
    if event.get("bot_id") or event.get("subtype") not in (None, *QUESTION_SUBTYPES):
        return None
    user = event.get("user") or ""
    if not user or (bot_user_id and user == bot_user_id):
        return None
    text = strip_mention(event.get("text") or "", bot_user_id)
    ts = event.get("ts") or ""
    if not text or not ts:
        return None
    # Top-level DMs are one conversation: "and the month before?" needs no thread there.
    unthreaded_dm = event.get("channel_type") == "im" and not event.get("thread_ts")
    return AskEvent(
        user,
        event.get("channel") or "",
        event.get("thread_ts") or ts,
        text,
        conversation=DM_CONVERSATION if unthreaded_dm else None,
    )


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The text without Penny's `<@U…>` mention (other people's mentions stay)."""

    def drop_penny(match: re.Match[str]) -> str:
        return " " if bot_user_id is None or match[1] == bot_user_id else match[0]

    return re.sub(r"\s+", " ", _MENTION.sub(drop_penny, text)).strip()


def _bot_user_id(context: Any, body: dict[str, Any]) -> str | None:
    found = context.get("bot_user_id") if context is not None else None
    if found:
        return str(found)
    for item in body.get("authorizations") or []:
        if item.get("is_bot") and item.get("user_id"):
            return str(item["user_id"])
    return None


def answer_event(deps: Deps, question: AskEvent) -> None:
    """Placeholder in the thread, the answer, then the placeholder replaced by the answer."""
    try:
        placeholder = deps.slack.chat_postMessage(
            channel=question.channel, thread_ts=question.thread_ts, text=PLACEHOLDER
        )
    except SlackApiError as exc:
        logger.warning(
            "channel=<%s>, error=<%s> | placeholder not posted",
            question.channel,
            exc.response.get("error", ""),
        )
        placeholder = None
    try:
        reply = answer_in_thread(
            deps,
            question.text,
            question.user,
            question.channel,
            question.thread_ts,
            conversation=question.conversation,
        )
    except Exception:  # the service explains its own errors; this is the last line of defence
        logger.exception("channel=<%s> | answering a question failed", question.channel)
        reply = Reply(text=messages.something_went_wrong("answer that"))
    _show(deps, question, reply, placeholder.get("ts") if placeholder else None)


def _show(deps: Deps, question: AskEvent, reply: Reply, placeholder_ts: str | None) -> None:
    if placeholder_ts:
        try:
            deps.slack.chat_update(
                channel=question.channel,
                ts=placeholder_ts,
                text=reply.text,
                blocks=reply.blocks or [],
            )
            return
        except SlackApiError as exc:
            logger.warning(
                "channel=<%s>, error=<%s> | placeholder not updated, posting instead",
                question.channel,
                exc.response.get("error", ""),
            )
    thread_reply = Reply(text=reply.text, blocks=reply.blocks, ephemeral=False)
    post_reply(
        deps,
        channel=question.channel,
        user=question.user,
        reply=thread_reply,
        thread_ts=question.thread_ts,
    )


def is_direct_message(event: dict[str, Any]) -> bool:
    """True for a message event in a DM with Penny."""
    return event.get("channel_type") == "im"


def register(app: App, deps: Deps) -> None:
    """Register the app_mention listener, the DM listener, and a quiet ack for other messages."""

    def ack_event(ack: Ack) -> None:
        ack()

    def answer(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        question = parse_ask_event(event, _bot_user_id(context, body))
        if question is None:
            return
        answer_event(deps, question)

    def is_question_in_dm(event: dict[str, Any], context: Any, body: dict[str, Any]) -> bool:
        return is_direct_message(event) and (
            parse_ask_event(event, _bot_user_id(context, body)) is not None
        )

    app.event("app_mention")(ack=ack_event, lazy=[once_per_delivery(deps, answer)])
    app.event("message", matchers=[is_question_in_dm])(
        ack=ack_event, lazy=[once_per_delivery(deps, answer)]
    )
    # Channel messages, edits and Penny's own posts: acknowledged, nothing to answer.
    app.event("message")(ack_event)
