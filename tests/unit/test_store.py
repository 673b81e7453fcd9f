import multiprocessing
import threading

import pytest

from bot.store import open_store
from bot.store.core_tables import cache_get, cache_put, first_time_seen
from bot.store.db import StoreError, apply_migrations


def test_migrations_apply_once_and_are_recorded(tmp_path):
    path = str(tmp_path / "p.db")
    store = open_store(path)
    names = [r["name"] for r in store.query("SELECT name FROM _migrations ORDER BY name")]
    assert names[:2] == ["m001_create_ce_cache", "m002_create_seen_requests"]
    store.close()
    again = open_store(path)
    assert apply_migrations(again, []) == []
    assert [r["name"] for r in again.query("SELECT name FROM _migrations ORDER BY name")] == names
    assert again.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"


def test_a_failing_migration_rolls_back_and_is_not_recorded():
    def m900_broken(db):
        db.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    store = open_store(":memory:")
    with pytest.raises(RuntimeError):
        apply_migrations(store, [m900_broken])
    assert not store.query("SELECT name FROM sqlite_master WHERE name = 'half'")
    assert not store.query("SELECT 1 FROM _migrations WHERE name = 'm900_broken'")


def test_duplicate_migration_names_are_refused():
    def m1(db):
        pass

    with pytest.raises(StoreError):
        apply_migrations(open_store(":memory:"), [m1, m1])


def test_cache_expiry():
    from datetime import UTC, datetime, timedelta

    store = open_store(":memory:")
    now = datetime(2026, 11, 10, tzinfo=UTC)
    cache_put(store, "k", "GetCostAndUsage", {"v": 1}, timedelta(hours=6), now=now)
    cache_put(store, "final", "GetCostAndUsage", {"v": 2}, None, now=now)
    assert cache_get(store, "k", now=now + timedelta(hours=5)) == {"v": 1}
    assert cache_get(store, "k", now=now + timedelta(hours=7)) is None
    assert cache_get(store, "final", now=now + timedelta(days=900)) == {"v": 2}


def test_first_time_seen_is_exclusive_across_threads():
    store = open_store(":memory:")
    wins = []
    threads = [
        threading.Thread(target=lambda: wins.append(first_time_seen(store, "event:Ev1")))
        for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def _claim(path, key, results):
    results.put(first_time_seen(open_store(path), key))


def test_first_time_seen_is_exclusive_across_processes(tmp_path):
    path = str(tmp_path / "shared.db")
    open_store(path).close()
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(path, "event:EvX", results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    outcomes = [results.get(timeout=5) for _ in procs]
    assert outcomes.count(True) == 1
