"""`python -m bot jobs list` and `python -m bot jobs run NAME` (and the console's `!jobs`)."""

from __future__ import annotations

from typing import TextIO

from bot.core.blocks.reports import schedule_row_text
from bot.deps import Deps
from schedules.posting import deliver_due_retries
from schedules.runtime import JobRegistry, attach


def _registry(deps: Deps) -> JobRegistry:
    if deps.jobs is None:
        attach(deps)
    return deps.jobs


def list_jobs(deps: Deps, out: TextIO) -> int:
    """Print each job with its cron, time zone, channel, next run and last run; exit code 0."""
    now = deps.clock()
    for row in _registry(deps).rows(deps, now):
        print(schedule_row_text(row), file=out)
    return 0


def run_job(deps: Deps, name: str, out: TextIO) -> int:
    """Run one job now under the same once-only rules as a scheduled run.

    Exit codes: 0 done (even when everything was already posted), 1 the job failed,
    2 unknown job name (the valid names are listed).
    """
    registry = _registry(deps)
    if name not in registry.names():
        print(f"Unknown job {name!r}. Valid jobs: {', '.join(registry.names())}", file=out)
        return 2
    now = deps.clock()
    retried = deliver_due_retries(deps, now)
    if retried:
        print(f"delivered {retried} post(s) deferred by Slack rate limits", file=out)
    result = registry.run(deps, name, now, trigger="manual")
    print(f"{name}: {result.summary()}", file=out)
    return 1 if result.error else 0
