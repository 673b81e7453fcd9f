"""Approval requests and the audit log in a real SQLite store."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core.approvals import InvalidTransition, ResourceOutcome, with_approval
from bot.store import approvals as st
from bot.store.audit import append_audit, latest_audit, verify_audit_chain
from bot.store.db import open_store
from tests.approval_samples import ALICE, T0, sample_request


@pytest.fixture
def store(tmp_path):
    s = open_store(str(tmp_path / "penny.db"))
    yield s
    s.close()


def test_request_round_trips_exactly(store):
    request = with_approval(
        sample_request(params={"a": [1, "x"], "nested": {"k": None}}), ALICE, T0
    )
    st.insert_request(store, request, st.AuditNote("U1", "requested", {}))
    assert st.get_request(store, request.id) == request
    assert st.get_request(store, "apr-missing") is None


def test_compare_and_set_lets_only_one_writer_win(store):
    request = sample_request()
    st.insert_request(store, request)
    approved = replace(request, state="approved", decided_by=ALICE, decided_at=T0)
    assert st.save_transition(store, request, approved, T0, st.AuditNote(ALICE, "approved", {}))
    # the second writer still holds the old version: it loses and writes no audit entry
    assert not st.save_transition(store, request, approved, T0, st.AuditNote(ALICE, "approved", {}))
    stored = st.get_request(store, request.id)
    assert (stored.state, stored.version) == ("approved", 1)
    assert [e["event"] for e in latest_audit(store)] == ["approved"]


def test_transition_table_is_enforced(store):
    request = sample_request()
    st.insert_request(store, request)
    with pytest.raises(InvalidTransition):
        st.save_transition(store, request, replace(request, state="succeeded"), T0)


def test_outcomes_and_cards_are_stored(store):
    request = sample_request(state="executing")
    st.insert_request(store, request)
    st.add_card_location(store, request.id, st.CardLocation("C1", "1.1"))
    st.add_card_location(store, request.id, st.CardLocation("D2", "2.2"))
    done = replace(request, state="succeeded", outcomes=(ResourceOutcome("i-1", "ok", "stopping"),))
    assert st.save_transition(store, request, done, T0)
    stored = st.get_request(store, request.id)
    assert stored.outcomes == done.outcomes
    assert [c.ts for c in stored.cards] == ["1.1", "2.2"]


def test_expiry_listing_and_open_listing(store):
    st.insert_request(store, sample_request(id="apr-a", expires_at=T0 + timedelta(minutes=5)))
    st.insert_request(store, sample_request(id="apr-b", expires_at=T0 + timedelta(hours=2)))
    due = st.list_due_for_expiry(store, T0 + timedelta(minutes=10))
    assert [r.id for r in due] == ["apr-a"]
    assert {r.id for r in st.list_requests(store, ["pending"])} == {"apr-a", "apr-b"}


def test_spend_approvals_are_recorded_once_and_listed(store):
    assert st.record_spend_approval(
        store, "apr-1", 1200.0, "GPU training", "U1", "U2", T0, service="Amazon EC2"
    )
    assert not st.record_spend_approval(store, "apr-1", 1200.0, "GPU training", "U1", "U2", T0)
    rows = st.list_spend_approvals(store, T0 - timedelta(days=1))
    assert [(r["amount_usd"], r["purpose"], r["service"]) for r in rows] == [
        (1200.0, "GPU training", "Amazon EC2")
    ]
    assert st.list_spend_approvals(store, T0 + timedelta(days=1)) == []


def fill_audit(store, n=5):
    for i in range(n):
        append_audit(store, "U1", "event", f"apr-{i}", {"i": i}, T0)


def test_intact_chain_verifies(store):
    assert verify_audit_chain(store) == (True, "audit log intact: 0 entries verified")
    fill_audit(store)
    assert verify_audit_chain(store) == (True, "audit log intact: 5 entries verified")


def test_audit_log_refuses_update_and_delete(store):
    fill_audit(store)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.execute("UPDATE audit_log SET actor = 'U9' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.execute("DELETE FROM audit_log WHERE seq = 2")


def tamper(store, sql):
    """What someone with raw write access would do: drop the guards, then edit."""
    store.execute("DROP TRIGGER audit_log_no_update")
    store.execute("DROP TRIGGER audit_log_no_delete")
    store.execute(sql)


def test_modified_row_is_detected(store):
    fill_audit(store)
    tamper(store, "UPDATE audit_log SET details = '{\"i\":99}' WHERE seq = 3")
    assert verify_audit_chain(store) == (
        False,
        "audit log broken at row 3: its content was modified",
    )


def test_removed_row_is_detected(store):
    fill_audit(store)
    tamper(store, "DELETE FROM audit_log WHERE seq = 2")
    assert verify_audit_chain(store) == (
        False,
        "audit log broken: row 2 is missing (next row is 3)",
    )


def test_truncated_tail_is_detected(store):
    fill_audit(store)
    tamper(store, "DELETE FROM audit_log WHERE seq = 5")
    ok, message = verify_audit_chain(store)
    assert not ok and "head says 5" in message


def test_rehashed_row_still_breaks_the_link(store):
    from bot.store.audit import row_hash

    fill_audit(store)
    rows = store.query("SELECT * FROM audit_log WHERE seq = 2")
    new_hash = row_hash(
        rows[0]["prev_hash"], 2, rows[0]["ts"], "U9", "event", "apr-1", rows[0]["details"]
    )
    tamper(store, f"UPDATE audit_log SET actor = 'U9', hash = '{new_hash}' WHERE seq = 2")
    assert verify_audit_chain(store) == (
        False,
        "audit log broken at row 3: it does not link to row 2",
    )
