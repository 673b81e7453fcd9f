"""The scheduled reports' Block Kit, as data, inside Slack's limits."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from bot.core import ids
from bot.core.anomaly import Anomaly, Driver
from bot.core.blocks.limits import MAX_BLOCKS, MAX_BUTTON_LABEL, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from bot.core.blocks.reports import (
    BudgetAlert,
    IdleFinding,
    IdleReport,
    Mover,
    WeeklyDigest,
    build_anomaly_blocks,
    build_budget_alert_blocks,
    build_idle_resources_blocks,
    build_weekly_digest_blocks,
)

NOW = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)


def within_limits(blocks):
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        for element in [block.get("accessory") or {}, *block.get("elements", [])]:
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= MAX_BUTTON_LABEL
                assert len(element["value"]) <= 2000


def test_budget_alert_shows_spend_limit_forecast_drivers_approvals_and_details_button():
    alert = BudgetAlert(
        budget="b" * 200,
        source="penny",
        scope="service AWS Lambda",
        kind="actual",
        threshold=80,
        period_label="March 2026",
        limit=Decimal("1000"),
        actual=Decimal("812.345"),
        forecast=Decimal("1100"),
        metric="UnblendedCost",
        as_of=NOW,
        drivers=(("AWS Lambda", Decimal("300")),) * 200,
        drivers_since=date(2026, 3, 10),
        spend_approvals=("$500.00 for GPUs, approved by <@U1> on 2026-03-04",),
        also_crossed=(50,),
    )
    blocks = build_budget_alert_blocks(alert)
    within_limits(blocks)
    text = json.dumps(blocks)
    assert "$812.35 (81.2%)" in text and "$1,000.00" in text and "$1,100.00 (110.0%)" in text
    assert "since 2026-03-10" in text and "GPUs" in text and "Also crossed: 50%" in text
    [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == ids.BUDGET_DETAILS_ACTION
    assert json.loads(button["value"])["source"] == "penny"


def test_anomaly_names_impact_since_and_driver():
    anomaly = Anomaly(
        key="Amazon Elastic Compute Cloud - Compute",
        dimension="SERVICE",
        start=date(2026, 3, 9),
        end=date(2026, 3, 10),
        expected=Decimal("1600"),
        actual=Decimal("4330.6"),
        impact_usd=Decimal("2730.6"),
        severity="high",
        kind="spike",
        anomaly_id="penny-20260309-abc",
        ongoing=True,
        source="penny+aws",
    )
    driver = Driver(
        service="Amazon Elastic Compute Cloud - Compute",
        region="us-west-2",
        account="345678901234",
        usage_type="USW2-BoxUsage:p3.8xlarge",
        contribution_usd=Decimal("2729.86"),
    )
    blocks = build_anomaly_blocks(
        anomaly,
        driver=driver,
        metric="UnblendedCost",
        as_of=NOW,
        account_names={"345678901234": "data"},
    )
    within_limits(blocks)
    text = json.dumps(blocks)
    assert "$2,730.60" in text and "since 2026-03-09 (ongoing)" in text
    assert "p3.8xlarge" in text and "us-west-2" in text and "account data (345678901234)" in text


def test_digest_and_idle_report_stay_inside_slack_limits_with_many_items():
    digest = WeeklyDigest(
        week_start=date(2026, 3, 9),
        week_end=date(2026, 3, 15),
        last_week=Decimal("21585.46"),
        week_before=Decimal("17403.70"),
        movers=tuple(Mover(f"s{i}" * 50, Decimal(i), Decimal(1)) for i in range(300)),
        month_to_date=Decimal("68065.52"),
        month_forecast=None,
        budgets=("x",) * 300,
        pending_approvals=(),
        metric="UnblendedCost",
        as_of=NOW,
    )
    blocks = build_weekly_digest_blocks(digest)
    within_limits(blocks)
    assert "+$4,181.76 (+24.0%)" in json.dumps(blocks) and "not available" in json.dumps(blocks)

    findings = tuple(
        IdleFinding(
            f"f{i}",
            "unattached_volume",
            f"vol-{i:08x}",
            "us-east-1",
            "100 GiB gp2" * 400,
            Decimal("10"),
            "delete_ebs_volumes",
            "Request delete " * 10,
        )
        for i in range(120)
    )
    report = IdleReport(findings, ("us-east-1",), NOW, 5.0, 14, 90)
    blocks = build_idle_resources_blocks(report)
    within_limits(blocks)
    text = json.dumps(blocks)
    assert "$1,200.00 a month" in text and "more finding(s) not shown" in text
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert buttons and all(b["action_id"] == ids.OPEN_APPROVAL_FROM_FINDING_ACTION for b in buttons)
