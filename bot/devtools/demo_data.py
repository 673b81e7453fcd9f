"""The built-in demo AWS bill: about 13 months of daily costs, generated deterministically.

Everything is relative to a given `today` so the demo always looks current, yet a given day
has the same amounts whatever `today` is (randomness is seeded per line and day). The bill
has ~15 real Cost Explorer service names, 3 linked accounts, a `team` tag (with untagged
lines), weekday/weekend rhythm, slow growth, month-start recurring charges (Savings Plans
fee, Business support, Route 53 hosted zones, tax), one budget and ONE obvious spike: GPU
instances left running in the data account in us-west-2 for three days about ten days ago.
"""

from __future__ import annotations

import functools
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from bot.devtools.billing_data import (
    ZERO,
    AnomalySpec,
    BillingDataset,
    BudgetSpec,
    DailyCost,
    LinkedAccount,
    month_start,
    next_month,
)

PROD = LinkedAccount("123456789012", "prod")
STAGING = LinkedAccount("234567890123", "staging")
DATA = LinkedAccount("345678901234", "data")
DEMO_ACCOUNTS = (PROD, STAGING, DATA)
PAYER_ACCOUNT = PROD.account_id
DEMO_REGIONS = ("us-east-1", "eu-west-1", "us-west-2")
DEMO_TAG_KEY = "team"
DEMO_BUDGET_NAME = "monthly-aws-total"
DEMO_SEED = 20240101

EC2 = "Amazon Elastic Compute Cloud - Compute"
EC2_OTHER = "EC2 - Other"
RDS = "Amazon Relational Database Service"
S3 = "Amazon Simple Storage Service"
LAMBDA = "AWS Lambda"
CLOUDFRONT = "Amazon CloudFront"
DYNAMODB = "Amazon DynamoDB"
ECS = "Amazon Elastic Container Service"
EKS = "Amazon Elastic Kubernetes Service"
CLOUDWATCH = "AmazonCloudWatch"
ELASTICACHE = "Amazon ElastiCache"
VPC = "Amazon Virtual Private Cloud"
KMS = "AWS Key Management Service"
ROUTE53 = "Amazon Route 53"
SUPPORT = "AWS Support (Business)"
SAVINGS_PLANS = "Savings Plans for AWS Compute usage"
TAX = "Tax"

SPIKE_SERVICE = EC2
SPIKE_ACCOUNT = DATA.account_id
SPIKE_REGION = "us-west-2"
SPIKE_USAGE_TYPE = "USW2-BoxUsage:p3.8xlarge"
SPIKE_DAYS_BEFORE_TODAY = (11, 10, 9)
_SPIKE_DAILY_USD = Decimal("1762.56")  # six p3.8xlarge at $12.24/h
_SPIKE_SHAPE = (Decimal("0.55"), Decimal("1"), Decimal("0.8"))

_CENT_PRECISION = Decimal("0.0000000001")  # CE reports ten decimals
_EDP_DISCOUNT = Decimal("0.03")  # private pricing discount, visible in Net* metrics
_BLEND_FACTOR = {PROD.account_id: "0.97", STAGING.account_id: "1.04", DATA.account_id: "1.01"}
_TODAY_FRACTION = Decimal("0.45")  # CE shows a partial day for today
_GROWTH_EPOCH = date(2024, 1, 1)
_SAVINGS_PLAN_FEE = Decimal("6022.40")  # $8.24/h commitment, 1 year no upfront, per 31 days
_TAX_RATE = Decimal("0.06")
_HOSTED_ZONES_FEE = Decimal("6.00")


@dataclass(frozen=True)
class _UsageLine:
    """One steady stream of usage: the same service/usage type/account/region/team every day."""

    service: str
    usage_type: str
    region: str
    account: str
    team: str | None
    daily_usd: float
    unit_price: float
    rhythm: str = "flat"  # flat | weekday | storage | office-hours


@functools.cache
def _lines() -> tuple[_UsageLine, ...]:
    prod, staging, data = PROD.account_id, STAGING.account_id, DATA.account_id
    use1, euw1, usw2 = DEMO_REGIONS
    line = _UsageLine
    return (
        line(EC2, "BoxUsage:m5.xlarge", use1, prod, "platform", 220, 0.192),
        line(EC2, "EU-BoxUsage:m5.large", euw1, prod, "web", 95, 0.107),
        line(EC2, "USW2-BoxUsage:c5.2xlarge", usw2, prod, "platform", 60, 0.34),
        line(EC2, "SpotUsage:c5.large", use1, prod, "web", 25, 0.034, "weekday"),
        line(EC2, "BoxUsage:t3.large", use1, staging, "platform", 40, 0.0832, "office-hours"),
        line(EC2, "USW2-BoxUsage:r5.2xlarge", usw2, data, "data", 120, 0.504),
        line(EC2, "EU-BoxUsage:m5.large", euw1, data, "data", 30, 0.107),
        line(EC2_OTHER, "EBS:VolumeUsage.gp3", use1, prod, "platform", 38, 0.00267, "storage"),
        line(EC2_OTHER, "NatGateway-Hours", use1, prod, "platform", 26, 0.045),
        line(EC2_OTHER, "NatGateway-Bytes", use1, prod, "web", 34, 0.045, "weekday"),
        line(EC2_OTHER, "EBS:SnapshotUsage", use1, prod, None, 12, 0.00167, "storage"),
        line(EC2_OTHER, "EU-EBS:VolumeUsage.gp3", euw1, prod, "web", 14, 0.00293, "storage"),
        line(EC2_OTHER, "EBS:VolumeUsage.gp3", use1, staging, "platform", 6, 0.00267, "storage"),
        line(EC2_OTHER, "USW2-EBS:VolumeUsage.gp3", usw2, data, "data", 25, 0.00267, "storage"),
        line(RDS, "Multi-AZUsage:db.r6g.xlarge", use1, prod, "web", 185, 0.904),
        line(RDS, "RDS:Multi-AZ-GP3-Storage", use1, prod, "web", 22, 0.0076, "storage"),
        line(RDS, "InstanceUsage:db.t4g.medium", use1, staging, "web", 3.1, 0.065),
        line(RDS, "USW2-InstanceUsage:db.r6g.large", usw2, data, "data", 45, 0.225),
        line(S3, "TimedStorage-ByteHrs", use1, prod, "web", 48, 0.000767, "storage"),
        line(S3, "Requests-Tier1", use1, prod, "web", 9, 0.000005, "weekday"),
        line(S3, "DataTransfer-Out-Bytes", use1, prod, "web", 21, 0.09, "weekday"),
        line(S3, "USW2-TimedStorage-ByteHrs", usw2, data, "data", 85, 0.000767, "storage"),
        line(S3, "USW2-Requests-Tier2", usw2, data, "data", 6, 0.0000004, "weekday"),
        line(LAMBDA, "Lambda-GB-Second", use1, prod, "web", 31, 0.0000166667, "weekday"),
        line(LAMBDA, "Request", use1, prod, "web", 6, 0.0000002, "weekday"),
        line(LAMBDA, "Lambda-GB-Second", use1, staging, "web", 3, 0.0000166667, "office-hours"),
        line(LAMBDA, "USW2-Lambda-GB-Second", usw2, data, "data", 12, 0.0000166667, "weekday"),
        line(CLOUDFRONT, "US-DataTransfer-Out-Bytes", "global", prod, "web", 58, 0.085, "weekday"),
        line(CLOUDFRONT, "EU-DataTransfer-Out-Bytes", "global", prod, "web", 27, 0.085, "weekday"),
        line(CLOUDFRONT, "US-Requests-Tier1", "global", prod, "web", 8, 0.0000075, "weekday"),
        line(DYNAMODB, "ReadCapacityUnit-Hrs", use1, prod, "web", 24, 0.00013),
        line(DYNAMODB, "WriteCapacityUnit-Hrs", use1, prod, "web", 19, 0.00065),
        line(DYNAMODB, "TimedStorage-ByteHrs", use1, prod, "web", 7, 0.00034, "storage"),
        line(DYNAMODB, "USW2-ReadCapacityUnit-Hrs", usw2, data, "data", 8, 0.00013),
        line(ECS, "Fargate-vCPU-Hours:perCPU", use1, prod, "platform", 42, 0.04048),
        line(ECS, "Fargate-GB-Hours", use1, prod, "platform", 9, 0.004445),
        line(ECS, "Fargate-vCPU-Hours:perCPU", use1, staging, "web", 12, 0.04048, "office-hours"),
        line(EKS, "AmazonEKS-Hours:perCluster", use1, prod, "platform", 2.4, 0.10),
        line(EKS, "AmazonEKS-Hours:perCluster", use1, staging, "platform", 2.4, 0.10),
        line(CLOUDWATCH, "CW:MetricMonitorUsage", use1, prod, "platform", 11, 0.01),
        line(CLOUDWATCH, "DataProcessing-Bytes", use1, prod, None, 16, 0.50, "weekday"),
        line(CLOUDWATCH, "TimedStorage-ByteHrs", use1, prod, None, 4, 0.001, "storage"),
        line(CLOUDWATCH, "DataProcessing-Bytes", use1, staging, None, 3, 0.50, "office-hours"),
        line(CLOUDWATCH, "USW2-CW:MetricMonitorUsage", usw2, data, None, 3, 0.01),
        line(ELASTICACHE, "NodeUsage:cache.r6g.large", use1, prod, "web", 34, 0.206),
        line(VPC, "PublicIPv4:InUseAddress", use1, prod, "platform", 3.6, 0.005),
        line(VPC, "VpcEndpoint-Hours", use1, prod, "platform", 4.8, 0.01),
        line(KMS, "KMS-Keys", use1, prod, None, 0.8, 0.033),
        line(KMS, "KMS-Requests", use1, prod, None, 1.1, 0.000003, "weekday"),
        line(KMS, "USW2-KMS-Requests", usw2, data, None, 1, 0.000003, "weekday"),
        line(ROUTE53, "DNS-Queries", "global", prod, "web", 2.3, 0.0000004, "weekday"),
    )


_RHYTHM_WEEKEND = {"flat": 0.97, "weekday": 0.62, "storage": 1.0, "office-hours": 0.35}
_RHYTHM_GROWTH = {"flat": 0.0005, "weekday": 0.0007, "storage": 0.0011, "office-hours": 0.0004}


def generate_demo_billing(today: date, *, seed: int = DEMO_SEED) -> BillingDataset:
    """Build the demo bill from the first day of the month 13 months before `today` to `today`.

    Args:
        today: the day the demo treats as "now"; it has a partial day of data.
        seed: changes the day-to-day noise, not the shape.

    Returns:
        A BillingDataset with rows, the 3 linked accounts, one monthly budget and the spike.
    """
    first = _months_before(month_start(today), 13)
    rows: list[DailyCost] = []
    day = first
    while day <= today:
        share = _TODAY_FRACTION if day == today else Decimal(1)
        rows.extend(_usage_rows(day, seed, share))
        rows.extend(_spike_rows(day, today, share))
        day += timedelta(days=1)
    rows.extend(_recurring_rows(first, today, seed))
    return BillingDataset(
        rows=tuple(rows),
        today=today,
        accounts=DEMO_ACCOUNTS,
        payer_account=PAYER_ACCOUNT,
        budgets=(BudgetSpec(DEMO_BUDGET_NAME, demo_budget_limit(today, seed=seed)),),
        anomalies=(demo_spike(today),),
    )


def demo_spike(today: date) -> AnomalySpec:
    """The one planted anomaly: GPU instances in the data account, us-west-2, ~10 days ago."""
    days = [today - timedelta(days=back) for back in SPIKE_DAYS_BEFORE_TODAY]
    anomaly_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"penny-demo-spike/{days[0].isoformat()}"))
    return AnomalySpec(
        anomaly_id=anomaly_id,
        start=days[0],
        end=days[-1],
        service=SPIKE_SERVICE,
        account=SPIKE_ACCOUNT,
        region=SPIKE_REGION,
        usage_type=SPIKE_USAGE_TYPE,
    )


def demo_budget_limit(today: date, *, seed: int = DEMO_SEED) -> Decimal:
    """A monthly limit the current month's expected spend reaches about 90% of.

    So the budget's forecast crosses the 80% threshold this month, and actual spend
    crosses it late in the month, which is what a demo of budget alerts needs.
    """
    start = month_start(today)
    expected = sum(
        (row.amounts["UnblendedCost"] for row in _recurring_rows(start, start, seed)), ZERO
    )
    day = start
    while day < next_month(start):
        expected += sum(_day_usage(day, seed), ZERO)
        day += timedelta(days=1)
    return Decimal(math.ceil(expected / Decimal("0.9") / 500) * 500)


def _usage_rows(day: date, seed: int, share: Decimal = Decimal(1)) -> Iterator[DailyCost]:
    for line, usd in zip(_lines(), _day_usage(day, seed), strict=True):
        yield _usage_row(day, line, usd if share == 1 else _money(usd * share))


@functools.lru_cache(maxsize=4096)
def _day_usage(day: date, seed: int) -> tuple[Decimal, ...]:
    """Full-day USD of every usage line; cached since support and tax re-read past months."""
    amounts = []
    for index, line in enumerate(_lines()):
        rng = random.Random(f"{seed}|{index}|{day.isoformat()}")
        weekend = day.weekday() >= 5
        factor = _RHYTHM_WEEKEND[line.rhythm] if weekend else 1.0
        growth = (1 + _RHYTHM_GROWTH[line.rhythm]) ** (day - _GROWTH_EPOCH).days
        noise = 1 + rng.gauss(0, 0.035 if line.rhythm != "storage" else 0.005)
        amounts.append(_money(Decimal(repr(line.daily_usd * factor * growth * max(noise, 0.5)))))
    return tuple(amounts)


def _usage_row(day: date, line: _UsageLine, usd: Decimal) -> DailyCost:
    net = _money(usd * (1 - _EDP_DISCOUNT))
    blended = usd
    if line.service == EC2 and "BoxUsage" in line.usage_type:
        blended = _money(usd * Decimal(_BLEND_FACTOR[line.account]))
    return DailyCost(
        day=day,
        account=line.account,
        service=line.service,
        region=line.region,
        usage_type=line.usage_type,
        tags={DEMO_TAG_KEY: line.team} if line.team else {},
        amounts={
            "UnblendedCost": usd,
            "BlendedCost": blended,
            "AmortizedCost": usd,
            "NetUnblendedCost": net,
            "NetAmortizedCost": net,
            "UsageQuantity": _money(usd / Decimal(repr(line.unit_price))),
        },
    )


def _spike_rows(day: date, today: date, share: Decimal) -> Iterator[DailyCost]:
    for back, shape in zip(SPIKE_DAYS_BEFORE_TODAY, _SPIKE_SHAPE, strict=True):
        if day == today - timedelta(days=back):
            line = _UsageLine(
                SPIKE_SERVICE, SPIKE_USAGE_TYPE, SPIKE_REGION, SPIKE_ACCOUNT, "data", 0, 12.24
            )
            yield _usage_row(day, line, _money(_SPIKE_DAILY_USD * shape * share))


def _recurring_rows(first: date, today: date, seed: int) -> Iterator[DailyCost]:
    """Month-start charges for every month in [first, today]: fees on day 1, SP amortised daily."""
    month = first
    while month <= today:
        yield from _savings_plan_rows(month, today)
        yield _fee_row(month, PAYER_ACCOUNT, ROUTE53, "HostedZone", "global", _HOSTED_ZONES_FEE)
        previous_usage = _previous_month_usage(month, seed)
        yield _fee_row(
            month,
            PAYER_ACCOUNT,
            SUPPORT,
            "Support-Business",
            "global",
            _business_support_fee(sum(previous_usage.values(), ZERO)),
            record_type="Support",
        )
        for account, usage in sorted(previous_usage.items()):
            yield _fee_row(
                month, account, TAX, "Tax", "NoRegion", _money(usage * _TAX_RATE), record_type="Tax"
            )
        month = next_month(month)


def _savings_plan_rows(month: date, today: date) -> Iterator[DailyCost]:
    """The SP fee is billed on day 1 (UnblendedCost) and spread over the month (AmortizedCost)."""
    days_in_month = (next_month(month) - month).days
    daily_share = _money(_SAVINGS_PLAN_FEE / days_in_month)
    day = month
    while day < next_month(month) and day <= today:
        last = day == next_month(month) - timedelta(days=1)
        amortized = _SAVINGS_PLAN_FEE - daily_share * (days_in_month - 1) if last else daily_share
        unblended = _SAVINGS_PLAN_FEE if day == month else ZERO
        yield DailyCost(
            day=day,
            account=PAYER_ACCOUNT,
            service=SAVINGS_PLANS,
            region="global",
            usage_type="ComputeSP:1yrNoUpfront",
            tags={},
            amounts=_fee_amounts(unblended, amortized, Decimal(24)),
            record_type="SavingsPlanRecurringFee",
        )
        day += timedelta(days=1)


def _fee_row(
    day: date,
    account: str,
    service: str,
    usage_type: str,
    region: str,
    usd: Decimal,
    *,
    record_type: str = "Usage",
) -> DailyCost:
    return DailyCost(
        day=day,
        account=account,
        service=service,
        region=region,
        usage_type=usage_type,
        tags={},
        amounts=_fee_amounts(usd, usd, Decimal(1)),
        record_type=record_type,
    )


def _fee_amounts(unblended: Decimal, amortized: Decimal, quantity: Decimal) -> dict[str, Decimal]:
    """Fees get no private-pricing discount and no blending: Net* equal the gross metrics."""
    return {
        "UnblendedCost": unblended,
        "BlendedCost": unblended,
        "AmortizedCost": amortized,
        "NetUnblendedCost": unblended,
        "NetAmortizedCost": amortized,
        "UsageQuantity": quantity,
    }


def _previous_month_usage(month: date, seed: int) -> dict[str, Decimal]:
    """Usage per account in the month before `month` (support and tax are based on it)."""
    usage: dict[str, Decimal] = {}
    day = _months_before(month, 1)
    while day < month:
        for line, usd in zip(_lines(), _day_usage(day, seed), strict=True):
            usage[line.account] = usage.get(line.account, ZERO) + usd
        day += timedelta(days=1)
    return usage


def _business_support_fee(usage: Decimal) -> Decimal:
    """AWS Business support: 10% of the first $10K, 7% up to $80K (the tiers the demo reaches)."""
    first_tier = min(usage, Decimal(10_000))
    second_tier = max(ZERO, min(usage, Decimal(80_000)) - Decimal(10_000))
    return _money(max(Decimal(100), first_tier * Decimal("0.10") + second_tier * Decimal("0.07")))


def _months_before(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT_PRECISION, rounding=ROUND_HALF_EVEN)
