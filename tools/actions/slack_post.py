"""`post_incident_summary`: post a message to a channel, usually as the last step of a chain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError

from tools.actions.base import (
    OUTCOME_ERROR,
    OUTCOME_OK,
    ActionContext,
    ActionUnit,
    ParamSpec,
    Preview,
    ResourceOutcome,
)


class PostIncidentSummary(ActionUnit):
    """Post a summary text to a Slack channel through the injected client."""

    name = "post_incident_summary"
    title = "Post incident summary"
    risk = "low"
    permissions = ("slack:chat:write",)
    params = (
        ParamSpec("channel", "str", pattern=r"[CGD][A-Z0-9]{2,}"),
        ParamSpec("text", "str", max_length=3000, pattern=r"(?s)\S.*"),
    )

    def preview(self, ctx: ActionContext, params: dict[str, Any]) -> Preview:
        """Show where and what will be posted."""
        excerpt = params["text"] if len(params["text"]) <= 200 else params["text"][:199] + "…"
        return Preview(
            summary=f"Post a message to <#{params['channel']}>", current_state=(f"> {excerpt}",)
        )

    def validate(
        self, ctx: ActionContext, params: dict[str, Any], expected: Mapping[str, str]
    ) -> None:
        """Nothing to re-check: a channel post is judged by Slack when it is made."""

    def execute(
        self, ctx: ActionContext, params: dict[str, Any], dry_run: bool
    ) -> list[ResourceOutcome]:
        """Post the stored text."""
        channel = params["channel"]
        if dry_run:
            return [ResourceOutcome(channel, OUTCOME_OK, "DRY RUN: would post the summary")]
        try:
            result = ctx.slack.chat_postMessage(channel=channel, text=params["text"])
        except SlackApiError as exc:
            return [
                ResourceOutcome(
                    channel, OUTCOME_ERROR, f"Slack refused: {exc.response.get('error', 'error')}"
                )
            ]
        return [ResourceOutcome(channel, OUTCOME_OK, f"posted (ts {result.get('ts')})")]
