"""A fake Slack Web API server on 127.0.0.1, for tests and the local console.

It answers the Web API methods Penny uses with the shapes Slack returns, keeps the
messages it was sent (so `chat.update` changes what the console shows), records every
call with its decoded body, and can inject errors and 429s with Retry-After. Point a
WebClient at it with `WebClient(base_url=fake.url)`; slash-command `response_url`s can
point at `fake.response_url(...)`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

logger = logging.getLogger(__name__)

BOT_USER_ID = "UPENNYBOT"
BOT_ID = "BPENNYBOT"
TEAM_ID = "T0PENNY01"
_JSON_FIELDS = {"blocks", "attachments", "view", "files", "metadata"}


@dataclass
class Call:
    """One request the fake received: the API method (or `response_url`/`upload`) and its body."""

    method: str
    body: dict[str, Any]
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int


class FakeSlack:
    """The fake server. Thread-safe; use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.usergroups: dict[str, list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._lock = threading.RLock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.changed = threading.Condition(self._lock)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Listen on an ephemeral port on 127.0.0.1 in a background thread."""
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> str:
        """http://127.0.0.1:PORT"""
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The Web API base URL to give WebClient(base_url=...)."""
        return self.root + "/api/"

    def response_url(self, token: str = "r1") -> str:
        """A response_url that lands in this fake (recorded as method `response_url`)."""
        return f"{self.root}/response/{token}"

    # -- test controls ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str = "internal_error",
        *,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls to `method` fail (status 429 with retry_after for rate limits)."""
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(error, status, retry_after, times)
            )

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call to one method, in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        """Forget calls and messages (keeps users and user groups)."""
        with self._lock:
            self.calls.clear()
            self.messages.clear()
            self.ephemerals.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until `method` was called at least `count` times; returns those calls."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.calls_to(method)) >= count, timeout=timeout)
            return self.calls_to(method)

    def all_messages(self) -> Iterator[dict[str, Any]]:
        """Every message the bot posted, across channels."""
        with self._lock:
            for msgs in self.messages.values():
                yield from list(msgs)

    # -- request handling ------------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            queue = self._failures.get(method)
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """The response body Slack would send for `method` (state is updated)."""
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        with self._lock:
            return handler(body) if handler else {"ok": True}

    def _m_auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://penny-demo.slack.com/",
            "team": "Penny Demo",
            "user": "penny",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _m_chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel", "")
        message = {
            "ts": self._next_ts(),
            "text": body.get("text", ""),
            "blocks": body.get("blocks") or [],
            "thread_ts": body.get("thread_ts"),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "type": "message",
        }
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _m_chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = body.get("channel", ""), body.get("ts", "")
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                message["text"] = body.get("text", message["text"])
                if "blocks" in body:
                    message["blocks"] = body.get("blocks") or []
                message["edited"] = True
                return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _m_chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        self.ephemerals.append({**body, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _m_chat_getPermalink(self, body: dict[str, Any]) -> dict[str, Any]:
        ts = str(body.get("message_ts", "")).replace(".", "")
        return {
            "ok": True,
            "channel": body.get("channel"),
            "permalink": f"https://penny-demo.slack.com/archives/{body.get('channel')}/p{ts}",
        }

    def _m_conversations_replies(self, body: dict[str, Any]) -> dict[str, Any]:
        ts = body.get("ts")
        msgs = [
            m
            for m in self.messages.get(body.get("channel", ""), [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        return {"ok": True, "messages": msgs, "has_more": False}

    def _m_usergroups_users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        group = body.get("usergroup", "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[group]}

    def _m_users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = body.get("user", "")
        info = self.users.get(
            user, {"id": user, "name": user.lower(), "real_name": user, "tz": "UTC"}
        )
        return {"ok": True, "user": info}

    def _m_views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "view": {**(body.get("view") or {}), "id": "V" + self._next_ts().replace(".", "")},
        }

    _m_views_update = _m_views_open
    _m_views_push = _m_views_open

    def _m_views_publish(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "view": {**(body.get("view") or {}), "id": "VHOME" + str(body.get("user_id", ""))},
        }

    def _m_files_getUploadURLExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        file_id = "F" + self._next_ts().replace(".", "")
        return {"ok": True, "upload_url": f"{self.root}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        files = body.get("files") or []
        return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}


def _decode_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        try:
            value = json.loads(raw)
            return value if isinstance(value, dict) else {"_json": value}
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}
    if "form" in content_type:
        body: dict[str, Any] = dict(
            parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        )
        for key in _JSON_FIELDS & body.keys():
            with contextlib.suppress(ValueError):
                body[key] = json.loads(body[key])
        return body
    return {"_bytes": len(raw)}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSlack
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        logger.debug("fake-slack | %s", format % args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.do_POST()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        parsed = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = _decode_body(raw, self.headers.get("Content-Type", ""))
        body.update({k: v for k, v in parse_qsl(parsed.query) if k not in body})
        headers = {k.lower(): v for k, v in self.headers.items()}
        if parsed.path.startswith("/api/"):
            method = parsed.path[len("/api/") :]
        elif parsed.path.startswith("/response/"):
            method = "response_url"
        elif parsed.path.startswith("/upload/"):
            method = "upload"
        else:
            self._send(404, {"ok": False, "error": "unknown_path"})
            return
        self.owner._record(Call(method=method, body=body, path=parsed.path, headers=headers))
        failure = self.owner._take_failure(method)
        if failure is not None:
            extra = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            self._send(failure.status, {"ok": False, "error": failure.error}, extra)
            return
        if method in {"response_url", "upload"}:
            self._send(200, {"ok": True})
            return
        self._send(200, self.owner.answer(method, body))

    def _send(
        self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
