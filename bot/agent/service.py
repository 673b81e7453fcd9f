"""The LLM path of "Ask Penny": answer a question in a thread, resume after an approval.

`answer_question(deps, question, user, channel, thread_ts)` runs the thread's agent on a
question and returns an AgentReply for the caller (handlers/ask.py) to post in the thread;
it never raises for model, AWS or limit problems, it explains them. The budget switch
(PENNY_LLM_DAILY_BUDGET_USD) and PENNY_LLM=none are answered without calling a model.

`resume_after_decision(deps, request)` is the approvals engine's outcome listener for
origin kind "agent": it resumes the paused run with the decision and posts the agent's
report in the thread itself (there is no Slack event to answer). See bot/agent/gate.py.

Wiring: `attach(deps)` (composition root, after bot.approvals_engine) builds the model
from Settings (a missing provider package stops start-up with ConfigError) and puts an
AgentRuntime on `deps.agent`, or None for PENNY_LLM=none; it registers the listener
either way, so a decision still gets its outcome posted when the LLM is off.
`install_agent(deps, model)` does the same with a given Model (tests, the console).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from bot.agent.factory import AgentLimits, QuestionContext, RunRecord, build_agent
from bot.agent.gate import (
    INTERRUPT_NAME,
    ORIGIN_KIND,
    WAITING,
    claim_for_resume,
    finish_resume,
    gated_call_for_request,
    outcome_response,
    set_interrupt_id,
)
from bot.agent.providers import ModelChoice, ProviderUnavailable, build_model, model_choice
from bot.agent.sessions import prune_session_messages, thread_session_id
from bot.agent.usage import (
    PATH_LLM,
    QuestionUsage,
    estimate_cost,
    over_budget,
    price_table,
    record_question,
)
from bot.core.approvals import FINAL_STATES, ApprovalRequest

logger = logging.getLogger(__name__)

STATUS_ANSWERED = "answered"
STATUS_WAITING = "waiting_for_approval"
STATUS_LIMIT = "limit_reached"
STATUS_ERROR = "error"
STATUS_UNAVAILABLE = "llm_off"
STATUS_OVER_BUDGET = "over_budget"
STATUS_BUSY = "thread_waiting"

SECTION_LIMIT = 2900
MAX_SECTIONS = 20
_session_locks: dict[str, threading.Lock] = {}
_session_locks_guard = threading.Lock()
_engines_with_listener: weakref.WeakSet[Any] = weakref.WeakSet()


@dataclass(frozen=True)
class AgentReply:
    """What to post in the thread: `text` (notification and fallback) and Block Kit `blocks`.

    `status` is one of answered, waiting_for_approval, limit_reached, error, llm_off,
    over_budget, thread_waiting; `approvals` are the request ids filed by this run.
    """

    text: str
    blocks: list[dict[str, Any]]
    status: str
    approvals: tuple[str, ...] = ()
    usage_id: int | None = None


@dataclass
class AgentRuntime:
    """The model and its settings, shared by every question of the process (on deps.agent)."""

    model: Any
    choice: ModelChoice
    limits: AgentLimits = field(default_factory=AgentLimits)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)


# -- wiring --------------------------------------------------------------------------------


def attach(deps: Any) -> None:
    """Composition-root hook: the model from Settings on deps.agent, and the outcome listener."""
    from bot.config import ConfigError

    try:
        model = build_model(deps.settings, deps.aws)
    except ProviderUnavailable as exc:
        raise ConfigError([str(exc)]) from exc
    if model is None:
        deps.agent = None
        register_outcome_listener(deps)
        return
    install_agent(deps, model)


def on_start(deps: Any) -> None:
    """Serving-process hook: trace export when configured, and the outcome listener on the
    current approvals engine."""
    from bot.agent.telemetry import setup_tracing

    deps.extras["tracer_provider"] = setup_tracing(deps.settings)
    register_outcome_listener(deps)


def install_agent(deps: Any, model: Any, choice: ModelChoice | None = None) -> AgentRuntime:
    """Put an AgentRuntime for `model` on deps.agent and register the outcome listener."""
    choice = choice or model_choice(deps.settings) or ModelChoice("custom", _model_id(model))
    runtime = AgentRuntime(
        model=model,
        choice=choice,
        limits=AgentLimits.from_settings(deps.settings),
        prices=price_table(deps.settings.section("llm")),
    )
    deps.agent = runtime
    register_outcome_listener(deps)
    return runtime


def register_outcome_listener(deps: Any) -> None:
    """Listen for decisions on requests the agent filed (once per approvals engine)."""
    from bot.approvals_engine import get_engine

    engine = get_engine(deps)
    if engine in _engines_with_listener:
        return
    engine.add_outcome_listener(ORIGIN_KIND, resume_after_decision)
    _engines_with_listener.add(engine)


def _model_id(model: Any) -> str:
    try:
        return str(model.get_config().get("model_id", type(model).__name__))
    except Exception:  # a model without a config still gets a name in the usage log
        return type(model).__name__


def _session_lock(session_id: str) -> threading.Lock:
    """One run at a time per thread in this process (a question and a resume never overlap)."""
    with _session_locks_guard:
        return _session_locks.setdefault(session_id, threading.Lock())


# -- answering -----------------------------------------------------------------------------


def answer_question(
    deps: Any, question: str, user: str, channel: str, thread_ts: str | None
) -> AgentReply:
    """Answer a question with the LLM agent in the thread's session; never raises.

    Args:
        deps: Penny's Deps with `deps.agent` set by attach()/install_agent().
        question: the user's text, mention removed.
        user: Slack user id of the asker (gated tools file approval requests for them).
        channel: the channel or DM id.
        thread_ts: the thread's root ts (the session key); None for a DM without a thread.

    Returns:
        An AgentReply to post in the thread.
    """
    runtime: AgentRuntime | None = deps.agent
    if runtime is None:
        return _plain_reply(llm_off_text(), STATUS_UNAVAILABLE)
    if over_budget(deps):
        return _plain_reply(
            over_budget_text(deps.settings.llm_daily_budget_usd), STATUS_OVER_BUDGET
        )
    session_id = thread_session_id(channel, thread_ts)
    waiting = _waiting_requests(deps, session_id)
    if waiting:
        return _plain_reply(thread_waiting_text(waiting), STATUS_BUSY)
    context = QuestionContext(
        user=user, channel=channel, thread_ts=thread_ts, session_id=session_id
    )
    with _session_lock(session_id):
        return _run(deps, runtime, context, question)


def _waiting_requests(deps: Any, session_id: str) -> list[str]:
    """Requests this thread's paused run still waits for; decided ones are resumed now.

    A decision whose notification was missed (the process died before its listener ran)
    would otherwise keep the thread paused forever.
    """
    from bot.store.approvals import get_request

    waiting = []
    rows = deps.store.query(
        "SELECT request_id FROM agent_gated_calls WHERE session_id = ? AND state = ?",
        [session_id, WAITING],
    )
    for row in rows:
        request = get_request(deps.store, row["request_id"])
        if request is not None and request.state in FINAL_STATES:
            resume_after_decision(deps, request)
        else:
            waiting.append(row["request_id"])
    return waiting


def _run(deps: Any, runtime: AgentRuntime, context: QuestionContext, prompt: Any) -> AgentReply:
    """Run (or resume) the agent once with the limits, record usage, build the reply."""
    record = RunRecord()
    started = time.monotonic()
    result, error = None, None
    timer: threading.Timer | None = None
    try:
        agent = build_agent(
            deps,
            runtime.model,
            context.session_id,
            question=context,
            limits=runtime.limits,
            record=record,
        )
        timer = threading.Timer(
            runtime.limits.time_limit_seconds, _stop_for_time, args=(agent, record, runtime.limits)
        )
        timer.daemon = True
        timer.start()
        result = agent(prompt)
    except Exception as exc:  # any model/provider failure is explained in the thread, never raised
        logger.warning(
            "session=<%s>, error=<%s> | agent run failed",
            context.session_id,
            type(exc).__name__,
            exc_info=True,
        )
        error = exc
    finally:
        if timer is not None:
            timer.cancel()
    latency_ms = int((time.monotonic() - started) * 1000)
    reply = _reply_for(deps, runtime, result, error, record)
    usage_id = _record_usage(
        deps, runtime, context, result, error, record, latency_ms, reply.status
    )
    prune_session_messages(deps.store, context.session_id)
    return AgentReply(reply.text, reply.blocks, reply.status, tuple(record.approvals), usage_id)


def _stop_for_time(agent: Any, record: RunRecord, limits: AgentLimits) -> None:
    record.limit_hit = "time"
    agent.cancel(
        message=(
            f"I ran out of time ({int(limits.time_limit_seconds)}s per question) before finishing. "
            "Ask a narrower question and I will try again."
        )
    )


def _reply_for(
    deps: Any, runtime: AgentRuntime, result: Any, error: Exception | None, record: RunRecord
) -> AgentReply:
    if error is not None:
        return _plain_reply(explain_agent_error(error), STATUS_ERROR)
    text = slack_markdown(message_text(result.message))
    if result.stop_reason == "interrupt":
        for interrupt in result.interrupts or ():
            reason = interrupt.reason if isinstance(interrupt.reason, dict) else {}
            if reason.get("request_id"):
                set_interrupt_id(deps.store, reason["request_id"], interrupt.id)
        ids = ", ".join(f"`{i}`" for i in record.approvals) or "the request above"
        notice = f"I've asked for approval ({ids}). Nothing changes until an approver decides; I'll report back here."
        return _reply(f"{text}\n\n{notice}" if text else notice, runtime, record, STATUS_WAITING)
    status = (
        STATUS_LIMIT if record.limit_hit or result.stop_reason == "cancelled" else STATUS_ANSWERED
    )
    return _reply(text or "I have no answer to that.", runtime, record, status)


def _record_usage(
    deps: Any,
    runtime: AgentRuntime,
    context: QuestionContext,
    result: Any,
    error: Exception | None,
    record: RunRecord,
    latency_ms: int,
    status: str,
) -> int:
    input_tokens = output_tokens = 0
    invocation = getattr(getattr(result, "metrics", None), "latest_agent_invocation", None)
    if invocation is not None:
        input_tokens = int(invocation.usage.get("inputTokens", 0))
        output_tokens = int(invocation.usage.get("outputTokens", 0))
    now = deps.clock()
    usage = QuestionUsage(
        at=now,
        day=deps.today(),
        user=context.user,
        channel=context.channel,
        thread_ts=context.thread_ts,
        path=PATH_LLM,
        provider=runtime.choice.provider,
        model=runtime.choice.model_id,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=estimate_cost(
            runtime.prices, runtime.choice.model_id, input_tokens, output_tokens
        ),
        latency_ms=latency_ms,
        tools=list(record.tools),
        approvals=list(record.approvals),
        stop_reason=getattr(result, "stop_reason", "") or status,
        error=type(error).__name__
        if error
        else (f"limit:{record.limit_hit}" if record.limit_hit else None),
    )
    return record_question(deps.store, usage)


# -- resuming after a decision -------------------------------------------------------------


def resume_after_decision(deps: Any, request: ApprovalRequest) -> None:
    """Outcome listener (origin kind "agent"): resume the paused run and post its report.

    Runs once per request (compare-and-set on the gated call), in this process or in one
    started after a restart; without an agent (PENNY_LLM=none now) the outcome is posted
    as plain text.
    """
    call = gated_call_for_request(deps.store, request.id)
    if call is None or not claim_for_resume(deps.store, request.id):
        return
    runtime: AgentRuntime | None = deps.agent
    if runtime is None:
        _post(
            deps,
            call.channel,
            call.thread_ts,
            _plain_reply(plain_outcome_text(deps, request), STATUS_UNAVAILABLE),
        )
        finish_resume(deps.store, request.id)
        return
    context = QuestionContext(
        user=call.user, channel=call.channel, thread_ts=call.thread_ts, session_id=call.session_id
    )
    interrupt_id = call.interrupt_id or tool_interrupt_id(call.tool_use_id)
    response = [
        {"interruptResponse": {"interruptId": interrupt_id, "response": outcome_response(request)}}
    ]
    with _session_lock(call.session_id):
        reply = _run(deps, runtime, context, response)
    if reply.status == STATUS_ERROR:
        # The paused run could not be resumed (e.g. its session was lost): still tell the thread.
        reply = _plain_reply(f"{plain_outcome_text(deps, request)}\n_{reply.text}_", STATUS_ERROR)
    _post(deps, call.channel, call.thread_ts, reply)
    finish_resume(deps.store, request.id)
    logger.info(
        "request=<%s>, session=<%s>, status=<%s> | agent resumed",
        request.id,
        call.session_id,
        reply.status,
    )


def tool_interrupt_id(tool_use_id: str) -> str:
    """The id Strands gives a tool's interrupt (ToolContext._interrupt_id), used when none was stored."""
    return f"v1:tool_call:{tool_use_id}:{uuid.uuid5(uuid.NAMESPACE_OID, INTERRUPT_NAME)}"


def _post(deps: Any, channel: str, thread_ts: str | None, reply: AgentReply) -> None:
    from slack_sdk.errors import SlackApiError

    try:
        deps.slack.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=reply.text, blocks=reply.blocks
        )
    except SlackApiError as exc:
        logger.warning(
            "channel=<%s>, error=<%s> | agent reply not posted",
            channel,
            exc.response.get("error", ""),
        )


# -- text ----------------------------------------------------------------------------------


def message_text(message: dict[str, Any] | None) -> str:
    """The text blocks of an assistant message, joined."""
    if not message:
        return ""
    return "\n".join(
        block["text"] for block in message.get("content", []) if "text" in block
    ).strip()


def slack_markdown(text: str) -> str:
    """Common Markdown from models turned into Slack mrkdwn (bold, headings, links)."""
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    text = re.sub(r"^#{1,6}\s*(.+)$", r"*\1*", text, flags=re.M)
    return re.sub(r"\[([^\]]+)\]\((https?://[^)]+)\)", r"<\2|\1>", text)


def _chunks(text: str, size: int = SECTION_LIMIT) -> list[str]:
    parts: list[str] = []
    while text and len(parts) < MAX_SECTIONS:
        cut = text.rfind("\n", 0, size) if len(text) > size else len(text)
        cut = cut if cut > 0 else size
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return parts


def _plain_reply(text: str, status: str) -> AgentReply:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in _chunks(text)
    ]
    return AgentReply(text[:3000], blocks, status)


def _reply(text: str, runtime: AgentRuntime, record: RunRecord, status: str) -> AgentReply:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in _chunks(text)
    ]
    tools = len(record.tools)
    footer = f"Answered by the LLM agent ({runtime.choice.model_id}) · {tools} tool call{'s' if tools != 1 else ''}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer[:3000]}]})
    return AgentReply(text[:3000], blocks, status)


def llm_off_text() -> str:
    """What Penny says to a question outside the fast path when no LLM is configured."""
    return (
        "I can't answer free-form questions here (no language model is configured), but I can do these:\n"
        "• spend: _how much did we spend on RDS last month?_, _top services this month_\n"
        "• changes: _what changed between last month and this month?_\n"
        "• _forecast_, _budget status_, _anomalies_, _idle resources_\n"
        "• actions with approval: _stop i-0abc…_, _reboot orders-db_\n"
        "Or use `/cost help` and `/penny help`."
    )


def over_budget_text(budget_usd: float) -> str:
    """What Penny says when its own LLM budget for today is spent."""
    return (
        f"Penny's LLM budget for today (${budget_usd:.2f}, PENNY_LLM_DAILY_BUDGET_USD) is used up, so I'm "
        "answering with the fast path only until tomorrow: spend, top services, changes, forecast, budgets, "
        "anomalies and actions still work. Try `/cost help`."
    )


def thread_waiting_text(request_ids: list[str]) -> str:
    """What Penny says to a new question in a thread whose run is paused for an approval."""
    ids = ", ".join(f"`{i}`" for i in request_ids)
    return (
        f"This thread is waiting for a decision on {ids}. I'll continue here once it's approved or denied; "
        "ask something else in a new thread meanwhile."
    )


def plain_outcome_text(deps: Any, request: ApprovalRequest) -> str:
    """The outcome of a request in one message, without the LLM."""
    who = (
        f" by <@{request.decided_by}>"
        if request.decided_by and request.decided_by != "penny"
        else ""
    )
    dry = " (DRY RUN)" if request.dry_run else ""
    lines = [f"`{request.id}` ({request.action}): {request.state.replace('_', ' ')}{who}{dry}."]
    if request.deny_reason:
        lines.append(f"Reason: {request.deny_reason}")
    lines += [f"• {o.resource_id}: {o.status} {o.detail}".rstrip() for o in request.outcomes[:20]]
    return "\n".join(lines)


def explain_agent_error(exc: Exception) -> str:
    """One or two sentences about a failed model run (no stack trace, no secrets)."""
    name = type(exc).__name__
    text = str(exc)
    if name == "ModelThrottledException" or "Throttl" in text or "rate limit" in text.lower():
        return "The language model is rate-limiting Penny right now. Try again in a minute."
    if name == "ContextWindowOverflowException":
        return "This thread has grown too long for the model. Start a new thread and ask again."
    if "AccessDenied" in text or name in {"AuthenticationError", "PermissionDeniedError"}:
        return (
            "Penny is not allowed to call its language model (check the provider's credentials, e.g. "
            "bedrock:InvokeModel for Bedrock or OPENAI_API_KEY)."
        )
    if name in {"APIConnectionError", "APITimeoutError", "EndpointConnectionError", "ConnectError"}:
        return "Penny could not reach its language model. Try again shortly."
    if isinstance(exc, TypeError) and "interrupt" in text:
        return "This thread is waiting for an approval decision; I'll continue once it's decided."
    return f"Something went wrong while answering ({name}). Try again, or use `/cost` for costs."
