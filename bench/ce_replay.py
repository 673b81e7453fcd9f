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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument(
        "--page-size", type=int, default=200, help="entries per Cost Explorer page in the fake"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    today = date(2026, 11, 22)
    start = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
    moments = sorted(start + timedelta(seconds=rng.uniform(0, 86400)) for _ in range(args.commands))
    texts, weights = zip(*MIX, strict=True)
    commands = [rng.choices(texts, weights)[0] for _ in moments]
    now = [start]
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1"
    )
    with FakeBillingServer(generate_demo_billing(today), page_size=args.page_size) as billing:
        os.environ["AWS_ENDPOINT_URL_COST_EXPLORER"] = billing.url
        os.environ["AWS_ENDPOINT_URL_BUDGETS"] = billing.url
        store = open_store(os.path.join(tempfile.mkdtemp(prefix="penny-replay-"), "penny.db"))
        source = CostExplorer(
            AwsSessionFactory(), store, clock=lambda: now[0], account_id="123456789012"
        )
        started = time.perf_counter()
        failures = 0
        for moment, text in zip(moments, commands, strict=True):
            now[0] = moment
            answer = answer_cost_command(
                text, source=source, today=moment.date(), metric="UnblendedCost", now=moment
            )
            failures += answer.ephemeral and text != "help"
        seconds = time.perf_counter() - started
        by_op = {
            op: billing.count(op)
            for op in ("GetCostAndUsage", "GetCostForecast", "DescribeBudgets")
        }
        paid = billing.count("GetCostAndUsage") + billing.count("GetCostForecast")
    naive = args.commands
    print(
        f"replay: {args.commands} /cost commands over one simulated day ({len(set(commands))} distinct forms), "
        f"fake page size {args.page_size}"
    )
    print(f"{'':34}{'requests':>10}{'$':>9}{'% of naive':>12}")
    print(f"{'naive (one request per command)':34}{naive:>10}{naive * 0.01:>9.2f}{100:>11.1f}%")
    print(
        f"{'Penny (cache, every page counted)':34}{paid:>10}{paid * 0.01:>9.2f}{paid / naive * 100:>11.1f}%"
    )
    print(f"by operation: {by_op} (Budgets requests are free)")
    paths = ", ".join(f"{path} {pages}" for path, pages in sorted(source.pages_by_path.items()))
    print(
        f"paid pages by cache path: {paths} (chunk-daily: months AWS has not finalised, "
        f"refreshed every {CURRENT_PERIOD_TTL}; chunk-monthly: finalised months, kept forever)"
    )
    print(
        f"target <= 5% of naive -> {'met' if paid <= naive * 0.05 else 'NOT met'}; "
        f"answers that failed: {failures}; wall time {seconds:.1f}s ({seconds / naive * 1000:.1f} ms per command)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
