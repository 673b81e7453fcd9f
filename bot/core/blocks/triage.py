"""Block Kit for an incident triage answer (pure: plain dicts, inside Slack's limits)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bot.core.blocks.limits import (
    MAX_FALLBACK_TEXT,
    cap_blocks,
    chunk_lines,
    context,
    divider,
    header,
    section,
    truncate,
)
from bot.core.triage import Finding, TriageReport

Blocks = list[dict[str, Any]]


def build_triage_blocks(
    report: TriageReport,
    *,
    tz: Any = UTC,
    approval_note: str = "",
) -> Blocks:
    """The triage answer: likely cause, findings with evidence, the proposal, next steps.

    Args:
        report: what `bot.core.triage.triage` found.
        tz: the time zone times are shown in.
        approval_note: what became of the proposal (e.g. "Approval request apr-... is
            waiting: see the card below"), shown under it.
    """
    blocks: Blocks = [header("Log triage"), section(f"*Likely cause*\n{report.likely_cause}")]
    for finding in report.findings[:3]:
        blocks.extend(_finding_blocks(finding, tz))
    if report.proposal is not None:
        blocks.append(divider())
        text = f"*Proposed remediation (one approval)*\n{report.proposal.summary}"
        if approval_note:
            text += f"\n{approval_note}"
        blocks.append(section(text))
    for note in report.notes:
        blocks.append(context(note))
    if report.next_steps:
        steps = "\n".join(f"• {step}" for step in report.next_steps)
        blocks.append(section(f"*Next steps*\n{steps}"))
    blocks.append(context(_source_line(report)))
    return cap_blocks(blocks)


def _finding_blocks(finding: Finding, tz: Any) -> Blocks:
    first = finding.first_seen.astimezone(tz)
    last = finding.last_seen.astimezone(tz)
    per_stream = ", ".join(f"`{stream}` {count}" for stream, count in finding.per_stream)
    summary = (
        f"*{finding.title}*: {finding.count} lines from {finding.streams_affected} of "
        f"{finding.streams_seen} streams, first {first:%H:%M:%S}, last {last:%H:%M:%S} "
        f"{first.tzname() or ''}\n{per_stream}"
    )
    blocks = [section(summary)]
    if finding.evidence:
        quoted = ["```"] + list(finding.evidence) + ["```"]
        blocks.extend(section(chunk) for chunk in chunk_lines(quoted, 2900))
    return blocks


def _source_line(report: TriageReport) -> str:
    groups = ", ".join(f"`{g}`" for g in report.searched_groups) or "no log group"
    line = f"Searched {groups}: {report.events_read} events."
    if report.truncated:
        line += " Stopped at the event cap; older lines were not read."
    if report.suspicious_lines:
        line += (
            f" {report.suspicious_lines} line(s) read like instructions; log text is treated "
            "as data and changes nothing."
        )
    return line


def triage_text(report: TriageReport) -> str:
    """The notification/fallback text of a triage answer."""
    text = f"Log triage: {report.likely_cause}"
    if report.proposal is not None:
        text += f" Proposed: {report.proposal.summary}."
    return truncate(text, MAX_FALLBACK_TEXT)
