"""Cost Explorer and Budgets behind the core's CostSource, with pagination, a cache and typed errors.

Every Cost Explorer request costs $0.01 and each page counts. GetCostAndUsage requests are
normalised into shared canonical fetches (`ce_chunks`): per calendar month, a DAILY chunk
of the series (metric, grouping, filter that cannot be applied locally) for months AWS has
not finalised yet, and MONTHLY segments for whole finalised months; answers are summed
locally with Decimal, in exactly the shape Cost Explorer returns. Requests chunks cannot
express (two groupings, HOURLY) use a cache keyed by the exact normalised request.

Rolling windows (`30d`, `90d`, comparison periods) need a *part* of a finalised month,
a different part every day. The first time one is needed, that month's days are fetched
from the part's first day to the month's end (windows only move forward; a part from the
1st means the whole month) and kept forever, so every later part is a local sum. Last
month's days ride along with the first fetch of this month's daily chunk: month to date
is always compared with the same days last month.

Lifetimes follow how often AWS refreshes the data. A month AWS has finalised (from the
5th of the following month) never changes and is kept forever. Anything newer, and every
forecast, lives CURRENT_PERIOD_TTL = 8 hours: AWS updates billing data "up to three times
daily" (Cost Explorer API best practices), so 24h / 3 means Penny asks about as often as
new data can exist, never more than one AWS refresh behind.

Scope: with `[cost] accounts = [...]` in the config file, every request Penny sends
(GetCostAndUsage, GetCostForecast) is ANDed with a LINKED_ACCOUNT filter on that list,
which is part of every chunk's series (never applied locally, so nothing outside the list
is fetched or cached), and a request naming another account is refused before AWS is
asked (CostAccountNotInScope). Budgets are per payer account and stay as they are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from bot.aws.ce_chunks import (
    DAILY,
    MONTHLY,
    ChunkPlan,
    Record,
    Series,
    account_attributes,
    covering,
    day_span,
    days_of,
    month_after,
    month_of,
    month_pieces,
    plan_request,
    records_from_response,
    synthesize_response,
    with_scope,
)
from bot.aws.session import RETRY_CONFIG, billing_client
from bot.config import ConfigError
from bot.core.cost_report import FETCHED_AT_KEY, forecast_metric
from bot.core.errors import (
    CostAccessDenied,
    CostAccountNotInScope,
    CostDataUnavailable,
    CostExplorerError,
    CostExplorerUnavailable,
    CostRequestRejected,
    CostThrottled,
)
from bot.core.periods import add_months, first_of_month
from bot.store.core_tables import cache_get, cache_put
from bot.store.db import Store

logger = logging.getLogger(__name__)

# AWS refreshes billing data up to three times a day: one look per refresh window.
CURRENT_PERIOD_TTL = timedelta(hours=8)
FORECAST_TTL = timedelta(hours=8)
FINALISED_ON_DAY = 5  # AWS finalises a month's charges in the first days of the next one
# Forecasts are fetched through the end of the month after the next three, the horizon of
# `/cost forecast`, and shorter MONTHLY forecasts (the month forecast of `this-month`,
# budgets) are its first buckets: one request answers them all.
SHARED_FORECAST_MONTHS_AHEAD = 3
HISTORY_MONTHS_PREFETCHED = 12  # Cost Explorer keeps 13 months and the current one

OPERATION_PERMISSIONS = {
    "GetCostAndUsage": "ce:GetCostAndUsage",
    "GetCostForecast": "ce:GetCostForecast",
    "DescribeBudgets": "budgets:ViewBudget",
    "GetCallerIdentity": "sts:GetCallerIdentity",
}
_ACCESS_DENIED = {
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
}
_THROTTLED = {
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
    "TooManyRequestsException",
}
_REJECTED = {
    "ValidationException",
    "BillExpirationException",
    "InvalidNextTokenException",
    "RequestChangedException",
}
_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
_LOCK_STRIPES = 64
_ACCOUNT_ID = re.compile(r"\d{12}")


def cache_lifetime(
    end_exclusive: date, today: date, current_ttl: timedelta = CURRENT_PERIOD_TTL
) -> timedelta | None:
    """How long a cost response for a period ending before `end_exclusive` stays valid.

    None (forever) once the period's last month is finalised, i.e. from the 5th of the
    month after it (`today` is Cost Explorer's UTC date); `current_ttl` before that.
    """
    last_day = end_exclusive - timedelta(days=1)
    finalised_on = add_months(first_of_month(last_day), 1).replace(day=FINALISED_ON_DAY)
    return None if today >= finalised_on else current_ttl


def account_scope(value: Any) -> tuple[str, ...] | None:
    """The `[cost] accounts` setting as sorted account ids, or None (every account) when unset.

    Raises:
        ConfigError: the value is not a non-empty list of 12-digit account ids as strings.
    """
    if value is None:
        return None
    fix = 'list 12-digit account ids as quoted strings, e.g. accounts = ["123456789012"], or remove the key to allow every account'
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError([f"[cost] accounts must be a non-empty list: {fix}."])
    wrong = [item for item in value if not isinstance(item, str) or not _ACCOUNT_ID.fullmatch(item)]
    if wrong:
        shown = ", ".join(repr(item) for item in wrong[:5])
        raise ConfigError([f"[cost] accounts has {shown}, not a 12-digit account id: {fix}."])
    return tuple(sorted(set(value)))


def named_accounts(expression: Mapping[str, Any] | None) -> set[str]:
    """The linked accounts a filter asks for by equality (not those it excludes with Not)."""
    if not expression:
        return set()
    if "And" in expression or "Or" in expression:
        operands = expression.get("And") or expression.get("Or") or []
        return set().union(*(named_accounts(operand) for operand in operands))
    rule = expression.get("Dimensions") or {}
    options = rule.get("MatchOptions") or ["EQUALS"]
    if rule.get("Key") != "LINKED_ACCOUNT" or list(options) != ["EQUALS"]:
        return set()
    return {str(value) for value in rule.get("Values") or []}


def cache_key(operation: str, params: dict[str, Any]) -> str:
    """The cache key of a request: its operation and parameters as sorted JSON, hashed."""
    text = json.dumps(
        {"operation": operation, "params": params}, sort_keys=True, separators=(",", ":")
    )
    return f"{operation}:{hashlib.sha256(text.encode()).hexdigest()}"


def merge_cost_pages(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """One GetCostAndUsage response from its pages.

    With GroupBy, Cost Explorer may split one time bucket's groups across pages, so
    buckets with the same TimePeriod are joined (groups appended, Estimated if any page
    says so) instead of being listed twice.
    """
    buckets: dict[tuple[str, str], dict[str, Any]] = {}
    attributes: dict[str, dict[str, Any]] = {}
    for page in pages:
        for bucket in page.get("ResultsByTime", []):
            _merge_bucket(buckets, bucket)
        for item in page.get("DimensionValueAttributes", []):
            attributes.setdefault(item.get("Value", ""), item)
    merged: dict[str, Any] = {"ResultsByTime": list(buckets.values())}
    if pages and pages[0].get("GroupDefinitions"):
        merged["GroupDefinitions"] = pages[0]["GroupDefinitions"]
    if attributes:
        merged["DimensionValueAttributes"] = list(attributes.values())
    return merged


def _merge_bucket(buckets: dict[tuple[str, str], dict[str, Any]], bucket: dict[str, Any]) -> None:
    period = bucket.get("TimePeriod", {})
    key = (period.get("Start", ""), period.get("End", ""))
    if key not in buckets:
        buckets[key] = {**bucket, "Groups": list(bucket.get("Groups", []))}
        return
    existing = buckets[key]
    existing["Groups"].extend(bucket.get("Groups", []))
    existing["Estimated"] = bool(existing.get("Estimated")) or bool(bucket.get("Estimated"))
    if not existing.get("Total") and bucket.get("Total"):
        existing["Total"] = bucket["Total"]


class CostExplorer:
    """The production CostSource: boto3 `ce` and `budgets` clients from the injected factory.

    `requests_made` counts paid Cost Explorer requests (one per page); cache hits are free.
    Safe to share across threads; identical concurrent requests wait for one fetch.
    `accounts` (the `[cost] accounts` setting, validated here) limits every cost answer to
    those linked accounts; None means every account the credentials can see.
    """

    def __init__(
        self,
        session_factory: Callable[[], Any],
        store: Store,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        account_id: str | None = None,
        retry_config: Config = RETRY_CONFIG,
        current_ttl: timedelta = CURRENT_PERIOD_TTL,
        forecast_ttl: timedelta = FORECAST_TTL,
        accounts: Any = None,
    ):
        self.accounts = account_scope(accounts)
        self._scope: dict[str, Any] | None = (
            {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": list(self.accounts)}}
            if self.accounts
            else None
        )
        self._session_factory = session_factory
        self._store = store
        self._clock = clock
        self._account_id = account_id
        self._retry_config = retry_config
        self._current_ttl = current_ttl
        self._forecast_ttl = forecast_ttl
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._key_locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self.requests_made = 0
        # Paid pages per way of asking: "chunk-daily" (with a month AWS has not finalised),
        # "chunk-daily-final" (finalised months' days only), "chunk-monthly", "exact", "forecast".
        self.pages_by_path: dict[str, int] = {}

    def client(self, service: str) -> Any:
        """The boto3 client for `ce`, `budgets` or `sts`, created once (tests attach a Stubber to it)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = billing_client(
                    self._session_factory(), service, self._retry_config
                )
            return self._clients[service]

    def cost_and_usage(
        self,
        *,
        start: date,
        end: date,
        granularity: str,
        metric: str,
        group_by: list[dict[str, str]] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """GetCostAndUsage for `[start, end)`, every page merged, derived from cached chunks when it can be.

        Raises:
            CostAccountNotInScope: `filter` names an account outside `accounts` (nothing asked).
        """
        self._check_scope(filter, "GetCostAndUsage")
        plan = plan_request(
            granularity=granularity,
            metric=metric,
            group_by=group_by,
            filter=filter,
            scope=self._scope,
        )
        if plan is not None:
            try:
                return self._chunked(plan, start, end, granularity)
            except (CostRequestRejected, CostDataUnavailable) as exc:
                # A whole-month chunk can reach past the history AWS keeps: ask what was asked.
                logger.info("code=<%s> | chunk fetch refused, asking the exact request", exc.code)
        return self._exact_cost_and_usage(start, end, granularity, metric, group_by, filter)

    def _exact_cost_and_usage(
        self,
        start: date,
        end: date,
        granularity: str,
        metric: str,
        group_by: list[dict[str, str]] | None,
        filter: dict[str, Any] | None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": granularity,
            "Metrics": [metric],
        }
        if group_by:
            params["GroupBy"] = group_by
        scoped = with_scope(filter, self._scope) if self._scope else filter
        if scoped:
            params["Filter"] = scoped
        ttl = cache_lifetime(end, self._utc_today(), self._current_ttl)
        return self._cached(
            "GetCostAndUsage", params, ttl, lambda: self._fetch_cost_and_usage(params, "exact")
        )

    def forecast(
        self,
        *,
        start: date,
        end: date,
        granularity: str,
        metric: str,
        filter: dict[str, Any] | None = None,
        prediction_interval_level: int = 80,
    ) -> dict[str, Any]:
        """GetCostForecast for `[start, end)` (`metric` named as GetCostAndUsage names it), cached.

        A MONTHLY forecast ending on a month boundary within SHARED_FORECAST_MONTHS_AHEAD
        months after `start`'s is cut from one shared forecast through that horizon.

        Raises:
            CostAccountNotInScope: `filter` names an account outside `accounts` (nothing asked).
        """
        self._check_scope(filter, "GetCostForecast")
        if self._scope:
            filter = with_scope(filter, self._scope)
        shared_end = add_months(first_of_month(start), SHARED_FORECAST_MONTHS_AHEAD + 1)
        if granularity == MONTHLY and end.day == 1 and start < end <= shared_end:
            try:
                shared = self._forecast(
                    start, shared_end, granularity, metric, filter, prediction_interval_level
                )
            except CostRequestRejected:
                logger.info("end=<%s> | shared forecast refused, asking the exact one", shared_end)
            else:
                return forecast_until(shared, end)
        return self._forecast(start, end, granularity, metric, filter, prediction_interval_level)

    def _forecast(
        self,
        start: date,
        end: date,
        granularity: str,
        metric: str,
        filter: dict[str, Any] | None,
        prediction_interval_level: int,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": granularity,
            "Metric": forecast_metric(metric),
            "PredictionIntervalLevel": prediction_interval_level,
        }
        if filter:
            params["Filter"] = filter
        return self._cached(
            "GetCostForecast", params, self._forecast_ttl, lambda: self._fetch_forecast(params)
        )

    def budgets(self) -> list[dict[str, Any]]:
        """Every AWS budget of the account (DescribeBudgets, all pages); Budgets calls are free, not cached."""
        account_id = self.account_id()
        budgets: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"AccountId": account_id}
            if token:
                params["NextToken"] = token
            try:
                page = self._call(
                    "DescribeBudgets", self.client("budgets").describe_budgets, params
                )
            except CostRequestRejected as exc:
                if exc.code == "NotFoundException":
                    return []  # Budgets answers "not found" for an account without budgets
                raise
            budgets.extend(page.get("Budgets", []))
            token = page.get("NextToken")
            if not token:
                return budgets

    def account_id(self) -> str:
        """The account whose budgets are read: given at construction, else from STS (once)."""
        if self._account_id is None:
            identity = self._call("GetCallerIdentity", self.client("sts").get_caller_identity, {})
            self._account_id = str(identity["Account"])
        return self._account_id

    def _check_scope(self, filter: dict[str, Any] | None, operation: str) -> None:
        if self.accounts is None:
            return
        outside = sorted(named_accounts(filter) - set(self.accounts))
        if outside:
            logger.info(
                "operation=<%s>, accounts=<%s> | refused: account not in scope",
                operation,
                ",".join(outside),
            )
            raise CostAccountNotInScope(tuple(outside), operation)

    # ------------------------------------------------------------ chunks

    def _utc_today(self) -> date:
        return self._clock().astimezone(UTC).date()

    def _finalised(self, month: date, today: date) -> bool:
        return cache_lifetime(month_after(month), today, self._current_ttl) is None

    def _chunked(self, plan: ChunkPlan, start: date, end: date, granularity: str) -> dict[str, Any]:
        series = plan.series
        today = self._utc_today()
        with self._key_locks[hash(series.key) % _LOCK_STRIPES]:
            sources = _ChunkSources()
            wanted_segments: list[tuple[date, date]] = []
            wanted_days: dict[date, tuple[date, date]] = {}  # month -> days its chunk must hold
            stored_days: dict[date, dict[str, Any] | None] = {}
            for piece in month_pieces(start, end):
                month = month_of(piece[0])
                monthly_final = granularity == MONTHLY and self._finalised(month, today)
                if monthly_final and sources.add(self._load(_segment_key(series, piece)), piece):
                    continue
                if month not in stored_days:
                    stored_days[month] = self._load(_daily_key(series, month))
                if sources.add(stored_days[month], piece):
                    continue
                if monthly_final and not self._days_kept_for_parts(month, piece, today):
                    wanted_segments.append(piece)
                else:
                    # Part of a finalised month is a rolling window's edge, which moves every
                    # day: its days, kept forever, answer every later edge without a request.
                    days = self._daily_need(month, piece, today)
                    if month in wanted_days:
                        days = (
                            min(days[0], wanted_days[month][0]),
                            max(days[1], wanted_days[month][1]),
                        )
                    wanted_days[month] = days
            self._bring_previous_month(series, wanted_days, stored_days, today)
            if wanted_segments:
                # One request: the pieces of one period are contiguous, and cached months
                # between missing ones cost a few entries, not another request.
                first = self._with_month_before(series, wanted_segments[0][0], today)
                sources.extend(self._fetch_segments(series, first, wanted_segments[-1][1], today))
            fetches = [
                self._daily_fetch(month, days, stored_days.get(month), today)
                for month, days in sorted(wanted_days.items())
            ]
            for run in _contiguous_fetches(fetches):
                sources.extend(self._fetch_daily_chunks(series, run, today))
            buckets = [
                (s, e, sources.covering(s, e))
                for piece in month_pieces(start, end)
                for s, e in (days_of(*piece) if granularity == DAILY else [piece])
            ]
        response = synthesize_response(plan, buckets, sources.attributes)
        response[FETCHED_AT_KEY] = sources.oldest_fetch or self._clock().astimezone(UTC).isoformat(
            timespec="seconds"
        )
        return response

    def _with_month_before(self, series: Series, start: date, today: date) -> date:
        """`start`, or the first of the month before when a month-aligned fetch can bring it along.

        A month is nearly always compared with the month before (`last-month`, `2026-10`,
        month to date vs the same days last month), and its segment is a few entries on a
        page that is paid anyway. Only within the year of history AWS surely keeps.
        """
        if start.day != 1:
            return start
        before = add_months(start, -1)
        if before < add_months(month_of(today), -HISTORY_MONTHS_PREFETCHED):
            return start
        if self._load(_segment_key(series, (before, start))) is not None:
            return start
        return before

    def _days_kept_for_parts(self, month: date, piece: tuple[date, date], today: date) -> bool:
        """Whether a finalised month's `piece` is answered from its days rather than a segment.

        A part of a month, within the year of history whose days AWS surely keeps; a
        whole month is one MONTHLY segment.
        """
        if piece == (month, month_after(month)):
            return False
        return month >= add_months(month_of(today), -HISTORY_MONTHS_PREFETCHED)

    def _daily_need(self, month: date, piece: tuple[date, date], today: date) -> tuple[date, date]:
        """The days of `month` its daily chunk must hold to answer `piece` (and what follows it).

        A finalised month: from the piece's first day to the month's end, because rolling
        windows only move forward (the edge of `30d` tomorrow starts a day later), and a
        piece from the 1st (the same days last month, growing daily) means the whole month.
        A month AWS has not finalised: from its 1st through today at least.
        """
        if self._finalised(month, today):
            return piece[0], month_after(month)
        return month, min(month_after(month), max(piece[1], today + timedelta(days=1)))

    def _bring_previous_month(
        self,
        series: Series,
        wanted_days: dict[date, tuple[date, date]],
        stored_days: dict[date, dict[str, Any] | None],
        today: date,
    ) -> None:
        """Add last month to a fetch of this month's daily chunk when none of it is stored yet.

        Month to date is compared with the same days last month, and rolling windows
        (`30d`, `7d` early in a month, `last-week` across the boundary) reach into last
        month: its days are needed anyway, and riding on this month's request costs a few
        more entries on pages paid for regardless instead of requests of their own.
        """
        this_month = month_of(today)
        last_month = add_months(this_month, -1)
        if this_month not in wanted_days or last_month in wanted_days:
            return
        if last_month not in stored_days:
            stored_days[last_month] = self._load(_daily_key(series, last_month))
        if stored_days[last_month] is None:
            wanted_days[last_month] = (last_month, this_month)

    def _daily_fetch(
        self,
        month: date,
        days: tuple[date, date],
        stored: dict[str, Any] | None,
        today: date,
    ) -> _DailyFetch:
        """What to ask for `month`'s days: only the missing first days when the rest is kept."""
        if stored is None or not self._finalised(month, today):
            return _DailyFetch(month, days[0], days[1], [])
        kept = [Record.from_json(r) for r in stored["records"]]
        span = day_span(kept)
        if span is None or span[1] != days[1] or not days[0] < span[0]:
            return _DailyFetch(month, days[0], days[1], [])
        return _DailyFetch(month, days[0], span[0], kept, stored.get(FETCHED_AT_KEY))

    def _load(self, key: str) -> dict[str, Any] | None:
        return cache_get(self._store, key, self._clock())

    def _fetch_segments(
        self, series: Series, start: date, end: date, today: date
    ) -> list[dict[str, Any]]:
        params = series.request(start, end, MONTHLY)
        response = self._fetch_cost_and_usage(params, "chunk-monthly")
        stamp = _stamp(self._clock())
        attributes = account_attributes(response)
        stored = []
        for record in records_from_response(response, series.metric):
            chunk = _chunk(stamp, [record], attributes)
            ttl = cache_lifetime(record.end, today, self._current_ttl)
            cache_put(
                self._store,
                _segment_key(series, (record.start, record.end)),
                "chunk",
                chunk,
                ttl,
                self._clock(),
            )
            stored.append(chunk)
        return stored

    def _fetch_daily_chunks(
        self, series: Series, run: list[_DailyFetch], today: date
    ) -> list[dict[str, Any]]:
        params = series.request(run[0].start, run[-1].end, DAILY)
        kept_forever = all(self._finalised(fetch.month, today) for fetch in run)
        response = self._fetch_cost_and_usage(
            params, "chunk-daily-final" if kept_forever else "chunk-daily"
        )
        stamp = _stamp(self._clock())
        attributes = account_attributes(response)
        records = records_from_response(response, series.metric)
        stored = []
        for fetch in run:
            days = [r for r in records if fetch.start <= r.start and r.end <= fetch.end]
            chunk = _chunk(min(stamp, fetch.kept_stamp or stamp), fetch.kept + days, attributes)
            ttl = None if self._finalised(fetch.month, today) else self._current_ttl
            key = _daily_key(series, fetch.month)
            cache_put(self._store, key, "chunk", chunk, ttl, self._clock())
            stored.append(chunk)
        return stored

    def _cached(
        self,
        operation: str,
        params: dict[str, Any],
        ttl: timedelta | None,
        fetch: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        key = cache_key(operation, params)
        with self._key_locks[hash(key) % _LOCK_STRIPES]:
            now = self._clock()
            cached = cache_get(self._store, key, now)
            if cached is not None:
                logger.debug("operation=<%s>, key=<%s> | cache hit", operation, key)
                return cached
            response = fetch()
            response[FETCHED_AT_KEY] = now.astimezone(UTC).isoformat(timespec="seconds")
            cache_put(self._store, key, operation, response, ttl, now)
            return response

    def _fetch_cost_and_usage(self, params: dict[str, Any], path: str) -> dict[str, Any]:
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            request = {**params, "NextPageToken": token} if token else params
            page = self._call("GetCostAndUsage", self.client("ce").get_cost_and_usage, request)
            pages.append(page)
            token = page.get("NextPageToken")
            if not token:
                break
        with self._count_lock:
            self.pages_by_path[path] = self.pages_by_path.get(path, 0) + len(pages)
        logger.info(
            "operation=<GetCostAndUsage>, path=<%s>, granularity=<%s>, start=<%s>, end=<%s>, pages=<%d>, requests_made=<%d> | fetched",
            path,
            params["Granularity"],
            params["TimePeriod"]["Start"],
            params["TimePeriod"]["End"],
            len(pages),
            self.requests_made,
        )
        return merge_cost_pages(pages)

    def _fetch_forecast(self, params: dict[str, Any]) -> dict[str, Any]:
        page = self._call("GetCostForecast", self.client("ce").get_cost_forecast, params)
        with self._count_lock:
            self.pages_by_path["forecast"] = self.pages_by_path.get("forecast", 0) + 1
        logger.info(
            "operation=<GetCostForecast>, start=<%s>, end=<%s>, requests_made=<%d> | fetched",
            params["TimePeriod"]["Start"],
            params["TimePeriod"]["End"],
            self.requests_made,
        )
        return {k: v for k, v in page.items() if k != "ResponseMetadata"}

    def _call(
        self, operation: str, method: Callable[..., dict[str, Any]], params: dict[str, Any]
    ) -> dict[str, Any]:
        if operation.startswith("GetCost"):
            with self._count_lock:
                self.requests_made += 1
        try:
            return method(**params)
        except ClientError as exc:
            raise translate_client_error(exc, operation) from exc
        except NoCredentialsError as exc:
            raise CostExplorerUnavailable(
                "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an IAM role.",
                "NoCredentials",
                operation,
            ) from exc
        except _UNREACHABLE as exc:
            raise CostExplorerUnavailable(
                f"cannot reach AWS ({type(exc).__name__}).", "Unreachable", operation
            ) from exc
        except BotoCoreError as exc:
            raise CostExplorerError(
                f"the AWS client failed: {exc}", type(exc).__name__, operation
            ) from exc


def forecast_until(response: dict[str, Any], end: date) -> dict[str, Any]:
    """A GetCostForecast response cut to the buckets ending by `end`, its Total their sum."""
    kept = [
        item
        for item in response.get("ForecastResultsByTime", [])
        if date.fromisoformat(item["TimePeriod"]["End"]) <= end
    ]
    total = response.get("Total") or {}
    mean = sum((Decimal(str(item.get("MeanValue", "0"))) for item in kept), Decimal(0))
    cut = {**response, "ForecastResultsByTime": kept}
    cut["Total"] = {"Amount": format(mean, "f"), "Unit": total.get("Unit", "USD")}
    return cut


class _ChunkSources:
    """The records gathered for one request, their account names and the oldest fetch time."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.attributes: dict[str, dict[str, Any]] = {}
        self.oldest_fetch: str | None = None

    def add(self, chunk: dict[str, Any] | None, piece: tuple[date, date]) -> bool:
        """Take `chunk` if it covers `piece`; True when it did."""
        if chunk is None:
            return False
        records = [Record.from_json(r) for r in chunk["records"]]
        if covering(records, *piece) is None:
            return False
        self.extend([chunk])
        return True

    def extend(self, chunks: list[dict[str, Any]]) -> None:
        """Take every record of `chunks`."""
        for chunk in chunks:
            self.records.extend(Record.from_json(r) for r in chunk["records"])
            self.attributes.update(chunk.get("attributes") or {})
            stamp = chunk.get(FETCHED_AT_KEY)
            if stamp and (self.oldest_fetch is None or stamp < self.oldest_fetch):
                self.oldest_fetch = stamp

    def covering(self, start: date, end: date) -> list[Record]:
        """The records tiling `[start, end)`: a segment of exactly that range, else its days."""
        exact = [r for r in self.records if (r.start, r.end) == (start, end)]
        if exact:
            return exact[:1]
        days = covering(
            list(
                {
                    (r.start, r.end): r
                    for r in self.records
                    if r.end - r.start == timedelta(days=1)
                }.values()
            ),
            start,
            end,
        )
        if days is None:
            raise CostExplorerError(
                f"no cached data covers {start.isoformat()} to {end.isoformat()}",
                "ChunkGap",
                "GetCostAndUsage",
            )
        return days


def _chunk(
    stamp: str, records: list[Record], attributes: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        "records": [r.to_json() for r in records],
        "attributes": attributes,
        FETCHED_AT_KEY: stamp,
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _segment_key(series: Series, piece: tuple[date, date]) -> str:
    return f"chunk:monthly:{series.key}:{piece[0].isoformat()}:{piece[1].isoformat()}"


def _daily_key(series: Series, month: date) -> str:
    return f"chunk:daily:{series.key}:{month:%Y-%m}"


@dataclass(frozen=True)
class _DailyFetch:
    """Days `[start, end)` of `month` to ask for, and the stored days of it to keep."""

    month: date
    start: date
    end: date
    kept: list[Record]
    kept_stamp: str | None = None


def _contiguous_fetches(fetches: list[_DailyFetch]) -> list[list[_DailyFetch]]:
    """Month fetches in runs that one DAILY request answers (each starts where the last ended)."""
    runs: list[list[_DailyFetch]] = []
    for fetch in fetches:
        if runs and runs[-1][-1].end == fetch.start:
            runs[-1].append(fetch)
        else:
            runs.append([fetch])
    return runs


def translate_client_error(exc: ClientError, operation: str) -> CostExplorerError:
    """The typed error for a botocore ClientError of `operation` (AccessDenied names the permission)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    # botocore reports the retries it made after the first attempt.
    attempts = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
    logger.warning(
        "operation=<%s>, code=<%s>, attempts=<%d> | AWS error", operation, code, attempts
    )
    if code in _ACCESS_DENIED:
        permission = OPERATION_PERMISSIONS.get(operation, operation)
        return CostAccessDenied(permission, message, operation)
    if code in _THROTTLED:
        return CostThrottled(attempts, message, operation)
    if code == "DataUnavailableException":
        return CostDataUnavailable(message, code, operation)
    if code in _REJECTED or code == "NotFoundException":
        return CostRequestRejected(message, code, operation)
    return CostExplorerError(message, code, operation)
