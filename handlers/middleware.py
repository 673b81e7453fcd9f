"""Global middleware: answer each Slack delivery once, whatever Slack retries.

Events are keyed by `event_id` (Slack re-sends the same id with `X-Slack-Retry-Num`);
slash commands and interactions by their `trigger_id` (plus action timestamp). The key is
recorded in SQLite with INSERT OR IGNORE, so two threads or two replicas sharing the
database agree on who handles it; the others only acknowledge.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest

from bot.deps import Deps
from bot.store.core_tables import first_time_seen

logger = logging.getLogger(__name__)


def delivery_key(body: dict[str, Any]) -> str | None:
    """The identity of one Slack delivery, or None when it has no stable id."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return "event:" + body["event_id"]
    if body.get("command") and body.get("trigger_id"):
        return "command:" + body["trigger_id"]
    if body.get("type") == "block_actions" and body.get("trigger_id"):
        action_ts = ",".join(a.get("action_ts", "") for a in body.get("actions") or [])
        return f"action:{body['trigger_id']}:{action_ts}"
    if body.get("type") == "view_submission" and body.get("trigger_id"):
        return "view:" + body["trigger_id"]
    return None


def register(app: App, deps: Deps) -> None:
    """Install the de-duplication middleware."""

    def answer_once(req: BoltRequest, body: dict[str, Any], next: Any) -> BoltResponse | None:  # noqa: A002
        if req.lazy_only:
            return next()
        key = delivery_key(body)
        if key is not None and not first_time_seen(deps.store, key):
            retry = (req.headers.get("x-slack-retry-num") or [""])[0]
            logger.info(
                "key=<%s>, retry=<%s> | duplicate delivery acknowledged, not handled again",
                key,
                retry,
            )
            return BoltResponse(status=200, body="")
        return next()

    app.use(answer_once)
