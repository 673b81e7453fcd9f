"""A Strands Model that replays a script of assistant turns, tool calls included.

Each turn is an assistant message (`{"role": "assistant", "content": [...]}`), or a function
of the conversation so far returning one, so a scripted "model" can read a tool result and
act on it (for example, obey an instruction hidden in a log line, as a gullible model
would). Turns are streamed as the same events a real provider emits, with token usage
counted (about four characters a token), so usage accounting runs as in production.
Every call is recorded (messages, tool names, system prompt) for assertions. A run that
asks for more turns than the script has fails loudly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from typing import Any

from strands.models.model import Model

Turn = dict[str, Any] | Callable[[list[dict[str, Any]]], dict[str, Any]]


class ScriptExhausted(Exception):
    """The agent asked the scripted model for more turns than the test scripted."""


def text(answer: str) -> dict[str, Any]:
    """A final assistant turn that only says `answer`."""
    return {"role": "assistant", "content": [{"text": answer}]}


def tool_call(
    name: str, tool_input: dict[str, Any], tool_use_id: str, say: str = ""
) -> dict[str, Any]:
    """An assistant turn that calls one tool (optionally saying something first)."""
    content: list[dict[str, Any]] = [{"text": say}] if say else []
    content.append({"toolUse": {"name": name, "toolUseId": tool_use_id, "input": tool_input}})
    return {"role": "assistant", "content": content}


def tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every tool result in the conversation, oldest first, with its text parsed as JSON when it is."""
    results = []
    for message in messages:
        for block in message.get("content", []):
            if "toolResult" in block:
                result = dict(block["toolResult"])
                raw = "".join(c.get("text", "") for c in result.get("content", []))
                try:
                    result["data"] = json.loads(raw)
                except ValueError:
                    result["data"] = raw
                results.append(result)
    return results


def count_tokens(value: Any) -> int:
    """About four characters a token, at least one."""
    return max(1, len(json.dumps(value, default=str)) // 4)


class ScriptedModel(Model):
    """Replays `turns` in order across every agent it is given to (thread-safe)."""

    def __init__(self, turns: list[Turn], model_id: str = "scripted-model"):
        self.turns = list(turns)
        self.config = {"model_id": model_id}
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def update_config(self, **model_config: Any) -> None:
        """Update the (model_id) config."""
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        """The config: model_id."""
        return self.config

    @property
    def remaining(self) -> int:
        """Turns not played yet."""
        return len(self.turns)

    def structured_output(
        self, output_model: Any, prompt: Any, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Not used by Penny."""
        raise NotImplementedError("ScriptedModel does not do structured output")

    def _next_turn(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if not self.turns:
                raise ScriptExhausted(f"the script has no turn left after {len(self.calls)} calls")
            turn = self.turns.pop(0)
        return turn(messages) if callable(turn) else turn

    async def stream(
        self,
        messages: Any,
        tool_specs: list[Any] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[dict[str, Any]]:
        """Stream the next scripted turn as provider events, with counted usage."""
        snapshot = json.loads(json.dumps(list(messages), default=str))
        self.calls.append(
            {
                "messages": snapshot,
                "tools": [spec["name"] for spec in tool_specs or []],
                "system_prompt": system_prompt,
            }
        )
        turn = self._next_turn(snapshot)
        yield {"messageStart": {"role": "assistant"}}
        uses_tool = False
        for block in turn["content"]:
            if "text" in block:
                yield {"contentBlockStart": {"start": {}}}
                yield {"contentBlockDelta": {"delta": {"text": block["text"]}}}
                yield {"contentBlockStop": {}}
            elif "toolUse" in block:
                uses_tool = True
                use = block["toolUse"]
                yield {
                    "contentBlockStart": {
                        "start": {"toolUse": {"name": use["name"], "toolUseId": use["toolUseId"]}}
                    }
                }
                yield {
                    "contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(use["input"])}}}
                }
                yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": "tool_use" if uses_tool else "end_turn"}}
        input_tokens = count_tokens([system_prompt, snapshot, tool_specs])
        output_tokens = count_tokens(turn["content"])
        yield {
            "metadata": {
                "usage": {
                    "inputTokens": input_tokens,
                    "outputTokens": output_tokens,
                    "totalTokens": input_tokens + output_tokens,
                },
                "metrics": {"latencyMs": 1},
            }
        }
