"""The composition root: the only place that builds real clients and wires Penny together.

`create_app(settings)` returns the Bolt app and its Deps; tests and the console pass
fakes (a WebClient pointed at a fake Slack server, a clock, a store) through the same
function, so what they exercise is what production runs.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from threading import Condition
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.config import Settings
from bot.deps import Deps, system_clock
from bot.store import Store, open_store

logger = logging.getLogger(__name__)


class TrackingExecutor(ThreadPoolExecutor):
    """A thread pool for lazy listeners that can tell when all submitted work is done."""

    def __init__(self, max_workers: int = 8):
        super().__init__(max_workers=max_workers, thread_name_prefix="penny-lazy")
        self._in_flight = 0
        self._idle = Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._in_flight += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._one_done)
        return future

    def _one_done(self, _: Future[Any]) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no submitted work is running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)


def build_slack_client(settings: Settings) -> WebClient:
    """A WebClient for SLACK_API_URL that honours Retry-After on 429s and retries dropped connections."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_deps(
    settings: Settings,
    *,
    store: Store | None = None,
    slack: WebClient | None = None,
    aws: Callable[[], Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Deps:
    """Build every dependency from Settings; any one may be replaced (tests, console)."""
    from bot.aws.cost_explorer import CostExplorer
    from bot.aws.session import AwsSessionFactory

    deps = Deps(
        settings=settings,
        store=store or open_store(settings.db_path),
        slack=slack or build_slack_client(settings),
        aws=aws or AwsSessionFactory(region_name=settings.aws_region),
        clock=clock or system_clock,
    )
    deps.cost = CostExplorer(
        session_factory=deps.aws,
        store=deps.store,
        clock=deps.clock,
        accounts=settings.section("cost").get("accounts"),
    )
    for attach in _area_attachers():
        attach(deps)
    return deps


def _area_attachers() -> list[Callable[[Deps], None]]:
    """Each area may attach its engine to Deps through an `attach(deps)` function."""
    attachers = []
    for name in ATTACH_MODULES:
        module = importlib.import_module(name)
        attachers.append(module.attach)
    return attachers


# Modules exposing `attach(deps)`, called in order after the core Deps exist.
# The approvals engine comes first: the agent and the schedules register outcome listeners on it.
ATTACH_MODULES: list[str] = ["bot.approvals_engine", "bot.agent.service", "schedules.runtime"]


def build_app(deps: Deps, *, executor: ThreadPoolExecutor | None = None) -> App:
    """Build the Bolt app and register every listener module on it."""
    from handlers import HANDLER_MODULES

    settings = deps.settings
    app = App(
        client=deps.slack,
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=bool(settings.slack_signing_secret),
        token_verification_enabled=False,
        listener_executor=executor or TrackingExecutor(),
        # The ack runs in the request thread; only lazy listeners use the pool. With False, Bolt
        # would queue acks on the same pool as slow answers and acks would wait behind them.
        process_before_response=True,
        logger=logging.getLogger("slack_bolt.App"),
    )
    for name in HANDLER_MODULES:
        importlib.import_module(name).register(app, deps)
    return app


def create_app(settings: Settings, **overrides: Any) -> tuple[App, Deps]:
    """Build Deps and the Bolt app in one call (see build_deps for the overrides)."""
    executor = overrides.pop("executor", None)
    deps = build_deps(settings, **overrides)
    return build_app(deps, executor=executor), deps


def start_background_work(deps: Deps, *, skip: tuple[str, ...] = ()) -> None:
    """Run each area's `on_start(deps)` (restart recovery, the scheduler) in a serving process."""
    for name in ATTACH_MODULES:
        if name in skip:
            continue
        on_start = getattr(importlib.import_module(name), "on_start", None)
        if on_start is not None:
            on_start(deps)


def stop_background_work(deps: Deps) -> None:
    """Run each area's `on_stop(deps)` when a serving process shuts down."""
    for name in reversed(ATTACH_MODULES):
        on_stop = getattr(importlib.import_module(name), "on_stop", None)
        if on_stop is not None:
            on_stop(deps)
