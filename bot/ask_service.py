"""Answering a question asked in Slack (a mention or a DM): the fast path, then the LLM.

`answer_in_thread(deps, text, user, channel, thread_ts)` routes the question with the
deterministic router (against the thread's previous intent, kept in SQLite so follow-ups
survive a restart) and answers through the same engines as the slash commands: the cost
engine, the anomaly detector, the idle-resources finder, the approvals engine (an action
is only ever a request for approval) and incident triage over CloudWatch Logs. Questions
outside the fast path go to the LLM agent when one is configured and Penny's daily LLM
budget is not spent; otherwise the answer lists what Penny can do.

Every question is recorded in the usage log (bot/agent/usage.py): fast-path answers here,
LLM answers by the agent service (which knows the tokens).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.agent.usage import (
    PATH_FAST,
    QuestionUsage,
    ToolCall,
    daily_spend,
    over_budget,
    record_question,
    usage_rows,
    usage_summary,
)
from bot.core import messages
from bot.core.anomaly import detect_anomalies
from bot.core.ask import biggest_movers, usage_window
from bot.core.blocks.ask import (
    build_anomalies_blocks,
    build_capabilities_blocks,
    build_compare_blocks,
    build_note_blocks,
    build_usage_blocks,
    capabilities_text,
    compare_text,
)
from bot.core.blocks.triage import build_triage_blocks, triage_text
from bot.core.cost_engine import answer_cost_command, explain_cost_error
from bot.core.cost_grammar import CostGrammarError, GroupBy, parse_cost_command
from bot.core.cost_report import sum_by_group
from bot.core.errors import CostExplorerError
from bot.core.intents import (
    ACTION,
    ANOMALIES,
    COMPARE,
    COST_SHAPED,
    HELP,
    IDLE_RESOURCES,
    LOGS_TRIAGE,
    UNKNOWN,
    USAGE,
    Intent,
    route,
)
from bot.core.replies import Reply
from bot.core.triage import triage
from bot.deps import Deps
from bot.store import ask_threads

logger = logging.getLogger(__name__)

ANOMALY_HISTORY_DAYS = 70
USAGE_TYPE = GroupBy("DIMENSION", "USAGE_TYPE", "usage type")
SERVICE = "SERVICE"
CHAT_ORIGIN = "chat"


@dataclass
class Outcome:
    """What answering one question produced, for the usage log."""

    tools: list[ToolCall] = field(default_factory=list)
    approvals: list[str] = field(default_factory=list)
    error: str | None = None
    # True when the question was handed to the LLM agent, which records its own usage.
    handed_to_llm: bool = False


@dataclass(frozen=True)
class Question:
    """One question in one thread."""

    text: str
    user: str
    channel: str
    thread_ts: str
    conversation: str = ""  # memory key besides the thread (a DM's top-level messages)


def answer_in_thread(
    deps: Deps,
    text: str,
    user: str,
    channel: str,
    thread_ts: str,
    conversation: str | None = None,
) -> Reply:
    """Answer a question asked in a thread (or a DM) with the fast path, else the LLM.

    Args:
        deps: Penny's dependencies.
        text: the question, the mention of Penny removed (untrusted: only read).
        user: the asker's Slack user id (an approval request is filed for them).
        channel: the channel or DM id.
        thread_ts: the thread to answer in (the message's thread_ts or its own ts).
        conversation: another key the previous intent is kept under, for follow-ups that
            are not threaded (top-level messages in a DM); None when only the thread counts.

    Returns:
        The Reply to post in the thread; never raises (errors are explained).
    """
    question = Question(text.strip(), user, channel, thread_ts, conversation or "")
    started = time.monotonic()
    previous = _previous_intent(deps, question)
    intent = route(question.text, deps.today(), previous)
    logger.info(
        "channel=<%s>, intent=<%s>, confidence=<%.2f> | question routed",
        channel,
        intent.name,
        intent.confidence,
    )
    if intent.name == UNKNOWN:
        return _beyond_the_fast_path(deps, question, started)
    outcome = Outcome()
    try:
        reply = FAST_PATH[intent.name](deps, question, intent, outcome)
    except Exception as exc:  # one bad answer must not take the thread down; say so instead
        logger.exception("intent=<%s> | fast-path answer failed", intent.name)
        outcome.error = type(exc).__name__
        reply = _error_reply("answer that")
    if outcome.error is None:
        for key in _memory_keys(question):
            ask_threads.remember_intent(deps.store, channel, key, intent.as_dict(), deps.clock())
    if not outcome.handed_to_llm:
        _record_fast(deps, question, outcome, started)
    return reply


def _memory_keys(question: Question) -> list[str]:
    return [key for key in (question.thread_ts, question.conversation) if key]


def _previous_intent(deps: Deps, question: Question) -> Intent | None:
    for key in _memory_keys(question):
        stored = ask_threads.previous_intent(deps.store, question.channel, key)
        if stored:
            return Intent.from_dict(stored)
    return None


# -- beyond the fast path ---------------------------------------------------------------


def llm_available(deps: Deps) -> bool:
    """True when an LLM agent is attached (bot.agent.service leaves none for PENNY_LLM=none)."""
    return deps.agent is not None


def _beyond_the_fast_path(deps: Deps, question: Question, started: float) -> Reply:
    if llm_available(deps) and not over_budget(deps):
        return _ask_agent(deps, question)
    outcome = Outcome()
    if llm_available(deps):
        budget = deps.settings.llm_daily_budget_usd
        note = (
            f"Penny's LLM budget for today (${budget:.2f}) is used up, so I'm answering with the "
            "fast path only until tomorrow."
        )
        opening = "I can't take free-form questions right now, but these still work:"
    else:
        note = "No language model is configured, so I answer these shapes only."
        opening = "I didn't catch that one. Here is what I can answer:"
    _record_fast(deps, question, outcome, started)
    return Reply(text=f"{opening} {note}", blocks=build_capabilities_blocks(opening, note))


def _ask_agent(deps: Deps, question: Question) -> Reply:
    from bot.agent.service import answer_question

    answer = answer_question(
        deps, question.text, question.user, question.channel, question.thread_ts
    )
    return Reply(text=answer.text, blocks=list(answer.blocks))


# -- fast-path answers ------------------------------------------------------------------

Answer = Callable[[Deps, Question, Intent, Outcome], Reply]


def answer_cost(deps: Deps, question: Question, intent: Intent, outcome: Outcome) -> Reply:
    """Spend, top services, forecast and budgets: the `/cost` engine on the intent's command."""
    command = str(intent.args.get("cost_command", ""))
    outcome.tools.append(ToolCall("cost_engine", "success"))
    answer = answer_cost_command(
        command,
        source=deps.cost,
        today=deps.today(),
        metric=deps.settings.cost_metric,
        now=deps.clock(),
    )
    blocks = list(answer.blocks)
    blocks.append(_context(f"Answered as `/cost {command}`."))
    return Reply(text=answer.text, blocks=blocks)


def answer_compare(deps: Deps, question: Question, intent: Intent, outcome: Outcome) -> Reply:
    """Both periods and the biggest movers by the intent's group, drilling into usage types."""
    today, metric = deps.today(), deps.settings.cost_metric
    try:
        query = parse_cost_command(str(intent.args["cost_command"]), today)
        baseline = parse_cost_command(str(intent.args["baseline_command"]), today)
    except CostGrammarError as exc:
        return Reply(text=exc.message, blocks=build_note_blocks(f":warning: {exc.message}"))
    try:
        now_costs = _grouped(deps, query.period, query.group_by, query.filter_expression(), metric)
        before = _grouped(deps, baseline.period, query.group_by, query.filter_expression(), metric)
        movers = biggest_movers(now_costs, before)
        drill = None
        if query.group_by.key == SERVICE and movers:
            drill = _usage_type_movers(deps, query, baseline, movers[0].key, metric)
    except CostExplorerError as exc:
        outcome.tools.append(ToolCall("cost_explorer", "error"))
        message = explain_cost_error(exc)
        return Reply(text=message, blocks=build_note_blocks(f":warning: {message}"))
    outcome.tools.append(ToolCall("cost_explorer", "success"))
    blocks = build_compare_blocks(
        period=query.period,
        baseline=baseline.period,
        total=now_costs.total,
        baseline_total=before.total,
        movers=movers,
        group_label=query.group_by.label,
        currency=now_costs.currency,
        metric=metric,
        estimated=now_costs.estimated or before.estimated,
        filters=[f.describe() for f in query.filters],
        drill_down=drill,
    )
    text = compare_text(
        query.period, baseline.period, now_costs.total, before.total, now_costs.currency
    )
    return Reply(text=text, blocks=blocks)


def _grouped(deps: Deps, period: Any, group_by: GroupBy, filter_: Any, metric: str) -> Any:
    response = deps.cost.cost_and_usage(
        start=period.start,
        end=period.end_exclusive,
        granularity="MONTHLY",
        metric=metric,
        group_by=group_by.as_request(),
        filter=filter_,
    )
    return sum_by_group(response, metric, group_by)


def _usage_type_movers(deps: Deps, query: Any, baseline: Any, service: str, metric: str) -> Any:
    only_service = {"Dimensions": {"Key": SERVICE, "Values": [service]}}
    expression = query.filter_expression()
    filter_ = {"And": [expression, only_service]} if expression else only_service
    now_costs = _grouped(deps, query.period, USAGE_TYPE, filter_, metric)
    before = _grouped(deps, baseline.period, USAGE_TYPE, filter_, metric)
    return service, biggest_movers(now_costs, before, limit=3)


def answer_anomalies(deps: Deps, question: Question, intent: Intent, outcome: Outcome) -> Reply:
    """Penny's detector on daily spend by service over the last weeks."""
    today, metric = deps.today(), deps.settings.cost_metric
    as_of = today - timedelta(days=1)
    first = today - timedelta(days=ANOMALY_HISTORY_DAYS)
    from schedules.anomaly_report import detector_settings
    from schedules.common import daily_cost_by

    try:
        by_service = daily_cost_by(deps, SERVICE, first, today)
    except CostExplorerError as exc:
        outcome.tools.append(ToolCall("cost_explorer", "error"))
        message = explain_cost_error(exc)
        return Reply(text=message, blocks=build_note_blocks(f":warning: {message}"))
    outcome.tools.append(ToolCall("anomaly_detector", "success"))
    series = {service: sorted(days.items()) for service, days in by_service.items()}
    wanted = str(intent.args.get("service", "")).lower()
    if wanted:
        series = {k: v for k, v in series.items() if wanted in k.lower()} or series
    anomalies = detect_anomalies(series, as_of, settings=detector_settings(deps))
    text = f"{len(anomalies)} cost anomalies by service up to {as_of.isoformat()}."
    blocks = build_anomalies_blocks(anomalies, first_day=first, as_of=as_of, metric=metric)
    return Reply(text=text, blocks=blocks)


def answer_idle(deps: Deps, question: Question, intent: Intent, outcome: Outcome) -> Reply:
    """Idle resources now, read-only (actions go through an approval request)."""
    try:
        from bot.core.blocks.reports import IdleFinding, build_idle_resources_blocks
        from bot.core.schedule_config import IDLE_RESOURCES as JOB
        from schedules.common import job_config
        from schedules.idle_resources import by_savings, find_idle_resources, idle_report
    except ImportError:
        text = "The idle-resources finder is not installed here; run `python -m bot jobs run idle_resources`."
        return Reply(text=text, blocks=build_note_blocks(text))
    now = deps.clock()
    opts = dict(job_config(deps, JOB).settings)
    raw, regions, _, notes = find_idle_resources(deps, now, opts)
    outcome.tools.append(ToolCall("idle_resources", "success"))
    findings = [
        IdleFinding(
            finding_id=f"ask:{item['resource_id']}",
            kind=item["kind"],
            resource_id=item["resource_id"],
            region=item["region"],
            description=item["description"],
            monthly_usd=_decimal(item.get("monthly_usd")),
            action=None,  # buttons belong to the weekly report, whose findings are stored
        )
        for item in by_savings(raw)
    ]
    report = idle_report(deps, now, opts, findings, regions, notes)
    blocks = build_idle_resources_blocks(report)
    blocks.append(
        _context("To act on one, ask e.g. `stop i-0abc…`: Penny files an approval request.")
    )
    return Reply(text=f"{len(report.findings)} idle resource(s) found.", blocks=blocks)


def _decimal(value: Any) -> Any:
    from decimal import Decimal

    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def answer_action(deps: Deps, question: Question, intent: Intent, outcome: Outcome) -> Reply:
    """File an approval request for what the user asked (never run it); ask when no target."""
    action = str(intent.args.get("action", ""))
    ids = tuple(intent.args.get("ids", ()))
    resource = str(intent.args.get("resource", ""))
    if not ids:
        text = which_resource_text(action, resource)
        return Reply(text=text, blocks=build_note_blocks(text))
    filed: list[str] = []
    for params in action_params(action, ids):
        request_id, problem = file_approval_request(
            deps, question, action, params, f"Asked in Slack: {question.text[:300]}", outcome
        )
        if request_id is None:
            text = f":warning: I can't request that: {problem}"
            return Reply(text=text, blocks=build_note_blocks(text))
        filed.append(request_id)
    ids_text = ", ".join(f"`{request_id}`" for request_id in filed)
    text = (
        f":inbox_tray: Approval request {ids_text} for `{action}` is waiting: see the card in this "
        "thread. Nothing runs until an approver clicks Approve."
    )
    return Reply(text=text, blocks=build_note_blocks(text))


def action_params(action: str, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """The approval request parameters for an action intent: one request per RDS instance."""
    if action.endswith("_ec2_instances"):
        return [{"instance_ids": list(ids)}]
    return [{"db_instance_id": one} for one in ids]


def which_resource_text(action: str, resource: str) -> str:
    """The question back when an action has no target: Penny never guesses one."""
    verb = action.split("_", 1)[0] or "act on"
    if resource == "ec2":
        example = f"`{verb} i-0123456789abcdef0`"
        kind = "EC2 instance(s)"
    else:
        example = f"`{verb} orders-db`"
        kind = "RDS instance"
    return f"Which {kind} should I {verb}? Name it, e.g. {example}; I'll file an approval request."


def answer_triage(deps: Deps, question: Question, intent: Intent, outcome: Outcome) -> Reply:
    """Incident triage over CloudWatch Logs, with a chained remediation under one approval."""
    from bot.aws.logs import LogsUnavailable, fetch_incident_evidence, lookback_for

    now = deps.clock()
    try:
        evidence = fetch_incident_evidence(
            deps.aws(),
            now=now,
            log_group=_optional(intent.args.get("log_group")),
            hint=_optional(intent.args.get("hint")),
            lookback=lookback_for(_optional(intent.args.get("period"))),
        )
    except LogsUnavailable as exc:
        outcome.tools.append(ToolCall("logs_search", "error"))
        return Reply(text=str(exc), blocks=build_note_blocks(f":warning: {exc}"))
    outcome.tools.append(ToolCall("logs_search", "success"))
    report = triage(
        evidence.events,
        evidence.databases,
        searched_groups=evidence.groups,
        alerts_channel=alerts_channel(deps, question.channel),
        tz=deps.settings.tz,
        truncated=evidence.truncated,
    )
    if not report.findings and llm_available(deps) and not over_budget(deps):
        # No known failure signature: the LLM reads the logs with its own tools.
        outcome.handed_to_llm = True
        return _ask_agent(deps, question)
    note = ""
    if report.proposal is not None:
        note = _file_proposal(deps, question, report.proposal, outcome)
    blocks = build_triage_blocks(report, tz=deps.settings.tz, approval_note=note)
    return Reply(text=triage_text(report), blocks=blocks)


def alerts_channel(deps: Deps, current: str) -> str:
    """The alerts channel from penny.toml (`[alerts] channel`), else the current channel."""
    configured = deps.settings.section("alerts").get("channel")
    return str(configured) if configured else current


def file_approval_request(
    deps: Deps,
    question: Question,
    action: str,
    params: dict[str, Any],
    reason: str,
    outcome: Outcome,
) -> tuple[str | None, str]:
    """File an approval request (its card goes in the thread); (request id, "") or (None, why not)."""
    from bot.approvals_engine import ApprovalError, request_action

    try:
        request = request_action(
            deps,
            action,
            params,
            requested_by=question.user,
            reason=reason,
            channel=question.channel,
            thread_ts=question.thread_ts,
            source="chat",
            origin={
                "kind": CHAT_ORIGIN,
                "channel": question.channel,
                "thread_ts": question.thread_ts,
            },
        )
    except ApprovalError as exc:
        outcome.tools.append(ToolCall(action, "error"))
        return None, str(exc)
    outcome.approvals.append(request.id)
    outcome.tools.append(ToolCall(action, "requested"))
    return request.id, ""


def _file_proposal(deps: Deps, question: Question, proposal: Any, outcome: Outcome) -> str:
    request_id, problem = file_approval_request(
        deps, question, proposal.action, proposal.params, proposal.reason, outcome
    )
    if request_id is None:
        return f":warning: I could not file the approval request: {problem}"
    return (
        f":inbox_tray: Approval request `{request_id}` is waiting: see the card in this thread. "
        "Nothing runs until an approver clicks Approve."
    )


def _optional(value: Any) -> str | None:
    return str(value) if value else None


def answer_usage(deps: Deps, question: Question, intent: Intent, outcome: Outcome) -> Reply:
    """Penny's own usage, as `/penny usage` shows it."""
    window = str(intent.args.get("period", "today"))
    return usage_reply(deps, window if window in ("today", "7d", "30d") else "today")


def answer_help(deps: Deps, question: Question, intent: Intent, outcome: Outcome) -> Reply:
    """What Penny can do."""
    opening = "Here is what I can answer in a thread or a DM:"
    return Reply(text=capabilities_text(opening), blocks=build_capabilities_blocks(opening))


def usage_reply(deps: Deps, window: str) -> Reply:
    """Penny's own usage over `today`, `7d` or `30d`: by day, user and channel, tools, approvals."""
    first, last = usage_window(window, deps.today())
    summary = usage_summary(deps.store, first, last)
    rows = usage_rows(deps.store, first, last)
    tools: dict[str, int] = {}
    for row in rows:
        for call in row["tools"]:
            tools[call["name"]] = tools.get(call["name"], 0) + 1
    approvals = sum(len(row["approvals"]) for row in rows)
    blocks = build_usage_blocks(
        summary,
        window=window,
        first_day=first,
        last_day=last,
        budget_usd=float(deps.settings.llm_daily_budget_usd),
        spent_today_usd=daily_spend(deps.store, deps.today()),
        tools=tools,
        approvals=approvals,
        as_of=deps.clock().astimezone(deps.settings.tz),
    )
    return Reply(text=f"Penny's usage ({window}): {len(rows)} questions.", blocks=blocks)


FAST_PATH: dict[str, Answer] = {
    **{name: answer_cost for name in COST_SHAPED},
    COMPARE: answer_compare,
    ANOMALIES: answer_anomalies,
    IDLE_RESOURCES: answer_idle,
    ACTION: answer_action,
    LOGS_TRIAGE: answer_triage,
    USAGE: answer_usage,
    HELP: answer_help,
}


# -- bookkeeping ------------------------------------------------------------------------


def _record_fast(deps: Deps, question: Question, outcome: Outcome, started: float) -> None:
    now = deps.clock()
    usage = QuestionUsage(
        at=now,
        day=deps.today(),
        user=question.user,
        channel=question.channel,
        path=PATH_FAST,
        thread_ts=question.thread_ts,
        latency_ms=int((time.monotonic() - started) * 1000),
        tools=outcome.tools,
        approvals=outcome.approvals,
        stop_reason="fast_path",
        error=outcome.error,
    )
    try:
        record_question(deps.store, usage)
    except Exception:  # the usage log must never cost the user their answer
        logger.exception("channel=<%s> | could not record usage", question.channel)


def _error_reply(doing: str) -> Reply:
    text = messages.something_went_wrong(doing)
    return Reply(text=text, blocks=build_note_blocks(text))


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
