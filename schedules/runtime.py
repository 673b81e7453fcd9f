"""The scheduler: a job registry on Deps, and APScheduler running it while this replica holds the lease.

* `attach(deps)` parses `[jobs]`/`[budgets]` and attaches a `JobRegistry` as `deps.jobs`
  (the CLI, the console and `/penny schedules` use it without starting anything).
* `on_start(deps)` starts a BackgroundScheduler with one lease job. Every tick the replica
  tries to take or renew the lease; the holder adds a CronTrigger per enabled job (in the
  job's time zone), catches up, once, the latest occurrence missed within the grace
  period, and delivers rate-limited posts whose time has come. A replica that loses the
  lease removes its cron jobs; non-holders keep trying and take over once it expires.
* Each occurrence is claimed in the ledger (`run:<job>:<time>`) before it runs, so a
  restart, a catch-up and a scheduled fire of the same occurrence run it once.
* A job that raises is logged, recorded in the run history and reported to the ops
  channel (at most once an hour per job); the scheduler goes on.
"""

from __future__ import annotations

import importlib
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import ConfigError, Settings
from bot.core.blocks.reports import ScheduleRow, build_job_failure_blocks
from bot.core.schedule_config import (
    ANOMALY_REPORT,
    APPROVAL_EXPIRY,
    BUDGET_ALERTS,
    IDLE_RESOURCES,
    WEEKLY_DIGEST,
    JobConfig,
    ScheduleConfig,
    ScheduleConfigError,
    parse_schedule_config,
)
from bot.deps import Deps
from bot.store import ledger
from schedules.common import JobResult
from schedules.posting import deliver_due_retries, post_once

logger = logging.getLogger(__name__)

LEASE_NAME = "penny-scheduler"
JobFunction = Callable[[Deps, datetime], JobResult]

# Where each job's function lives (imported when the registry is built, not at import time).
JOB_FUNCTIONS: dict[str, str] = {
    BUDGET_ALERTS: "schedules.budget_alerts:run_budget_alerts",
    ANOMALY_REPORT: "schedules.anomaly_report:run_anomaly_report",
    WEEKLY_DIGEST: "schedules.weekly_digest:run_weekly_digest",
    IDLE_RESOURCES: "schedules.idle_resources:run_idle_resources",
    APPROVAL_EXPIRY: "schedules.approval_expiry:run_approval_expiry",
}
_LOOKBACK_WINDOWS = (
    timedelta(minutes=2),
    timedelta(hours=3),
    timedelta(days=2),
    timedelta(days=9),
    timedelta(days=32),
    timedelta(days=367),
)


class ScheduleConfigInvalid(ConfigError):
    """The `[jobs]`/`[budgets]` tables or a cron expression are invalid; start-up stops with every problem."""


def load_schedule_config(settings: Settings) -> ScheduleConfig:
    """Parse and fully validate the schedule config (cron values included); ScheduleConfigInvalid otherwise."""
    try:
        config = parse_schedule_config(
            settings.section("jobs"), settings.section("budgets"), settings.timezone
        )
    except ScheduleConfigError as exc:
        raise ScheduleConfigInvalid([f"PENNY_CONFIG {p}" for p in exc.problems]) from None
    problems = []
    for job in config.jobs.values():
        try:
            make_trigger(job)
        except ValueError as exc:
            problems.append(f"PENNY_CONFIG [jobs.{job.name}] cron {job.cron!r}: {exc}")
    if problems:
        raise ScheduleConfigInvalid(problems)
    return config


def make_trigger(job: JobConfig) -> CronTrigger:
    """The APScheduler trigger of a job: its crontab read in its time zone."""
    return CronTrigger.from_crontab(job.cron, timezone=ZoneInfo(job.timezone))


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest time at or before `now` the trigger fires (None if not within a year)."""
    for window in _LOOKBACK_WINDOWS:
        latest = None
        fire = trigger.get_next_fire_time(None, now - window)
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return latest
    return None


def occurrence_key(job: str, occurrence: datetime) -> str:
    """The ledger key of one scheduled occurrence of a job."""
    return f"run:{job}:{occurrence.astimezone(UTC).isoformat(timespec='minutes')}"


class JobRegistry:
    """Every job by name with its config and function; runs one with history and failure reporting."""

    def __init__(self, config: ScheduleConfig, functions: dict[str, JobFunction]):
        self.config = config
        self.functions = functions

    def names(self) -> list[str]:
        """Job names in the documented order."""
        return list(self.config.jobs)

    def rows(self, deps: Deps, now: datetime) -> list[ScheduleRow]:
        """Each job with channel, cron, time zone, enabled, next run and the last run's outcome."""
        rows = []
        for name, job in self.config.jobs.items():
            last = ledger.last_run(deps.store, name)
            last_text = (
                f"{last['started_at']} {last['outcome'] or 'running'} ({last['trigger']})"
                if last
                else "never"
            )
            nxt = make_trigger(job).get_next_fire_time(None, now) if job.enabled else None
            rows.append(
                ScheduleRow(
                    name,
                    job.summary,
                    job.channel,
                    job.cron,
                    job.timezone,
                    job.enabled,
                    nxt,
                    last_text,
                )
            )
        return rows

    def run(
        self,
        deps: Deps,
        name: str,
        now: datetime,
        *,
        trigger: str = "manual",
        scheduled_for: datetime | None = None,
    ) -> JobResult:
        """Run job `name` now; never raises for a failing job (the result carries the error)."""
        run_id = ledger.start_run(
            deps.store, name, trigger=trigger, now=now, scheduled_for=scheduled_for
        )
        logger.info("job=<%s>, trigger=<%s>, run=<%d> | job started", name, trigger, run_id)
        try:
            result = self.functions[name](deps, now)
        except Exception as exc:
            logger.exception("job=<%s>, run=<%d> | job failed", name, run_id)
            result = JobResult(job=name, error=f"{type(exc).__name__}: {str(exc)[:200]}")
            ledger.finish_run(
                deps.store, run_id, outcome="error", detail=result.error or "", now=deps.clock()
            )
            report_failure(deps, self.config, name, result.error or "", now)
            return result
        ledger.finish_run(
            deps.store, run_id, outcome="ok", detail=result.summary(), now=deps.clock()
        )
        logger.info(
            "job=<%s>, run=<%d>, result=<%s> | job finished", name, run_id, result.summary()
        )
        return result


def report_failure(deps: Deps, config: ScheduleConfig, job: str, error: str, now: datetime) -> None:
    """Tell the ops channel a job failed (once an hour per job, so a failing minute job does not flood it)."""
    if not config.ops_channel:
        return
    key = f"failure:{job}:{now.astimezone(UTC):%Y-%m-%dT%H}"
    blocks = build_job_failure_blocks(job, error, now.astimezone(deps.settings.tz))
    try:
        post_once(
            deps,
            key,
            job=job,
            channel=config.ops_channel,
            text=f"Scheduled job {job} failed",
            blocks=blocks,
            now=now,
        )
    except Exception:
        logger.exception("job=<%s> | could not report the failure to the ops channel", job)


def build_registry(config: ScheduleConfig) -> JobRegistry:
    """The registry with every job function imported."""
    functions: dict[str, JobFunction] = {}
    for name, target in JOB_FUNCTIONS.items():
        module, _, attr = target.partition(":")
        functions[name] = getattr(importlib.import_module(module), attr)
    return JobRegistry(config, functions)


class Scheduler:
    """APScheduler plus the lease: only the replica holding the lease fires jobs."""

    def __init__(
        self,
        deps: Deps,
        registry: JobRegistry,
        *,
        holder: str | None = None,
        tick_seconds: float | None = None,
    ):
        self.deps = deps
        self.registry = registry
        self.holder = holder or f"penny-{uuid.uuid4().hex[:12]}"
        ttl = registry.config.lease_ttl.total_seconds()
        self.tick_seconds = tick_seconds if tick_seconds is not None else max(1.0, ttl / 3)
        self.leading = False
        self._lock = threading.RLock()
        self._aps: BackgroundScheduler | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start APScheduler with the lease job; the first tick runs at once."""
        self._aps = BackgroundScheduler(timezone=UTC)
        self._aps.add_job(
            self.tick,
            IntervalTrigger(seconds=self.tick_seconds),
            id="penny-lease",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self._aps.start()
        logger.info(
            "holder=<%s>, tick_seconds=<%s> | scheduler started", self.holder, self.tick_seconds
        )

    def stop(self) -> None:
        """Stop firing and give the lease up so another replica takes over at once."""
        if self._aps is not None:
            self._aps.shutdown(wait=True)
            self._aps = None
        with self._lock:
            if self.leading:
                ledger.release_lease(self.deps.store, LEASE_NAME, self.holder)
            self.leading = False
        logger.info("holder=<%s> | scheduler stopped", self.holder)

    # -- the lease tick ---------------------------------------------------------------------

    def tick(self) -> None:
        """Take or renew the lease; on gaining it schedule and catch up; on losing it stop firing."""
        now = self.deps.clock()
        try:
            held = ledger.acquire_lease(
                self.deps.store,
                LEASE_NAME,
                self.holder,
                now=now,
                ttl=self.registry.config.lease_ttl,
            )
        except Exception:
            logger.exception("holder=<%s> | lease check failed", self.holder)
            held = False
        with self._lock:
            if held and not self.leading:
                self.leading = True
                logger.info("holder=<%s> | lease acquired, running the schedules", self.holder)
                self._add_cron_jobs()
                self.catch_up(now)
            elif not held and self.leading:
                self.leading = False
                logger.warning(
                    "holder=<%s> | lease lost, no longer running the schedules", self.holder
                )
                self._remove_cron_jobs()
        if held:
            self._deliver_retries(now)

    def _deliver_retries(self, now: datetime) -> None:
        try:
            deliver_due_retries(self.deps, now)
        except Exception:
            logger.exception("holder=<%s> | delivering deferred posts failed", self.holder)

    def _add_cron_jobs(self) -> None:
        if self._aps is None:
            return
        grace = int(self.registry.config.catch_up_grace.total_seconds()) or None
        for name, job in self.registry.config.jobs.items():
            if job.enabled:
                self._aps.add_job(
                    self.fire,
                    make_trigger(job),
                    args=[name],
                    id=f"job:{name}",
                    replace_existing=True,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=grace,
                )

    def _remove_cron_jobs(self) -> None:
        if self._aps is None:
            return
        for name in self.registry.names():
            try:
                self._aps.remove_job(f"job:{name}")
            except Exception:  # noqa: S110 - not scheduled (disabled): nothing to remove
                logger.debug("job=<%s> | was not scheduled", name)

    # -- running occurrences ----------------------------------------------------------------

    def fire(self, name: str) -> JobResult | None:
        """APScheduler's callback: run the occurrence that is due now (once, ledger-checked)."""
        now = self.deps.clock()
        occurrence = previous_fire_time(make_trigger(self.registry.config.job(name)), now) or now
        return self.run_occurrence(name, occurrence, now, trigger="schedule")

    def catch_up(self, now: datetime) -> list[str]:
        """Run, once, each enabled job's latest occurrence missed within the grace period."""
        grace = self.registry.config.catch_up_grace
        caught = []
        for name, job in self.registry.config.jobs.items():
            if not job.enabled:
                continue
            occurrence = previous_fire_time(make_trigger(job), now)
            if occurrence is None or now - occurrence > grace:
                continue
            if self.run_occurrence(name, occurrence, now, trigger="catch-up") is not None:
                caught.append(name)
        return caught

    def run_occurrence(
        self, name: str, occurrence: datetime, now: datetime, *, trigger: str
    ) -> JobResult | None:
        """Run `name` for `occurrence` unless this replica lost the lease or it already ran."""
        if not self.leading or ledger.lease_holder(self.deps.store, LEASE_NAME, now) != self.holder:
            logger.info(
                "job=<%s>, holder=<%s> | not the lease holder, not running", name, self.holder
            )
            return None
        if not ledger.claim(self.deps.store, occurrence_key(name, occurrence), job=name, now=now):
            logger.debug("job=<%s>, occurrence=<%s> | already ran", name, occurrence)
            return None
        return self.registry.run(self.deps, name, now, trigger=trigger, scheduled_for=occurrence)


# -- composition-root hooks -----------------------------------------------------------------


def attach(deps: Deps) -> None:
    """Parse the schedule config and attach the job registry as `deps.jobs` (nothing starts)."""
    config = load_schedule_config(deps.settings)
    check_budgets_in_scope(config, getattr(deps.cost, "accounts", None))
    deps.jobs = build_registry(config)


def check_budgets_in_scope(config: ScheduleConfig, accounts: tuple[str, ...] | None) -> None:
    """A Penny-side budget for an account outside `[cost] accounts` could never be read: say so at start-up."""
    if accounts is None:
        return
    problems = [
        f"PENNY_CONFIG [budgets.{b.name}] account {b.value!r} is not in [cost] accounts; "
        "add it there or remove the budget"
        for b in config.budgets
        if b.scope == "account" and b.value not in accounts
    ]
    if problems:
        raise ScheduleConfigInvalid(problems)


def on_start(deps: Deps) -> None:
    """Start the scheduler for a serving process (it runs jobs only while holding the lease)."""
    if deps.jobs is None:
        attach(deps)
    scheduler = Scheduler(deps, deps.jobs)
    deps.extras["scheduler"] = scheduler
    scheduler.start()


def on_stop(deps: Deps) -> None:
    """Stop the scheduler and release the lease."""
    scheduler: Any = deps.extras.pop("scheduler", None)
    if scheduler is not None:
        scheduler.stop()
