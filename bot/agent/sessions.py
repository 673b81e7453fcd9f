"""Strands sessions in Penny's SQLite store: one session per Slack thread.

`SqliteSessionRepository` implements Strands' SessionRepository over the store, so the
SDK's RepositorySessionManager persists every message, the agent state and a pending
interrupt (with the tool call it paused) as they happen. A new Agent built for the same
thread, in this process or in one started after a restart, restores all of it.

History is capped twice: the conversation manager keeps a sliding window of messages in
the model's context, and `prune_session_messages` drops stored rows the window no longer
needs, so a long thread neither grows the prompt nor the database without bound.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from strands.session.repository_session_manager import RepositorySessionManager
from strands.session.session_repository import SessionRepository
from strands.types.exceptions import SessionException
from strands.types.session import Session, SessionAgent, SessionMessage

from bot.store.db import Store

logger = logging.getLogger(__name__)

DEFAULT_HISTORY_MESSAGES = 40  # messages kept in the model's context per thread
DEFAULT_STORED_MESSAGES = 200  # rows kept per thread in SQLite


def thread_session_id(channel: str, thread_ts: str | None) -> str:
    """The session id of a Slack thread (a DM without a thread is one session per channel)."""
    return f"slack:{channel}:{thread_ts or 'main'}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqliteSessionRepository(SessionRepository):
    """Strands' SessionRepository over Penny's Store (tables from m020)."""

    def __init__(self, store: Store):
        self.store = store

    def create_session(self, session: Session, **kwargs: Any) -> Session:
        """Create a new Session; raises SessionException if it exists."""
        now = _now()
        with self.store.transaction() as db:
            exists = db.execute(
                "SELECT 1 FROM agent_sessions WHERE session_id = ?", [session.session_id]
            ).fetchone()
            if exists:
                raise SessionException(
                    f"session_id=<{session.session_id}> | session already exists"
                )
            db.execute(
                "INSERT INTO agent_sessions (session_id, data, created_at, updated_at) VALUES (?, ?, ?, ?)",
                [session.session_id, json.dumps(session.to_dict()), now, now],
            )
        return session

    def read_session(self, session_id: str, **kwargs: Any) -> Session | None:
        """Read a Session, or None."""
        rows = self.store.query(
            "SELECT data FROM agent_sessions WHERE session_id = ?", [session_id]
        )
        return Session.from_dict(json.loads(rows[0]["data"])) if rows else None

    def create_agent(self, session_id: str, session_agent: SessionAgent, **kwargs: Any) -> None:
        """Create (or replace) an Agent in a Session."""
        self.store.execute(
            "INSERT OR REPLACE INTO agent_session_agents (session_id, agent_id, data, updated_at) VALUES (?, ?, ?, ?)",
            [session_id, session_agent.agent_id, json.dumps(session_agent.to_dict()), _now()],
        )

    def read_agent(self, session_id: str, agent_id: str, **kwargs: Any) -> SessionAgent | None:
        """Read an Agent, or None."""
        rows = self.store.query(
            "SELECT data FROM agent_session_agents WHERE session_id = ? AND agent_id = ?",
            [session_id, agent_id],
        )
        return SessionAgent.from_dict(json.loads(rows[0]["data"])) if rows else None

    def update_agent(self, session_id: str, session_agent: SessionAgent, **kwargs: Any) -> None:
        """Update an Agent (its state, conversation manager state and pending interrupt)."""
        previous = self.read_agent(session_id, session_agent.agent_id)
        if previous is None:
            raise SessionException(f"agent_id=<{session_agent.agent_id}> | agent does not exist")
        session_agent.created_at = previous.created_at
        self.store.execute(
            "UPDATE agent_session_agents SET data = ?, updated_at = ? WHERE session_id = ? AND agent_id = ?",
            [json.dumps(session_agent.to_dict()), _now(), session_id, session_agent.agent_id],
        )

    def create_message(
        self, session_id: str, agent_id: str, session_message: SessionMessage, **kwargs: Any
    ) -> None:
        """Store one message at its index."""
        self.store.execute(
            "INSERT OR REPLACE INTO agent_session_messages (session_id, agent_id, message_id, data, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                session_id,
                agent_id,
                session_message.message_id,
                json.dumps(session_message.to_dict()),
                _now(),
            ],
        )

    def read_message(
        self, session_id: str, agent_id: str, message_id: int, **kwargs: Any
    ) -> SessionMessage | None:
        """Read one message, or None."""
        rows = self.store.query(
            "SELECT data FROM agent_session_messages WHERE session_id = ? AND agent_id = ? AND message_id = ?",
            [session_id, agent_id, message_id],
        )
        return SessionMessage.from_dict(json.loads(rows[0]["data"])) if rows else None

    def update_message(
        self, session_id: str, agent_id: str, session_message: SessionMessage, **kwargs: Any
    ) -> None:
        """Replace a stored message (Strands does this to redact one)."""
        if self.read_message(session_id, agent_id, session_message.message_id) is None:
            raise SessionException(
                f"message_id=<{session_message.message_id}> | message does not exist"
            )
        self.create_message(session_id, agent_id, session_message)

    def list_messages(
        self,
        session_id: str,
        agent_id: str,
        limit: int | None = None,
        offset: int = 0,
        **kwargs: Any,
    ) -> list[SessionMessage]:
        """Messages in order, skipping `offset` (those the conversation manager dropped)."""
        # Message ids are the indices Strands gave them, so "skip the first `offset`" is an id
        # bound; unlike SQL OFFSET it stays right after old rows were pruned.
        rows = self.store.query(
            "SELECT data FROM agent_session_messages WHERE session_id = ? AND agent_id = ?"
            " AND message_id >= ? ORDER BY message_id LIMIT ?",
            [session_id, agent_id, offset, -1 if limit is None else limit],
        )
        return [SessionMessage.from_dict(json.loads(row["data"])) for row in rows]


def session_manager_for(store: Store, session_id: str) -> RepositorySessionManager:
    """The Strands session manager of one thread, backed by SQLite."""
    return RepositorySessionManager(
        session_id=session_id, session_repository=SqliteSessionRepository(store)
    )


def session_exists(store: Store, session_id: str) -> bool:
    """True when the thread already has a stored conversation."""
    return bool(store.query("SELECT 1 FROM agent_sessions WHERE session_id = ?", [session_id]))


def stored_message_count(store: Store, session_id: str) -> int:
    """How many messages of a thread are stored (all agents)."""
    rows = store.query(
        "SELECT COUNT(*) AS n FROM agent_session_messages WHERE session_id = ?", [session_id]
    )
    return int(rows[0]["n"])


def prune_session_messages(
    store: Store, session_id: str, keep: int = DEFAULT_STORED_MESSAGES
) -> int:
    """Delete all but the newest `keep` stored messages that the restore offset already skips.

    Only rows below the conversation manager's `removed_message_count` are deleted, so a
    restored agent sees exactly the messages it had; returns how many rows were deleted.
    """
    deleted = 0
    for agent in store.query(
        "SELECT agent_id, data FROM agent_session_agents WHERE session_id = ?", [session_id]
    ):
        removed = int(
            json.loads(agent["data"])
            .get("conversation_manager_state", {})
            .get("removed_message_count", 0)
        )
        newest = store.query(
            "SELECT COALESCE(MAX(message_id), -1) AS top FROM agent_session_messages"
            " WHERE session_id = ? AND agent_id = ?",
            [session_id, agent["agent_id"]],
        )[0]["top"]
        cutoff = min(removed, int(newest) + 1 - keep)
        if cutoff <= 0:
            continue
        deleted += store.execute(
            "DELETE FROM agent_session_messages WHERE session_id = ? AND agent_id = ? AND message_id < ?",
            [session_id, agent["agent_id"], cutoff],
        )
    if deleted:
        logger.info("session=<%s>, deleted=<%d> | pruned stored history", session_id, deleted)
    return deleted
