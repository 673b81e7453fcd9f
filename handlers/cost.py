"""`/cost`: acknowledge at once, answer from Cost Explorer after the ack."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App

from bot.core import messages
from bot.core.cost_engine import answer_cost_command
from bot.core.replies import Reply
from bot.deps import Deps
from handlers.common import post_reply, safe_error_reply
from handlers.once import once_per_delivery

logger = logging.getLogger(__name__)


def handle_cost_command(deps: Deps, text: str) -> Reply:
    """Answer one `/cost` text through the cost engine."""
    answer = answer_cost_command(
        text,
        source=deps.cost,
        today=deps.today(),
        metric=deps.settings.cost_metric,
        now=deps.clock(),
    )
    return Reply(text=answer.text, blocks=answer.blocks, ephemeral=answer.ephemeral)


def register(app: App, deps: Deps) -> None:
    """Register the `/cost` listener."""

    def ack_cost(ack: Ack, body: dict[str, Any]) -> None:
        ack(text=messages.working_on(f"/cost {body.get('text', '')}".strip()))

    def answer_cost(body: dict[str, Any]) -> None:
        try:
            reply = handle_cost_command(deps, body.get("text") or "")
        except Exception:
            logger.exception("text=<%s> | /cost failed", body.get("text"))
            reply = safe_error_reply("answer that cost question")
        post_reply(
            deps,
            channel=body.get("channel_id", ""),
            user=body.get("user_id", ""),
            reply=reply,
            response_url=body.get("response_url") or None,
        )

    app.command("/cost")(ack=ack_cost, lazy=[once_per_delivery(deps, answer_cost)])
