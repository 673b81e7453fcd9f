"""Shared fixtures: a fake Slack server, Settings, the real app built through bot.app, signed dispatch.

Tests build the app with `make_app(...)`, which goes through the same composition root as
production (`bot.app.create_app`), with the WebClient pointed at the fake Slack server and
boto3 pointed at moto or a protocol fake by the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest

from bot.app import TrackingExecutor, create_app
from bot.config import Settings, load_settings
from bot.deps import Deps
from bot.store import Store, open_store
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.slack_requests import FORM, JSON, signed_headers

SIGNING_SECRET = "test-signing-secret-0123456789"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS: fake credentials, a fixed region, no shared config files."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fake Slack Web API server on 127.0.0.1, port 0."""
    with FakeSlack() as fake:
        yield fake


def make_settings(fake: FakeSlack | None = None, **env: str) -> Settings:
    """Settings as the environment would give them, pointed at the fake Slack server."""
    base = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url if fake else "http://127.0.0.1:9/api/",
        "PENNY_DB": ":memory:",
        "PENNY_CONFIG": "",
    }
    base.update(env)
    return load_settings(base, require_signing_secret=True)


@pytest.fixture
def make_deps(fake_slack: FakeSlack) -> Callable[..., Deps]:
    """Build Deps through the composition root: make_deps(store=..., clock=..., **ENV)."""

    def build(
        *, store: Store | None = None, clock: Callable[[], datetime] | None = None, **env: str
    ) -> Deps:
        from bot.app import build_deps

        settings = make_settings(fake_slack, **env)
        return build_deps(settings, store=store or open_store(":memory:"), clock=clock)

    return build


class AppUnderTest:
    """The real Bolt app plus its Deps, with helpers to send signed requests and wait for lazy work."""

    def __init__(self, app: App, deps: Deps, executor: TrackingExecutor, fake: FakeSlack):
        self.app, self.deps, self.executor, self.fake = app, deps, executor, fake

    def dispatch(
        self,
        body: str,
        content_type: str = FORM,
        headers: dict[str, str] | None = None,
        wait: bool = True,
    ) -> BoltResponse:
        """Send a correctly signed request; by default wait for the work that runs after the ack."""
        all_headers = signed_headers(SIGNING_SECRET, body, content_type=content_type)
        all_headers.update(headers or {})
        response = self.app.dispatch(BoltRequest(body=body, headers=all_headers))
        if wait:
            assert self.executor.wait_idle(timeout=60), "lazy work did not finish"
        return response

    def dispatch_json(self, body: str, **kwargs: Any) -> BoltResponse:
        return self.dispatch(body, content_type=JSON, **kwargs)


@pytest.fixture
def make_app(fake_slack: FakeSlack) -> Callable[..., AppUnderTest]:
    """Build the real app: make_app(store=..., clock=..., aws=..., **ENV)."""

    def build(
        *,
        store: Store | None = None,
        clock: Callable[[], datetime] | None = None,
        aws: Any = None,
        **env: str,
    ) -> AppUnderTest:
        settings = make_settings(fake_slack, **env)
        executor = TrackingExecutor()
        app, deps = create_app(
            settings, store=store or open_store(":memory:"), clock=clock, aws=aws, executor=executor
        )
        return AppUnderTest(app, deps, executor, fake_slack)

    return build


def fixed_clock(when: datetime) -> Callable[[], datetime]:
    """A clock that always says `when` (aware, UTC)."""
    moment = when if when.tzinfo else when.replace(tzinfo=UTC)
    return lambda: moment


def ack_json(response: BoltResponse) -> dict[str, Any]:
    """The JSON body of an ack (empty dict for an empty ack)."""
    return json.loads(response.body) if response.body else {}
