"""Posting a report exactly once: claim in the ledger, post, record the ts; retry rate limits later.

The WebClient's RateLimitErrorRetryHandler already waits out short 429s (honouring
Retry-After). A rate limit that outlasts it is not lost: the payload stays in the ledger
(state `retry`, with the time Slack asked for) and `deliver_due_retries` sends it when
that time has come; the scheduler calls it every minute. A post Slack refused outright
(channel_not_found...) gives its claim back so the next run tries again; a post whose fate
is unknown (connection dropped) stays claimed and is reported, never sent twice.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.store import ledger

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = timedelta(seconds=30)
MESSAGE = "message"
FILE = "file"


class PostFailed(Exception):
    """Slack refused a report post (not a rate limit); the claim was given back for the next run."""


@dataclass(frozen=True)
class PostResult:
    """What happened to one post: `posted` (with ts), `deferred` (rate-limited, retried later) or `duplicate`."""

    status: str
    key: str
    ts: str | None = None

    @property
    def posted(self) -> bool:
        """True when the message is in Slack now."""
        return self.status == "posted"


def post_once(
    deps: Deps,
    key: str,
    *,
    job: str,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_key: str | None = None,
    now: datetime,
) -> PostResult:
    """Post a message unless `key` was already claimed; the ledger decides, not memory.

    `thread_key` names another ledger key whose message this one replies to.
    """
    if not ledger.claim(deps.store, key, job=job, now=now):
        return PostResult("duplicate", key)
    payload = {
        "kind": MESSAGE,
        "channel": channel,
        "text": text,
        "blocks": blocks or [],
        "thread_key": thread_key,
    }
    return deliver(deps, key, payload, now)


def upload_once(
    deps: Deps,
    key: str,
    *,
    job: str,
    channel: str,
    content: bytes,
    filename: str,
    title: str,
    thread_key: str,
    now: datetime,
) -> PostResult:
    """Upload a file (a chart) into the thread of `thread_key`'s message, once."""
    if not ledger.claim(deps.store, key, job=job, now=now):
        return PostResult("duplicate", key)
    payload = {
        "kind": FILE,
        "channel": channel,
        "content_b64": base64.b64encode(content).decode(),
        "filename": filename,
        "title": title,
        "thread_key": thread_key,
    }
    return deliver(deps, key, payload, now)


def deliver(deps: Deps, key: str, payload: dict[str, Any], now: datetime) -> PostResult:
    """Send a claimed payload; on a rate limit keep it for later, on refusal give the claim back."""
    thread_ts = None
    if payload.get("thread_key"):
        thread_ts = ledger.posted_ts(deps.store, payload["thread_key"])
        if thread_ts is None:
            # The parent message is itself waiting for a retry: follow it, do not post unthreaded.
            ledger.schedule_retry(
                deps.store,
                key,
                payload=payload,
                retry_at=now + DEFAULT_RETRY_AFTER,
                error="waiting for parent",
            )
            return PostResult("deferred", key)
    try:
        ts = _send(deps, payload, thread_ts)
    except SlackApiError as exc:
        return _handle_slack_error(deps, key, payload, exc, now)
    except Exception as exc:
        ledger.mark_failed(deps.store, key, error=type(exc).__name__)
        logger.warning(
            "key=<%s>, error=<%s> | post outcome unknown, kept claimed", key, type(exc).__name__
        )
        raise
    ledger.record_posted(deps.store, key, channel=payload["channel"], ts=ts, now=now)
    logger.info("key=<%s>, channel=<%s>, ts=<%s> | posted", key, payload["channel"], ts)
    return PostResult("posted", key, ts)


def _send(deps: Deps, payload: dict[str, Any], thread_ts: str | None) -> str | None:
    if payload["kind"] == FILE:
        response = deps.slack.files_upload_v2(
            channel=payload["channel"],
            content=base64.b64decode(payload["content_b64"]),
            filename=payload["filename"],
            title=payload["title"],
            thread_ts=thread_ts,
        )
        files = response.get("files") or [{}]
        return str(files[0].get("id") or "") or None
    response = deps.slack.chat_postMessage(
        channel=payload["channel"],
        text=payload["text"],
        blocks=payload["blocks"] or None,
        thread_ts=thread_ts,
        unfurl_links=False,
    )
    return response.get("ts")


def _handle_slack_error(
    deps: Deps, key: str, payload: dict[str, Any], exc: SlackApiError, now: datetime
) -> PostResult:
    error = exc.response.get("error", "") if exc.response is not None else ""
    status = getattr(exc.response, "status_code", 0)
    if status == 429 or error == "ratelimited":
        wait = retry_after(exc)
        ledger.schedule_retry(
            deps.store, key, payload=payload, retry_at=now + wait, error="ratelimited"
        )
        logger.warning(
            "key=<%s>, retry_after=<%s> | slack rate limit outlasted the client, retrying later",
            key,
            wait,
        )
        return PostResult("deferred", key)
    ledger.release(deps.store, key)
    logger.warning(
        "key=<%s>, channel=<%s>, error=<%s> | slack refused the post",
        key,
        payload["channel"],
        error,
    )
    raise PostFailed(f"Slack refused the post to {payload['channel']}: {error or 'error'}") from exc


def retry_after(exc: SlackApiError) -> timedelta:
    """How long Slack asked us to wait (Retry-After), or DEFAULT_RETRY_AFTER."""
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return timedelta(seconds=max(1, int(raw)))
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER


def deliver_due_retries(deps: Deps, now: datetime) -> int:
    """Send every rate-limited post whose retry time has come; returns how many were posted."""
    posted = 0
    for row in ledger.due_retries(deps.store, now):
        if row["payload"] is None or not ledger.take_retry(deps.store, row["key"], now):
            continue
        try:
            result = deliver(deps, row["key"], row["payload"], now)
        except PostFailed:
            logger.warning("key=<%s> | retried post refused", row["key"])
            continue
        posted += int(result.posted)
    return posted
