"""Rough on-demand prices for the monthly $ effect shown on approval cards.

These are estimates: us-east-1 on-demand list prices (Linux for EC2, single-AZ PostgreSQL/
MySQL for RDS) in USD per hour, times 730 hours a month. Real bills differ with region,
OS, Savings Plans, Reserved Instances and storage (which keeps being charged for stopped
instances). Unknown types return None, and the card then says the effect is not computed.
"""

from __future__ import annotations

HOURS_PER_MONTH = 730
ESTIMATE_NOTE = "estimate: us-east-1 on-demand compute x 730 h; storage not included"

EC2_HOURLY_USD: dict[str, float] = {
    "t2.micro": 0.0116,
    "t2.small": 0.023,
    "t2.medium": 0.0464,
    "t2.large": 0.0928,
    "t3.nano": 0.0052,
    "t3.micro": 0.0104,
    "t3.small": 0.0208,
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "t3.2xlarge": 0.3328,
    "m5.large": 0.096,
    "m5.xlarge": 0.192,
    "m5.2xlarge": 0.384,
    "m5.4xlarge": 0.768,
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "c5.large": 0.085,
    "c5.xlarge": 0.17,
    "c5.2xlarge": 0.34,
    "r5.large": 0.126,
    "r5.xlarge": 0.252,
    "g4dn.xlarge": 0.526,
    "p3.2xlarge": 3.06,
}

RDS_HOURLY_USD: dict[str, float] = {
    "db.t3.micro": 0.018,
    "db.t3.small": 0.036,
    "db.t3.medium": 0.072,
    "db.t3.large": 0.145,
    "db.t4g.micro": 0.016,
    "db.t4g.small": 0.032,
    "db.t4g.medium": 0.065,
    "db.m5.large": 0.178,
    "db.m5.xlarge": 0.356,
    "db.m6g.large": 0.159,
    "db.r5.large": 0.25,
    "db.r5.xlarge": 0.50,
    "db.r6g.large": 0.225,
}


def monthly_usd(
    hourly_table: dict[str, float], instance_type: str, multi_az: bool = False
) -> float | None:
    """Monthly on-demand cost of one instance of `instance_type`, or None when unknown."""
    hourly = hourly_table.get(instance_type)
    if hourly is None:
        return None
    return round(hourly * HOURS_PER_MONTH * (2 if multi_az else 1), 2)
