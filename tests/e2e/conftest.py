"""Start the real `python -m bot serve` process against a fake Slack server and the Cost Explorer fake."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from bot.devtools.demo_data import generate_demo_billing
from bot.devtools.fake_billing import FakeBillingServer
from tests.conftest import SIGNING_SECRET
from tests.fakes.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PennyProcess:
    url: str
    proc: subprocess.Popen
    fake_slack: FakeSlack
    billing: FakeBillingServer
    db_path: str
    log_path: Path

    def post(self, body: str, headers: dict[str, str]) -> tuple[int, str, float]:
        """POST to /slack/events; returns status, body and seconds taken."""
        request = urllib.request.Request(
            self.url + "/slack/events", data=body.encode(), headers=headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode(), time.perf_counter() - started
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(), time.perf_counter() - started

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, *parts: str, timeout: float = 10.0) -> str:
        """The first log line containing every one of `parts`, once the process has written it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.log().splitlines() if all(p in line for p in parts)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no log line with {parts} in {timeout}s:\n{self.log()}")


def start_penny(
    tmp_path: Path,
    fake: FakeSlack,
    billing: FakeBillingServer,
    *,
    args: tuple[str, ...] = ("serve", "--host", "127.0.0.1"),
    **extra_env: str,
) -> PennyProcess:
    """Start `python -m bot ARGS` and wait until GET /healthz on its PORT answers 200.

    An `extra_env` value of "" removes that variable from the process's environment.
    """
    port = free_port()
    db_path = str(tmp_path / "penny.db")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SLACK_BOT_TOKEN": "xoxb-e2e-token-secret",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        "PORT": str(port),
        "PENNY_DB": db_path,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_COST_EXPLORER": billing.url,
        "AWS_ENDPOINT_URL_BUDGETS": billing.url,
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra_env)
    env = {name: value for name, value in env.items() if value != ""}
    # The process runs its scheduler, which may catch up a report on start: reports go to
    # their own channel so that the answers a test waits for are the only posts in C0FINOPS.
    (tmp_path / "penny.toml").write_text('[jobs]\nchannel = "C0REPORTS"\n')
    log_path = tmp_path / "penny.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError("penny exited early:\n" + log_path.read_text())
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("penny did not become healthy:\n" + log_path.read_text())
    return PennyProcess(url, proc, fake, billing, db_path, log_path)


def stop_penny(penny: PennyProcess) -> None:
    penny.proc.terminate()
    try:
        penny.proc.wait(10)
    except subprocess.TimeoutExpired:
        penny.proc.kill()


@pytest.fixture
def billing() -> Iterator[FakeBillingServer]:
    with FakeBillingServer(generate_demo_billing(date.today()), page_size=40) as server:
        yield server


@pytest.fixture
def penny(tmp_path, fake_slack, billing) -> Iterator[PennyProcess]:
    process = start_penny(tmp_path, fake_slack, billing)
    yield process
    stop_penny(process)


def reset_moto(url: str) -> None:
    """moto keeps its state per process: start from, and leave, an empty account for other tests."""
    urllib.request.urlopen(
        urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10
    ).close()


@pytest.fixture(scope="module")
def demo_aws():
    """The demo AWS account (moto with seeded resources, plus the Cost Explorer fake)."""
    from datetime import UTC, datetime

    from bot.devtools.demo_aws import seed_demo_resources, start_demo_aws

    now = datetime.now(UTC)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with start_demo_aws(now.date(), seed=False, now=now) as running:
            reset_moto(running.moto_url)
            running.resources = seed_demo_resources(
                running.session(), endpoint_url=running.moto_url, now=now
            )
            yield running
            reset_moto(running.moto_url)
