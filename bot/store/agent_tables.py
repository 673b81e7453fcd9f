"""The agent's tables: Strands sessions per Slack thread, LLM usage per question, gated calls.

Sessions are stored the way Strands' SessionRepository sees them (session, agent, ordered
messages) as JSON, so a new process picks up a thread's conversation, and a pending
interrupt, exactly where the last one left it. `agent_gated_calls` ties one tool call of
the agent to the approval request it created, so the resumed run never asks twice.
"""

from __future__ import annotations

import sqlite_utils


def m020_create_agent_sessions(db: sqlite_utils.Database) -> None:
    """Strands sessions, their agents and their messages, as JSON documents."""
    db.execute(
        """CREATE TABLE agent_sessions (
            session_id TEXT PRIMARY KEY,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE agent_session_agents (
            session_id TEXT NOT NULL REFERENCES agent_sessions(session_id) ON DELETE CASCADE,
            agent_id TEXT NOT NULL,
            data TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (session_id, agent_id)
        )"""
    )
    db.execute(
        """CREATE TABLE agent_session_messages (
            session_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            message_id INTEGER NOT NULL,
            data TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (session_id, agent_id, message_id),
            FOREIGN KEY (session_id, agent_id)
                REFERENCES agent_session_agents(session_id, agent_id) ON DELETE CASCADE
        )"""
    )


def m021_create_llm_usage(db: sqlite_utils.Database) -> None:
    """One row per question Penny answered: path, tokens, estimated $, latency, tools, approvals."""
    db.execute(
        """CREATE TABLE llm_usage (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            day TEXT NOT NULL,
            user TEXT NOT NULL,
            channel TEXT NOT NULL,
            thread_ts TEXT,
            path TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            latency_ms INTEGER NOT NULL DEFAULT 0,
            tools TEXT NOT NULL DEFAULT '[]',
            approvals TEXT NOT NULL DEFAULT '[]',
            stop_reason TEXT NOT NULL DEFAULT '',
            error TEXT
        )"""
    )
    db.execute("CREATE INDEX llm_usage_day ON llm_usage (day)")


def m022_create_agent_gated_calls(db: sqlite_utils.Database) -> None:
    """One row per gated tool call of the agent: which approval request it is waiting for."""
    db.execute(
        """CREATE TABLE agent_gated_calls (
            tool_use_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            request_id TEXT NOT NULL UNIQUE,
            action TEXT NOT NULL,
            interrupt_id TEXT NOT NULL DEFAULT '',
            user TEXT NOT NULL,
            channel TEXT NOT NULL,
            thread_ts TEXT,
            state TEXT NOT NULL DEFAULT 'waiting',
            created_at TEXT NOT NULL,
            resumed_at TEXT,
            PRIMARY KEY (session_id, tool_use_id)
        )"""
    )


MIGRATIONS = [
    m020_create_agent_sessions,
    m021_create_llm_usage,
    m022_create_agent_gated_calls,
]
