"""Ack latency of /cost under 50 concurrent requests: Penny vs a bare Bolt app that only acks.

Both run as separate processes behind the same server (waitress, 16 threads) on 127.0.0.1;
Penny is the real `python -m bot serve` against a fake Slack server and the Cost Explorer
fake, so its after-ack work (Cost Explorer calls, posting) competes for the same CPU.
Prints median and p99 for each, and the ratio. Target: Penny's p99 < 100 ms and within
1.5x of the bare app.

    .venv/bin/python bench/ack_latency.py [--rounds 10] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.devtools.demo_data import generate_demo_billing  # noqa: E402
from bot.devtools.fake_billing import FakeBillingServer  # noqa: E402
from bot.devtools.fake_slack import FakeSlack  # noqa: E402
from bot.devtools.slack_requests import signed_headers, slash_command_body  # noqa: E402

COMMANDS = [
    "this-month",
    "last-month",
    "7d by account",
    "30d service:ec2",
    "yesterday",
    "last-month by region",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not become healthy")


def post(url: str, body: str, headers: dict[str, str]) -> float:
    request = urllib.request.Request(
        url + "/slack/events", data=body.encode(), headers=headers, method="POST"
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(response.status)
    return time.perf_counter() - started


def burst(url: str, secret: str, concurrency: int, response_url: str) -> list[float]:
    """Fire `concurrency` signed /cost requests at once; return each ack's latency."""
    bodies = [
        slash_command_body("/cost", COMMANDS[i % len(COMMANDS)], response_url=response_url)
        for i in range(concurrency)
    ]
    prepared = [(b, signed_headers(secret, b)) for b in bodies]
    barrier = threading.Barrier(concurrency)
    results: list[float] = []
    lock = threading.Lock()

    def one(body: str, headers: dict[str, str]) -> None:
        barrier.wait()
        seconds = post(url, body, headers)
        with lock:
            results.append(seconds)

    threads = [threading.Thread(target=one, args=p) for p in prepared]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def measure(url: str, secret: str, rounds: int, concurrency: int, response_url: str) -> list[float]:
    burst(url, secret, concurrency, response_url)  # warm-up, not counted
    samples: list[float] = []
    for _ in range(rounds):
        samples += burst(url, secret, concurrency, response_url)
        time.sleep(0.3)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    secret = secrets.token_hex(16)
    tmp = tempfile.mkdtemp(prefix="penny-bench-")
    with (
        FakeSlack() as fake,
        FakeBillingServer(generate_demo_billing(date.today()), page_size=50) as billing,
    ):
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": fake.url,
            "PENNY_DB": os.path.join(tmp, "penny.db"),
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_COST_EXPLORER": billing.url,
            "AWS_ENDPOINT_URL_BUDGETS": billing.url,
            "PYTHONPATH": str(ROOT),
            "PENNY_LOG_LEVEL": "WARNING",
        }
        penny_port, bare_port = free_port(), free_port()
        penny = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
            cwd=tmp,
            env={**env, "PORT": str(penny_port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        bare = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "bare_bolt_app.py"),
                str(bare_port),
                secret,
                fake.url,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            penny_url, bare_url = f"http://127.0.0.1:{penny_port}", f"http://127.0.0.1:{bare_port}"
            wait_healthy(penny_url, penny)
            wait_healthy(bare_url, bare)
            bare_samples = measure(
                bare_url, secret, args.rounds, args.concurrency, fake.response_url()
            )
            penny_samples = measure(
                penny_url, secret, args.rounds, args.concurrency, fake.response_url()
            )
            time.sleep(2)
            penny_cpu, bare_cpu = cpu_seconds(penny.pid), cpu_seconds(bare.pid)
        finally:
            penny.terminate()
            bare.terminate()
    n = len(penny_samples)
    print(
        f"/cost ack latency, {args.rounds} bursts of {args.concurrency} concurrent signed requests ({n} samples each)"
    )
    print(f"{'':18}{'median ms':>12}{'p99 ms':>12}")
    for name, samples in (("bare Bolt app", bare_samples), ("Penny", penny_samples)):
        print(f"{name:18}{statistics.median(samples) * 1000:12.1f}{p99(samples) * 1000:12.1f}")
    ratio_median = statistics.median(penny_samples) / statistics.median(bare_samples)
    ratio_p99 = p99(penny_samples) / p99(bare_samples)
    print(f"{'Penny / bare':18}{ratio_median:12.2f}x{ratio_p99:11.2f}x")
    print(
        f"target: Penny p99 < 100 ms -> {'met' if p99(penny_samples) < 0.1 else 'NOT met'}; "
        f"within 1.5x of bare -> {'met' if ratio_p99 <= 1.5 else 'NOT met'}"
    )
    requests = (args.rounds + 1) * args.concurrency
    print(
        f"CPU per request (process total / requests): Penny {penny_cpu / requests * 1000:.1f} ms, "
        f"bare {bare_cpu / requests * 1000:.1f} ms"
    )
    print(
        f"answers posted during the run: {len(fake.calls_to('chat.postMessage'))}; Cost Explorer requests: {billing.count()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
