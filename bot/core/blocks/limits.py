"""Slack's Block Kit limits and small helpers that keep any builder inside them.

Slack rejects a whole message when one block breaks a limit, so builders trim text and
cap block counts here rather than trusting their input to be short.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_LABEL = 75
MAX_FALLBACK_TEXT = 3000
ELLIPSIS = "…"


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


def section_text(text: str) -> str:
    """Text that fits a section's `text` (3000 characters)."""
    return truncate(text, MAX_SECTION_TEXT)


def header_text(text: str) -> str:
    """Text that fits a header block (150 characters)."""
    return truncate(text, MAX_HEADER_TEXT)


def button_label(text: str) -> str:
    """Text that fits a button label (75 characters)."""
    return truncate(text, MAX_BUTTON_LABEL)


def header(text: str) -> dict[str, Any]:
    """A header block."""
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": header_text(text), "emoji": True},
    }


def section(text: str) -> dict[str, Any]:
    """A section block with mrkdwn text."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": section_text(text)}}


def fields_section(fields: Iterable[str]) -> dict[str, Any]:
    """A section of mrkdwn fields (at most 10, each at most 2000 characters)."""
    items = [{"type": "mrkdwn", "text": truncate(f, MAX_FIELD_TEXT)} for f in fields]
    return {"type": "section", "fields": items[:MAX_FIELDS]}


def context(*texts: str) -> dict[str, Any]:
    """A context block of mrkdwn texts (at most 10 elements)."""
    elements = [{"type": "mrkdwn", "text": section_text(t)} for t in texts if t]
    return {"type": "context", "elements": elements[:MAX_CONTEXT_ELEMENTS]}


def divider() -> dict[str, Any]:
    """A divider block."""
    return {"type": "divider"}


def chunk_lines(lines: Iterable[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Join lines into texts of at most `limit` characters each, never splitting a line
    (a line longer than `limit` is truncated on its own)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def cap_blocks(blocks: list[dict[str, Any]], limit: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    """`blocks` limited to `limit`; when cut, the last kept block says how many were left out."""
    if len(blocks) <= limit:
        return blocks
    left_out = len(blocks) - (limit - 1)
    return [*blocks[: limit - 1], context(f"{left_out} more block(s) not shown (Slack's limit).")]
