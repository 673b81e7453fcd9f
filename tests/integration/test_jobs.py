"""Each scheduled job against the demo AWS account (moto + the Cost Explorer/Budgets fake), with
controlled time: thresholds post once per period, a second run posts nothing, a spike posts
once, month-start charges stay quiet, findings open approval requests."""

from __future__ import annotations

import functools
import io
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_deps
from bot.devtools.billing_data import BillingDataset
from bot.devtools.demo_aws import DemoAws, seed_demo_resources, start_demo_aws
from bot.devtools.demo_data import SPIKE_ACCOUNT, generate_demo_billing
from bot.store import ledger, open_store
from bot.store.approvals import get_request
from schedules.cli import list_jobs, run_job
from tests.conftest import make_settings
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_requests import block_actions_body

MARCH = date(2026, 3, 20)  # the demo bill's spike is on March 9-11
APRIL = date(2026, 4, 28)


@functools.cache
def bill(today: date) -> BillingDataset:
    return generate_demo_billing(today)


def bill_as_of(base: date, day: date) -> BillingDataset:
    """The demo bill generated for `base`, seen on `day` (rows after it do not exist yet)."""
    dataset = bill(base)
    return replace(dataset, rows=tuple(r for r in dataset.rows if r.day <= day), today=day)


def reset_moto(url: str) -> None:
    """moto keeps its state per process: start from, and leave, an empty account for other tests."""
    urllib.request.urlopen(
        urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10
    )


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoAws]:
    aws = start_demo_aws(MARCH, seed=False)
    reset_moto(aws.moto_url)
    aws.resources = seed_demo_resources(
        aws.session(), endpoint_url=aws.moto_url, now=datetime.now(UTC)
    )
    yield aws
    reset_moto(aws.moto_url)
    aws.stop()


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(demo: DemoAws, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Deps through the composition root, boto3 pointed at the demo; `at(day)` moves the bill and the clock."""
    for name, value in demo.env.items():
        monkeypatch.setenv(name, value)

    def build(base: date = MARCH, config: str = "", **env: str):
        config_path = tmp_path / "penny.toml"
        config_path.write_text(config or '[jobs]\nchannel = "C0FINOPS"\n', encoding="utf-8")
        clock = Clock(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
        deps = build_deps(
            make_settings(fake_slack, PENNY_CONFIG=str(config_path), **env),
            store=open_store(":memory:"),
            clock=clock,
        )

        def at(day: date, base_day: date = base) -> None:
            demo.billing.set_dataset(bill_as_of(base_day, day))
            clock.now = datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)

        return deps, at, clock

    yield build
    demo.billing.set_dataset(demo.dataset)


def posts(fake: FakeSlack, channel: str = "C0FINOPS") -> list[dict]:
    return [c.body for c in fake.calls_to("chat.postMessage") if c.body.get("channel") == channel]


def run(deps, name: str) -> str:
    out = io.StringIO()
    assert run_job(deps, name, out) == 0, out.getvalue()
    return out.getvalue()


# -- budget alerts -------------------------------------------------------------------------------


def test_budget_threshold_posts_once_per_period_and_again_next_period(world, fake_slack):
    deps, at, _ = world()
    at(date(2026, 3, 10))  # about 40% of the limit: nothing crossed yet
    run(deps, "budget_alerts")
    assert posts(fake_slack) == []

    at(date(2026, 3, 20))  # about 66%: the 50% threshold
    run(deps, "budget_alerts")
    [alert] = posts(fake_slack)
    assert "50%" in alert["text"] and "monthly-aws-total" in alert["text"]
    texts = json.dumps(alert["blocks"])
    assert "$103,500.00" in texts and "Top drivers" in texts and "penny_budget_details" in texts

    run(deps, "budget_alerts")  # same day again: nothing new
    at(date(2026, 3, 21))  # later, same threshold, same period
    run(deps, "budget_alerts")
    assert len(posts(fake_slack)) == 1

    at(date(2026, 4, 18), base_day=APRIL)  # a new month is a new budget period
    run(deps, "budget_alerts")
    assert len(posts(fake_slack)) == 2
    assert "April 2026" in posts(fake_slack)[-1]["text"]


def test_penny_side_budget_for_a_service_posts_highest_crossing_once(world, fake_slack):
    config = """
[jobs]
channel = "C0FINOPS"
[jobs.budget_alerts]
aws_budgets = false
[budgets.ec2-compute]
service = "Amazon Elastic Compute Cloud - Compute"
limit = 20000
channel = "C0PLATFORM"
"""
    deps, at, _ = world(config=config)
    at(date(2026, 3, 20))  # EC2 compute month to date is about $20.8k: 50%, 80% and 100% at once
    run(deps, "budget_alerts")
    [alert] = posts(fake_slack, "C0PLATFORM")
    assert "100%" in alert["text"] and "ec2-compute" in alert["text"]
    assert "Also crossed: 50%, 80%" in json.dumps(alert["blocks"])
    assert (
        ledger.ledger_entry(deps.store, "budget:penny:ec2-compute:actual:80:2026-03")["state"]
        == "covered"
    )
    run(deps, "budget_alerts")
    assert len(posts(fake_slack, "C0PLATFORM")) == 1
    assert posts(fake_slack) == []


# -- anomaly report ------------------------------------------------------------------------------


def test_spike_posts_once_while_it_lasts(world, fake_slack):
    deps, at, _ = world()
    at(date(2026, 3, 11))  # the GPU spike started on the 9th
    run(deps, "anomaly_report")
    [post] = posts(fake_slack)
    body = json.dumps(post["blocks"])
    assert "since 2026-03-09" in body
    assert "p3.8xlarge" in body and "us-west-2" in body and SPIKE_ACCOUNT in body
    assert "AWS Cost Anomaly Detection" in body  # AWS's own anomaly merged, not posted twice

    run(deps, "anomaly_report")
    at(date(2026, 3, 12))
    run(deps, "anomaly_report")
    at(date(2026, 3, 13))
    run(deps, "anomaly_report")
    assert len(posts(fake_slack)) == 1


@pytest.mark.parametrize("day", [date(2026, 4, 2), date(2026, 4, 3)])
def test_month_start_charges_stay_quiet(world, fake_slack, day):
    deps, at, _ = world(base=APRIL)
    at(day)  # yesterday was (or included) April 1st: Savings Plans fee, support, tax
    run(deps, "anomaly_report")
    assert posts(fake_slack) == []


# -- weekly digest -------------------------------------------------------------------------------


def test_weekly_digest_posts_once_with_chart_in_thread(world, fake_slack):
    deps, at, _ = world()
    at(date(2026, 3, 16))  # Monday: the digest of March 9-15
    run(deps, "weekly_digest")
    [digest] = posts(fake_slack)
    assert "2026-03-09 – 2026-03-15" in digest["text"]
    body = json.dumps(digest["blocks"])
    assert "Top movers" in body and "Month to date" in body and "monthly-aws-total" in body
    [upload] = fake_slack.calls_to("files.completeUploadExternal")
    ts = fake_slack.messages["C0FINOPS"][0]["ts"]
    assert upload.body["thread_ts"] == ts and upload.body["channel_id"] == "C0FINOPS"
    assert len(fake_slack.calls_to("upload")) == 1

    run(deps, "weekly_digest")
    at(date(2026, 3, 18))  # later the same week: same digest
    run(deps, "weekly_digest")
    assert len(posts(fake_slack)) == 1
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1


# -- idle resources ------------------------------------------------------------------------------


def test_idle_resources_report_once_and_buttons_open_approval_requests(
    demo, world, fake_slack, make_app, monkeypatch
):
    deps, _, clock = world(PENNY_APPROVERS="U0BOB")
    clock.now = datetime.now(UTC)
    run(deps, "idle_resources")
    [report] = posts(fake_slack)
    body = json.dumps(report["blocks"])
    resources = demo.resources
    for resource in (
        resources.idle_instance,
        resources.stopped_instance,
        resources.elastic_ip_allocation,
        *resources.unattached_volumes,
        *resources.old_snapshots,
    ):
        assert resource in body
    run(deps, "idle_resources")
    assert len(posts(fake_slack)) == 1

    buttons = {
        b["accessory"]["value"]: b["text"]["text"]
        for b in report["blocks"]
        if b.get("accessory", {}).get("action_id") == "penny_finding_request_approval"
    }
    eip_finding = next(v for v, text in buttons.items() if resources.elastic_ip_allocation in text)
    app = make_app(store=deps.store, clock=clock, PENNY_APPROVERS="U0BOB")
    ts = fake_slack.messages["C0FINOPS"][0]["ts"]
    click = block_actions_body(
        "penny_finding_request_approval",
        eip_finding,
        user_id="U0ALICE",
        channel_id="C0FINOPS",
        message_ts=ts,
    )
    app.dispatch(click)
    finding = ledger.get_finding(deps.store, eip_finding)
    request = get_request(deps.store, finding["request_id"])
    assert request.action == "release_elastic_ips"
    assert request.params == {"allocation_ids": [resources.elastic_ip_allocation]}
    assert request.state == "pending" and request.requested_by == "U0ALICE"

    second = block_actions_body(
        "penny_finding_request_approval",
        eip_finding,
        user_id="U0CAROL",
        channel_id="C0FINOPS",
        message_ts=ts,
    )
    app.dispatch(second)  # someone else clicks too
    assert ledger.get_finding(deps.store, eip_finding)["request_id"] == request.id
    assert any("already opened" in (e.get("text") or "") for e in fake_slack.ephemerals)


def test_approval_expiry_sweep_expires_overdue_requests(demo, world, fake_slack):
    from bot.approvals_engine import request_action

    deps, _, clock = world(PENNY_APPROVAL_TTL="15m")
    clock.now = datetime.now(UTC)
    request = request_action(
        deps,
        "release_elastic_ips",
        {"allocation_ids": [demo.resources.elastic_ip_allocation]},
        requested_by="U0ALICE",
        reason="unused",
        channel="C0FINOPS",
        source="schedule",
    )
    run(deps, "approval_expiry")
    assert get_request(deps.store, request.id).state == "pending"
    clock.now += timedelta(minutes=16)
    out = run(deps, "approval_expiry")
    assert get_request(deps.store, request.id).state == "expired"
    assert "1 request(s) expired" in out


# -- the CLI -------------------------------------------------------------------------------------


def test_jobs_list_and_unknown_job(world):
    config = '[jobs]\nchannel = "C0FINOPS"\n[jobs.weekly_digest]\ncron = "0 8 * * fri"\ntimezone = "Europe/Berlin"\n[jobs.idle_resources]\nenabled = false\n'
    deps, at, clock = world(config=config)
    out = io.StringIO()
    assert list_jobs(deps, out) == 0
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()}
    assert set(lines) == {
        "budget_alerts",
        "anomaly_report",
        "weekly_digest",
        "idle_resources",
        "approval_expiry",
    }
    assert "0 8 * * fri" in lines["weekly_digest"] and "Europe/Berlin" in lines["weekly_digest"]
    assert "next: 2026-03-06 08:00 CET" in lines["weekly_digest"]
    assert "disabled" in lines["idle_resources"]
    out = io.StringIO()
    assert run_job(deps, "weekly-digest", out) == 2
    assert "weekly_digest" in out.getvalue() and "budget_alerts" in out.getvalue()
