"""The scheduler: restart and catch-up, the lease with two replicas on one database, a job that
raises, and a Slack 429 that outlasts the client's retries. Time is a hand-moved clock; the
jobs here are small posting functions run by the real runtime, ledger and Slack client."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.app import build_deps
from bot.deps import Deps
from bot.store import ledger, open_store
from schedules.cli import run_job
from schedules.common import JobResult
from schedules.posting import post_once
from schedules.runtime import LEASE_NAME, Scheduler, occurrence_key
from tests.conftest import make_settings
from tests.fakes.fake_slack import FakeSlack

CONFIG = """
[jobs]
channel = "C0REPORTS"
ops_channel = "C0OPS"
catch_up_grace = "2h"
lease_ttl = "60s"
[jobs.budget_alerts]
cron = "0 9 * * *"
[jobs.anomaly_report]
enabled = false
[jobs.weekly_digest]
enabled = false
[jobs.idle_resources]
enabled = false
[jobs.approval_expiry]
enabled = false
"""


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def daily_report(deps: Deps, now: datetime) -> JobResult:
    """A job like the real ones: one post per day, claimed in the ledger."""
    result = JobResult(job="budget_alerts")
    day = now.date().isoformat()
    posted = post_once(
        deps,
        f"test-daily:{day}",
        job="budget_alerts",
        channel="C0REPORTS",
        text=f"report {day}",
        now=now,
    )
    result.count(posted.status)
    return result


def broken(deps: Deps, now: datetime) -> JobResult:
    raise RuntimeError("Cost Explorer exploded")


@pytest.fixture
def replica(fake_slack: FakeSlack, tmp_path: Path):
    """A replica: its own Store connection to the shared database file, its own clock and scheduler."""
    config = tmp_path / "penny.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db = str(tmp_path / "penny.db")
    settings = make_settings(fake_slack, PENNY_CONFIG=str(config), PENNY_DB=db)
    built: list[Scheduler] = []

    def build(
        now: datetime, *, job=daily_report, slack: WebClient | None = None, name: str = ""
    ) -> tuple[Scheduler, Clock]:
        clock = Clock(now)
        deps = build_deps(settings, store=open_store(db), clock=clock, slack=slack)
        deps.jobs.functions["budget_alerts"] = job
        scheduler = Scheduler(deps, deps.jobs, holder=name or None)
        built.append(scheduler)
        return scheduler, clock

    yield build
    for scheduler in built:
        scheduler.stop()


def reports(fake: FakeSlack) -> list[str]:
    return [
        c.body["text"]
        for c in fake.calls_to("chat.postMessage")
        if c.body.get("channel") == "C0REPORTS"
    ]


def test_catch_up_after_restart_runs_a_missed_occurrence_once(replica, fake_slack):
    first, clock = replica(datetime(2026, 3, 2, 9, 20, tzinfo=UTC))  # started 20 minutes late
    first.tick()
    assert reports(fake_slack) == ["report 2026-03-02"]
    first.stop()  # a restart: the lease is released

    second, clock = replica(datetime(2026, 3, 2, 9, 25, tzinfo=UTC))
    second.tick()  # 09:00 already ran: nothing to catch up
    assert reports(fake_slack) == ["report 2026-03-02"]
    second.stop()

    third, clock = replica(
        datetime(2026, 3, 3, 10, 30, tzinfo=UTC)
    )  # down over 09:00, within the 2h grace
    third.tick()
    assert reports(fake_slack) == ["report 2026-03-02", "report 2026-03-03"]
    [run] = [
        r
        for r in third.deps.store.query("SELECT * FROM job_runs WHERE trigger = 'catch-up'")
        if r["scheduled_for"].startswith("2026-03-03")
    ]
    assert run["outcome"] == "ok" and run["scheduled_for"] == "2026-03-03T09:00:00+00:00"
    third.stop()

    fourth, clock = replica(datetime(2026, 3, 4, 11, 30, tzinfo=UTC))  # 2.5h late: beyond the grace
    fourth.tick()
    assert len(reports(fake_slack)) == 2


def test_scheduled_fire_and_catch_up_of_one_occurrence_run_once(replica, fake_slack):
    scheduler, clock = replica(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    scheduler.tick()  # catch-up of 09:00
    assert (
        scheduler.fire("budget_alerts") is None
    )  # the cron fire of the same 09:00: already claimed
    assert reports(fake_slack) == ["report 2026-03-02"]
    assert ledger.is_claimed(
        scheduler.deps.store, occurrence_key("budget_alerts", datetime(2026, 3, 2, 9, tzinfo=UTC))
    )


def test_two_replicas_on_one_database_only_the_lease_holder_posts(replica, fake_slack):
    start = datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC)
    a, clock_a = replica(start, name="replica-a")
    b, clock_b = replica(start, name="replica-b")
    a.tick()
    b.tick()
    assert a.leading and not b.leading
    assert b.fire("budget_alerts") is None  # a non-holder never runs a job
    assert reports(fake_slack) == ["report 2026-03-02"]

    # Replica A dies without releasing the lease; B takes over once it has expired.
    clock_b.now = start + timedelta(seconds=30)
    b.tick()
    assert not b.leading
    clock_b.now = start + timedelta(seconds=61)
    b.tick()
    assert b.leading
    assert ledger.lease_holder(b.deps.store, LEASE_NAME, clock_b.now) == "replica-b"

    # A comes back: it sees the lease is no longer its own and stops firing.
    clock_a.now = clock_b.now + timedelta(seconds=1)
    a.tick()
    assert not a.leading
    assert a.fire("budget_alerts") is None
    assert reports(fake_slack) == ["report 2026-03-02"]


def test_a_job_that_raises_is_reported_and_the_scheduler_continues(replica, fake_slack):
    scheduler, clock = replica(datetime(2026, 3, 2, 9, 1, tzinfo=UTC), job=broken)
    scheduler.tick()
    [alert] = [
        c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == "C0OPS"
    ]
    assert "budget_alerts" in alert["text"]
    assert "Cost Explorer exploded" in str(alert["blocks"]) and "Traceback" not in str(
        alert["blocks"]
    )
    assert ledger.last_run(scheduler.deps.store, "budget_alerts")["outcome"] == "error"

    # The scheduler keeps running: the next day's occurrence runs (and fails, reported again).
    clock.now = datetime(2026, 3, 3, 9, 0, 2, tzinfo=UTC)
    scheduler.tick()
    result = scheduler.fire("budget_alerts")
    assert result is not None and result.error == "RuntimeError: Cost Explorer exploded"
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    out = io.StringIO()
    assert run_job(scheduler.deps, "budget_alerts", out) == 1
    assert "failed: RuntimeError" in out.getvalue()


def test_a_429_that_outlasts_the_client_is_retried_after_retry_after(replica, fake_slack):
    # A client without its own rate-limit retries: the 429 reaches Penny as it would after
    # RateLimitErrorRetryHandler gave up.
    slack = WebClient(token="xoxb-test", base_url=fake_slack.url, retry_handlers=[])
    start = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
    scheduler, clock = replica(start, slack=slack)
    fake_slack.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=30)
    scheduler.tick()
    assert reports(fake_slack) == ["report 2026-03-02"]  # the refused attempt
    entry = ledger.ledger_entry(scheduler.deps.store, "test-daily:2026-03-02")
    assert entry["state"] == "retry" and entry["retry_at"] == "2026-03-02T09:01:00+00:00"

    clock.now = start + timedelta(seconds=20)
    scheduler.tick()  # Slack asked for 30 seconds: not yet
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    clock.now = start + timedelta(seconds=31)
    scheduler.tick()
    scheduler.tick()
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert ledger.ledger_entry(scheduler.deps.store, "test-daily:2026-03-02")["state"] == "posted"
    assert ledger.posted_ts(scheduler.deps.store, "test-daily:2026-03-02")


def test_apscheduler_runs_the_lease_tick_and_catch_up_in_the_background(replica, fake_slack):
    now = datetime.now(UTC)
    scheduler, clock = replica(now.replace(hour=9, minute=5))
    scheduler.tick_seconds = 0.05
    scheduler.start()
    fake_slack.wait_for("chat.postMessage", 1, timeout=10)
    assert scheduler.leading
    scheduler.stop()
    assert ledger.lease_holder(scheduler.deps.store, LEASE_NAME, clock.now) is None
    assert len(reports(fake_slack)) == 1
