"""Cost Explorer requests for a replay of 500 /cost commands spread over a simulated day.

Each command goes through the production path (cost engine -> CostExplorer with its
SQLite cache -> boto3 -> a server speaking Cost Explorer's protocol); the clock advances
through the day so cached current-period data expires as it would. Every page counts as a
paid request ($0.01). Naive = one request per command. Target: at most 5% of naive.

    .venv/bin/python bench/ce_replay.py [--commands 500] [--page-size 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.aws.cost_explorer import CURRENT_PERIOD_TTL, CostExplorer  # noqa: E402
from bot.aws.session import AwsSessionFactory  # noqa: E402
from bot.core.cost_engine import answer_cost_command  # noqa: E402
from bot.devtools.demo_data import generate_demo_billing  # noqa: E402
from bot.devtools.fake_billing import FakeBillingServer  # noqa: E402
from bot.store import open_store  # noqa: E402

# What a FinOps channel asks in a day, with rough weights.
MIX = [
    ("this-month", 24),
    ("last-month", 10),
    ("7d", 8),
    ("yesterday", 8),
    ("30d", 6),
    ("this-week", 4),
    ("last-week", 4),
    ("this-month by account", 6),
    ("last-month by account", 3),
    ("this-month service:ec2", 5),
    ("30d service:rds by usage-type", 2),
    ("this-month by region", 3),
    ("last-month by tag:team", 2),
    ("90d", 2),
    ("ytd", 1),
    ("2026-10", 2),
    ("forecast", 5),
    ("budgets", 3),
    ("this-month top 5", 2),
]


def day_of_commands(rng: random.Random, day: date, count: int) -> list[tuple[datetime, str]]:
    """`count` commands of the mix at random moments of `day` (UTC), in time order."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    moments = sorted(start + timedelta(seconds=rng.uniform(0, 86400)) for _ in range(count))
    texts, weights = zip(*MIX, strict=True)
    return [(moment, rng.choices(texts, weights)[0]) for moment in moments]


def replay(
    source: CostExplorer, now: list[datetime], commands: list[tuple[datetime, str]]
) -> tuple[int, float]:
    """Answer every command at its moment; returns (failed answers, seconds)."""
    started = time.perf_counter()
    failures = 0
    for moment, text in commands:
        now[0] = moment
        answer = answer_cost_command(
            text, source=source, today=moment.date(), metric="UnblendedCost", now=moment
        )
        failures += answer.ephemeral and text != "help"
    return failures, time.perf_counter() - started


def paid_requests(billing: FakeBillingServer) -> int:
    """Cost Explorer requests ($0.01 each, every page); Budgets requests are free."""
    return billing.count("GetCostAndUsage") + billing.count("GetCostForecast")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument(
        "--page-size", type=int, default=200, help="entries per Cost Explorer page in the fake"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    first_day = date(2026, 11, 22)
    next_day = first_day + timedelta(days=1)
    now = [datetime(2026, 11, 22, tzinfo=UTC)]
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1"
    )
    naive = args.commands
    rows = []
    with FakeBillingServer(generate_demo_billing(first_day), page_size=args.page_size) as billing:
        os.environ["AWS_ENDPOINT_URL_COST_EXPLORER"] = billing.url
        os.environ["AWS_ENDPOINT_URL_BUDGETS"] = billing.url
        store = open_store(os.path.join(tempfile.mkdtemp(prefix="penny-replay-"), "penny.db"))
        source = CostExplorer(
            AwsSessionFactory(), store, clock=lambda: now[0], account_id="123456789012"
        )
        day_one = day_of_commands(rng, first_day, args.commands)
        failures, seconds = replay(source, now, day_one)
        rows.append(("first day, empty cache", paid_requests(billing), failures, seconds))
        first_paths = dict(source.pages_by_path)
        # The next day: AWS has a day more of data; Penny keeps the same database.
        billing.set_dataset(generate_demo_billing(next_day))
        billing.clear_requests()
        failures, seconds = replay(source, now, day_of_commands(rng, next_day, args.commands))
        rows.append(("next day, same database", paid_requests(billing), failures, seconds))
        next_paths = {
            path: pages - first_paths.get(path, 0) for path, pages in source.pages_by_path.items()
        }
    print(
        f"replay: {args.commands} /cost commands per simulated day ({len(MIX)} forms, weighted), "
        f"fake page size {args.page_size}"
    )
    print(f"{'':34}{'requests':>10}{'$':>9}{'% of naive':>12}{'failed':>8}{'ms/cmd':>8}")
    print(f"{'naive (one request per command)':34}{naive:>10}{naive * 0.01:>9.2f}{100:>11.1f}%")
    for label, paid, failed, seconds in rows:
        print(
            f"{'Penny, ' + label:34}{paid:>10}{paid * 0.01:>9.2f}{paid / naive * 100:>11.1f}%"
            f"{failed:>8}{seconds / naive * 1000:>8.1f}"
        )
    for label, paths in (("first day", first_paths), ("next day", next_paths)):
        listed = ", ".join(f"{path} {pages}" for path, pages in sorted(paths.items()) if pages)
        print(f"{label}'s paid pages by cache path: {listed}")
    print(
        f"(chunk-daily: this month's days, refreshed every {CURRENT_PERIOD_TTL}, with last "
        "month's the first time; chunk-daily-final: days of finalised months that rolling "
        "windows cut, kept forever; chunk-monthly: whole finalised months, kept forever)"
    )
    for label, paid, _, _ in rows:
        print(f"target <= 5% of naive, {label}: {'met' if paid <= naive * 0.05 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
