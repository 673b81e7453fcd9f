"""A fake Slack Web API server on 127.0.0.1, for tests and the local console.

It answers the Web API methods Penny uses with the shapes Slack returns, keeps the
messages it was sent (so `chat.update` changes what the console shows), records every
call with its decoded body, and can inject errors and 429s with Retry-After. Point a
WebClient at it with `WebClient(base_url=fake.url)`; slash-command `response_url`s can
point at `fake.response_url(...)`.

It also stands in for Slack's Socket Mode: `apps.connections.open` returns a
`ws://127.0.0.1:PORT/socket-mode?...` URL on this same server, which speaks just enough
WebSocket (RFC 6455: the handshake, text frames, ping/pong, close) for slack_sdk's builtin
client. Tests push envelopes with `socket_send(socket_envelope(...))` and read the acks the
app sent back in `socket_acks`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import logging
import secrets
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlparse

logger = logging.getLogger(__name__)
T = TypeVar("T")

BOT_USER_ID = "UPENNYBOT"
BOT_ID = "BPENNYBOT"
TEAM_ID = "T0PENNY01"
APP_ID = "A0PENNY"
SOCKET_MODE_PATH = "/socket-mode"
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
        self.socket_acks: list[dict[str, Any]] = []
        self._socket_clients: list[_SocketClient] = []
        self._lock = threading.RLock()
        self._ts = itertools.count(1)
        self._tickets = itertools.count(1)
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
        """Stop listening (and close every Socket Mode connection)."""
        with self._lock:
            clients = list(self._socket_clients)
        for client in clients:
            client.close()
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
        """Forget calls, messages and Socket Mode acks (keeps users, user groups, connections)."""
        with self._lock:
            self.calls.clear()
            self.messages.clear()
            self.ephemerals.clear()
            self.socket_acks.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until `method` was called at least `count` times; returns those calls."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.calls_to(method)) >= count, timeout=timeout)
            return self.calls_to(method)

    def wait_until(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Block until `predicate()` is truthy, re-checking whenever the fake records something.

        Returns the predicate's last value (falsy on timeout).
        """
        with self.changed:
            return self.changed.wait_for(predicate, timeout=timeout)

    def all_messages(self) -> Iterator[dict[str, Any]]:
        """Every message the bot posted, across channels."""
        with self._lock:
            for msgs in self.messages.values():
                yield from list(msgs)

    # -- Socket Mode test controls ---------------------------------------------------------

    def socket_url(self) -> str:
        """A fresh Socket Mode URL on this server, as `apps.connections.open` returns it."""
        ticket = next(self._tickets)
        return (
            f"ws://{self.root[len('http://') :]}{SOCKET_MODE_PATH}?ticket=t{ticket}&app_id={APP_ID}"
        )

    def socket_clients(self) -> int:
        """How many Socket Mode connections are open."""
        with self._lock:
            return len(self._socket_clients)

    def wait_for_socket_client(self, timeout: float = 10.0) -> bool:
        """Block until a Socket Mode client has connected; False on timeout."""
        with self.changed:
            return self.changed.wait_for(lambda: bool(self._socket_clients), timeout=timeout)

    def socket_send(self, envelope: dict[str, Any]) -> None:
        """Push one message (an envelope, `disconnect`...) to every connected Socket Mode client."""
        with self._lock:
            clients = list(self._socket_clients)
        if not clients:
            raise RuntimeError("no Socket Mode client is connected")
        text = json.dumps(envelope)
        for client in clients:
            client.send_text(text)

    def socket_acks_for(self, envelope_id: str) -> list[dict[str, Any]]:
        """The acks received for one envelope, in order."""
        with self._lock:
            return [a for a in self.socket_acks if a.get("envelope_id") == envelope_id]

    def wait_for_socket_acks(
        self, envelope_id: str, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Block until the envelope was acked `count` times; returns its acks (`envelope_id`, `payload`)."""
        with self.changed:
            self.changed.wait_for(
                lambda: len(self.socket_acks_for(envelope_id)) >= count, timeout=timeout
            )
            return self.socket_acks_for(envelope_id)

    def _socket_connected(self, client: _SocketClient) -> None:
        with self.changed:
            self._socket_clients.append(client)
            self.changed.notify_all()
        # Slack greets every new connection before sending anything else.
        client.send_text(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": self.socket_clients(),
                    "debug_info": {"host": "fake-slack", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )

    def _socket_disconnected(self, client: _SocketClient) -> None:
        with self.changed:
            if client in self._socket_clients:
                self._socket_clients.remove(client)
            self.changed.notify_all()

    def _socket_received(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            logger.warning("text=<%s> | fake-slack: Socket Mode message is not JSON", text[:200])
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            logger.debug("message=<%s> | fake-slack: Socket Mode message ignored", text[:200])
            return
        with self.changed:
            self.socket_acks.append(message)
            self.changed.notify_all()

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

    def _m_apps_connections_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url()}

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


def socket_envelope(
    kind: str, payload: dict[str, Any], *, envelope_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A Socket Mode envelope as Slack sends it.

    `kind` is `slash_commands` (payload: the command's form fields as a dict), `events_api`
    (payload: the `event_callback` body) or `interactive` (payload: e.g. a `block_actions`
    body); `extra` adds fields such as `retry_attempt` and `retry_reason`.
    """
    return {
        "envelope_id": envelope_id or "env-" + secrets.token_hex(8),
        "type": kind,
        "accepts_response_payload": kind != "events_api",
        "payload": payload,
        **extra,
    }


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
        if urlparse(self.path).path == SOCKET_MODE_PATH:
            self._serve_socket_mode()
            return
        self.do_POST()

    def _serve_socket_mode(self) -> None:
        """Upgrade to a WebSocket and serve it in this thread until either side closes."""
        key = self.headers.get("Sec-WebSocket-Key", "")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
            self._send(400, {"ok": False, "error": "websocket_handshake_expected"})
            return
        self.close_connection = True
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", websocket_accept(key))
        self.end_headers()
        client = _SocketClient(self.connection)
        self.owner._socket_connected(client)
        try:
            # rfile, not the raw socket: it may already hold the client's first frames.
            _serve_frames(client, self.rfile.read, self.owner._socket_received)
        except OSError as err:
            logger.debug("error=<%s> | fake-slack: Socket Mode connection dropped", err)
        finally:
            self.owner._socket_disconnected(client)
            client.close()

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


# -- WebSocket (RFC 6455), just what Socket Mode needs ----------------------------------------

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True)
class Frame:
    """One WebSocket frame, unmasked."""

    opcode: int
    payload: bytes
    fin: bool = True


def websocket_accept(key: str) -> str:
    """The Sec-WebSocket-Accept value that answers a client's Sec-WebSocket-Key."""
    digest = hashlib.sha1((key.strip() + _WEBSOCKET_GUID).encode()).digest()  # noqa: S324 - RFC 6455
    return base64.b64encode(digest).decode()


def encode_frame(
    opcode: int, payload: bytes, *, mask_key: bytes | None = None, fin: bool = True
) -> bytes:
    """One frame on the wire; clients mask (pass a 4-byte `mask_key`), servers must not."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if mask_key else 0
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not mask_key:
        return header + payload
    return header + mask_key + _apply_mask(payload, mask_key)


def read_frame(read: Callable[[int], bytes]) -> Frame | None:
    """Read one frame with `read(n)` (e.g. a socket file's read); None at end of stream."""
    head = _read_exactly(read, 2)
    if head is None:
        return None
    first, second = head
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", _read_exactly(read, 2) or b"\0\0")[0]
    elif length == 127:
        length = struct.unpack("!Q", _read_exactly(read, 8) or bytes(8))[0]
    mask_key = _read_exactly(read, 4) if second & 0x80 else None
    payload = _read_exactly(read, length) if length else b""
    if payload is None or (second & 0x80 and mask_key is None):
        return None
    if mask_key:
        payload = _apply_mask(payload, mask_key)
    return Frame(opcode=first & 0x0F, payload=payload, fin=bool(first & 0x80))


def _apply_mask(data: bytes, mask_key: bytes) -> bytes:
    # XOR with the key repeated over the payload, done as one big integer: fast enough for
    # envelopes of a few kilobytes without a per-byte Python loop.
    repeated = (mask_key * (len(data) // 4 + 1))[: len(data)]
    masked = int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")
    return masked.to_bytes(len(data), "big")


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class _SocketClient:
    """The server side of one WebSocket: unmasked frames out, one writer at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()
        self._closed = False
        self._close_sent = False

    def send_text(self, text: str) -> None:
        self.send_frame(OP_TEXT, text.encode())

    def send_frame(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            if self._closed or self._close_sent:
                return
            self._sock.sendall(encode_frame(opcode, payload))
            self._close_sent = opcode == OP_CLOSE

    def close(self, code: int = 1001) -> None:
        """Say goodbye (unless already said) and shut the socket so its reader wakes up."""
        with contextlib.suppress(OSError):
            self.send_frame(OP_CLOSE, struct.pack("!H", code))
        with self._send_lock:
            self._closed = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


def _serve_frames(
    client: _SocketClient, read: Callable[[int], bytes], on_text: Callable[[str], None]
) -> None:
    """Answer pings, hand text messages (reassembled) to `on_text`, stop at close or EOF."""
    fragments: list[bytes] = []
    while (frame := read_frame(read)) is not None:
        if frame.opcode == OP_PING:
            client.send_frame(OP_PONG, frame.payload)
        elif frame.opcode == OP_CLOSE:
            client.send_frame(OP_CLOSE, frame.payload[:2])
            return
        elif frame.opcode in {OP_TEXT, OP_CONTINUATION}:
            fragments.append(frame.payload)
            if frame.fin:
                on_text(b"".join(fragments).decode("utf-8", "replace"))
                fragments.clear()
