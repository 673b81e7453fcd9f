"""Block Kit for `/penny help`."""

from __future__ import annotations

import difflib
from typing import Any


def build_penny_help_blocks(
    rows: list[tuple[str, str]], *, unknown: str | None = None, known: list[str] | None = None
) -> list[dict[str, Any]]:
    """List each `/penny` subcommand's usage and summary; name an unknown word and the closest one."""
    blocks: list[dict[str, Any]] = []
    if unknown:
        close = difflib.get_close_matches(unknown, known or [], n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f":thinking_face: I don't know `/penny {unknown}`.{hint}",
                },
            }
        )
    blocks.append(
        {"type": "header", "text": {"type": "plain_text", "text": "Penny admin commands"}}
    )
    lines = [f"`/penny {usage}`  {summary}" for usage, summary in rows] or [
        "No subcommands are available."
    ]
    lines.append("`/penny help`  this list")
    text = "\n".join(lines)
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    return blocks
