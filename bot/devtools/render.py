"""Render Block Kit as readable terminal text, numbering buttons so they can be pressed."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Any

_WIDTH = 88
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<([@#!])([A-Z0-9^]+)(?:\|([^>]+))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")


@dataclass(frozen=True)
class Button:
    """A button shown on screen, with what pressing it sends."""

    number: int
    label: str
    action_id: str
    value: str
    block_id: str
    style: str | None
    confirm: dict[str, Any] | None


def mrkdwn_to_text(text: str) -> str:
    """Strip Slack's mrkdwn to plain terminal text (links as `label (url)`, mentions as @id)."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _MENTION.sub(lambda m: ("#" if m.group(1) == "#" else "@") + (m.group(3) or m.group(2)), text)
    text = _ITALIC.sub(r"\1", _BOLD.sub(r"\1", text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    return mrkdwn_to_text(str(obj.get("text", "")))


def _wrap(text: str, indent: str = "  ") -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(raw, _WIDTH, initial_indent=indent, subsequent_indent=indent)
            or [indent.rstrip()]
        )
    return lines


def render_blocks(
    blocks: list[dict[str, Any]], first_button: int = 1
) -> tuple[list[str], list[Button]]:
    """Lines of text for a message's blocks, and the buttons numbered from `first_button`."""
    lines: list[str] = []
    buttons: list[Button] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block.get("text"))
            lines += ["", f"  {title.upper()}", "  " + "=" * min(len(title), _WIDTH)]
        elif kind == "section":
            if block.get("text"):
                lines += _wrap(_text_of(block["text"]))
            fields = [_text_of(f) for f in block.get("fields") or []]
            for i in range(0, len(fields), 2):
                pair = fields[i : i + 2]
                lines += _wrap("    ".join(p.replace("\n", " ") for p in pair))
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                buttons.append(_button(accessory, block, first_button + len(buttons)))
                lines.append(f"  [{buttons[-1].number}] {buttons[-1].label}")
        elif kind == "context":
            parts = [
                _text_of(e) if e.get("type") != "image" else f"[{e.get('alt_text', 'image')}]"
                for e in block.get("elements") or []
            ]
            lines += _wrap("  ".join(parts), indent="  · ")
        elif kind == "divider":
            lines.append("  " + "─" * 40)
        elif kind == "actions":
            row = []
            for element in block.get("elements") or []:
                if element.get("type") == "button":
                    buttons.append(_button(element, block, first_button + len(buttons)))
                    row.append(f"[{buttons[-1].number}] {buttons[-1].label}")
            if row:
                lines.append("  " + "   ".join(row))
        elif kind == "image":
            lines.append(f"  [image: {block.get('alt_text', '')}]")
        elif kind == "rich_text":
            lines += _wrap(_rich_text(block))
    return lines, buttons


def _button(element: dict[str, Any], block: dict[str, Any], number: int) -> Button:
    label = _text_of(element.get("text"))
    style = element.get("style")
    shown = f"{label}{' (' + style + ')' if style else ''}"
    return Button(
        number,
        shown,
        element.get("action_id", ""),
        element.get("value", ""),
        block.get("block_id", ""),
        style,
        element.get("confirm"),
    )


def _rich_text(block: dict[str, Any]) -> str:
    out: list[str] = []
    for element in block.get("elements") or []:
        for item in element.get("elements") or []:
            out.append(str(item.get("text", "")))
    return "".join(out)
