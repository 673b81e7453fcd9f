"""Answer each Slack delivery once, whatever Slack retries.

Events are keyed by `event_id` (Slack re-sends the same id with `X-Slack-Retry-Num`);
slash commands and interactions by their `trigger_id` (plus the action timestamp). The
key is claimed in SQLite with INSERT OR IGNORE, so two threads or two replicas sharing the
database agree on who handles it.

The claim runs at the start of the work after the ack, not before the ack: the ack path
does no database work at all (Slack's 3-second deadline), and a retried delivery is simply
acknowledged again while its work finds the key taken and stops.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

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


def once_per_delivery(deps: Deps, work: Callable[..., None]) -> Callable[..., None]:
    """Wrap a lazy listener so it runs at most once per Slack delivery.

    The listener must take `body` (Bolt passes the arguments the wrapped function names).
    """

    @functools.wraps(work)
    def run_once(**kwargs: Any) -> None:
        key = delivery_key(kwargs.get("body") or {})
        if key is not None and not first_time_seen(deps.store, key):
            logger.info("key=<%s> | duplicate delivery, already handled", key)
            return None
        return work(**kwargs)

    return run_once
