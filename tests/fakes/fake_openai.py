"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 (port 0) that returns scripted turns.

It speaks what vLLM, llama.cpp, LM Studio and LiteLLM speak: `POST /v1/chat/completions`,
answered as server-sent events when the request says `"stream": true` (content and
tool-call deltas, a finish reason, then a usage chunk when `stream_options.include_usage`
is set) or as one JSON completion otherwise. Each scripted turn is a dict with `content`
and/or `tool_calls` ([{"id", "name", "arguments": {...}}]), or a function of the request
body returning one. Every request body is recorded; the bearer token is checked so a
missing OPENAI_API_KEY shows up as the 401 a real server gives.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Turn = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


class FakeOpenAI:
    """Start with `with FakeOpenAI(turns, api_key=...) as fake:`; `fake.base_url` ends in /v1."""

    def __init__(
        self, turns: list[Turn], api_key: str = "test-key", usage: tuple[int, int] = (120, 30)
    ):
        self.turns = list(turns)
        self.api_key = api_key
        self.usage = usage
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The OPENAI_BASE_URL to give the openai client."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_turn(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The scripted answer to a request (None when the script is over)."""
        with self._lock:
            self.requests.append(body)
            if not self.turns:
                return None
            turn = self.turns.pop(0)
        return turn(body) if callable(turn) else turn

    def completion(self, turn: dict[str, Any], model: str) -> dict[str, Any]:
        """A non-streamed chat.completion for a turn."""
        message: dict[str, Any] = {"role": "assistant", "content": turn.get("content")}
        if turn.get("tool_calls"):
            message["tool_calls"] = [_tool_call(call) for call in turn["tool_calls"]]
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(turn)}],
            "usage": self._usage(),
        }

    def chunks(self, turn: dict[str, Any], model: str, include_usage: bool) -> list[dict[str, Any]]:
        """The chat.completion.chunk events of a streamed turn."""
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
        }
        out = [
            {
                **base,
                "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}],
            }
        ]
        content = turn.get("content") or ""
        for start in range(0, len(content), 16):
            delta = {"content": content[start : start + 16]}
            out.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        for index, call in enumerate(turn.get("tool_calls") or []):
            arguments = json.dumps(call["arguments"])
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": ""},
            }
            out.append(
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}
                    ],
                }
            )
            for start in range(0, len(arguments), 20):
                piece = {"index": index, "function": {"arguments": arguments[start : start + 20]}}
                out.append(
                    {
                        **base,
                        "choices": [
                            {"index": 0, "delta": {"tool_calls": [piece]}, "finish_reason": None}
                        ],
                    }
                )
        out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": _finish(turn)}]})
        if include_usage:
            out.append({**base, "choices": [], "usage": self._usage()})
        return out

    def _usage(self) -> dict[str, int]:
        prompt, completion = self.usage
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }


def _tool_call(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
    }


def _finish(turn: dict[str, Any]) -> str:
    return "tool_calls" if turn.get("tool_calls") else "stop"


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            return

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._json(
                    404, {"error": {"message": f"no route {self.path}", "type": "not_found"}}
                )
            if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                return self._json(
                    401,
                    {
                        "error": {
                            "message": "Incorrect API key provided",
                            "type": "invalid_request_error",
                            "code": "invalid_api_key",
                        }
                    },
                )
            turn = fake.next_turn(body)
            if turn is None:
                return self._json(
                    500, {"error": {"message": "the fake's script is over", "type": "server_error"}}
                )
            model = body.get("model", "")
            if not body.get("stream"):
                return self._json(200, fake.completion(turn, model))
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            payload = "".join(
                f"data: {json.dumps(c)}\n\n" for c in fake.chunks(turn, model, include_usage)
            )
            data = (payload + "data: [DONE]\n\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
