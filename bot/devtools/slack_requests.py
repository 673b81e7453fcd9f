"""Build Slack request bodies and sign them the way Slack does (v0 HMAC-SHA256).

Used by the console (which feeds typed input through the real Bolt app) and by tests
(which send the same requests over HTTP to the real process).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from bot.devtools.fake_slack import TEAM_ID

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_ids = itertools.count(1)


def signed_headers(
    secret: str, body: str, timestamp: int | None = None, content_type: str = FORM
) -> dict[str, str]:
    """Headers Slack sends with a request: content type, timestamp and v0 signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str = "U0ALICE",
    channel_id: str = "C0FINOPS",
    response_url: str = "",
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> str:
    """A form-encoded slash command payload, as Slack posts it."""
    n = next(_ids)
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "team_domain": "penny-demo",
            "channel_id": channel_id,
            "channel_name": "finops",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0PENNY",
            "response_url": response_url,
            "trigger_id": trigger_id or f"{n}.{int(time.time())}.{secrets.token_hex(8)}",
        }
    )


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0ALICE",
    channel_id: str = "C0FINOPS",
    message_ts: str = "1700000000.000001",
    message: dict[str, Any] | None = None,
    block_id: str = "",
    response_url: str = "",
    team_id: str = TEAM_ID,
) -> str:
    """A form-encoded `block_actions` interaction payload for one button click."""
    n = next(_ids)
    payload = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "penny-demo"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0PENNY",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{n}.{int(time.time())}.{secrets.token_hex(8)}",
        "channel": {"id": channel_id, "name": "finops"},
        "message": message or {"ts": message_ts, "type": "message", "text": ""},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id or "b1",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    callback_id: str,
    values: dict[str, Any],
    *,
    private_metadata: str = "",
    user_id: str = "U0ALICE",
    team_id: str = TEAM_ID,
) -> str:
    """A form-encoded `view_submission` payload for a modal."""
    n = next(_ids)
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "penny-demo"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0PENNY",
        "trigger_id": f"{n}.{int(time.time())}.{secrets.token_hex(8)}",
        "view": {
            "id": f"V{n:08d}",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def event_body(
    event: dict[str, Any], *, event_id: str | None = None, team_id: str = TEAM_ID
) -> str:
    """A JSON Events API envelope (`event_callback`) around one event."""
    n = next(_ids)
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "api_app_id": "A0PENNY",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{n:06d}{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team_id, "user_id": "UPENNYBOT", "is_bot": True}],
        }
    )


def url_verification_body(challenge: str) -> str:
    """The JSON body Slack sends to check a Request URL."""
    return json.dumps(
        {"token": "legacy-verification-token", "challenge": challenge, "type": "url_verification"}
    )
