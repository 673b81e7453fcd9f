"""Thread sessions in SQLite: a capped history, pruned rows, and exactly the same restore."""

from __future__ import annotations

from strands import Agent
from strands.agent.conversation_manager import SlidingWindowConversationManager

from bot.agent.sessions import (
    prune_session_messages,
    session_exists,
    session_manager_for,
    stored_message_count,
    thread_session_id,
)
from bot.store import open_store
from tests.fakes.scripted_model import ScriptedModel, text

SESSION = thread_session_id("C0OPS", "1700000000.000100")


def thread_agent(store, model: ScriptedModel, window: int = 4) -> Agent:
    return Agent(
        model=model,
        agent_id="penny",
        conversation_manager=SlidingWindowConversationManager(window_size=window),
        session_manager=session_manager_for(store, SESSION),
        callback_handler=None,
    )


def texts(agent: Agent) -> list[str]:
    return [block["text"] for m in agent.messages for block in m["content"] if "text" in block]


def test_history_is_capped_and_pruning_keeps_the_restore_identical():
    store = open_store(":memory:")
    first = thread_agent(store, ScriptedModel([text(f"answer {n}") for n in range(6)]))
    for n in range(6):
        first(f"question {n}")
    assert len(first.messages) == 4
    assert stored_message_count(store, SESSION) == 12

    assert prune_session_messages(store, SESSION, keep=4) == 8
    assert prune_session_messages(store, SESSION, keep=4) == 0
    assert stored_message_count(store, SESSION) == 4

    restored = thread_agent(store, ScriptedModel([]))
    assert texts(restored) == texts(first) == ["question 4", "answer 4", "question 5", "answer 5"]


def test_pruning_never_drops_what_the_window_still_shows():
    store = open_store(":memory:")
    agent = thread_agent(store, ScriptedModel([text("a"), text("b")]), window=40)
    agent("q1")
    agent("q2")
    assert session_exists(store, SESSION)
    assert prune_session_messages(store, SESSION, keep=1) == 0
    assert texts(thread_agent(store, ScriptedModel([]), window=40)) == ["q1", "a", "q2", "b"]
