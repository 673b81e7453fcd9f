"""Cost Explorer and Budgets behind the core's CostSource, with pagination, a cache and typed errors.

Every Cost Explorer request costs $0.01 and each page counts, so responses are cached in
SQLite keyed by the normalised request. A period whose last month AWS has finalised
(from the 5th of the following month) never changes and is kept forever; anything
newer, and every forecast, is refreshed after a few hours, as often as AWS updates it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
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

from bot.aws.session import RETRY_CONFIG, billing_client
from bot.core.cost_report import FETCHED_AT_KEY, forecast_metric
from bot.core.errors import (
    CostAccessDenied,
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

CURRENT_PERIOD_TTL = timedelta(hours=6)
FORECAST_TTL = timedelta(hours=6)
FINALISED_ON_DAY = 5  # AWS finalises a month's charges in the first days of the next one

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
    ):
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
        """GetCostAndUsage for `[start, end)`, every page merged, from the cache when valid."""
        params: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": granularity,
            "Metrics": [metric],
        }
        if group_by:
            params["GroupBy"] = group_by
        if filter:
            params["Filter"] = filter
        ttl = cache_lifetime(end, self._clock().astimezone(UTC).date(), self._current_ttl)
        return self._cached(
            "GetCostAndUsage", params, ttl, lambda: self._fetch_cost_and_usage(params)
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
        """GetCostForecast for `[start, end)` (`metric` named as GetCostAndUsage names it), cached."""
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

    def _fetch_cost_and_usage(self, params: dict[str, Any]) -> dict[str, Any]:
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            request = {**params, "NextPageToken": token} if token else params
            page = self._call("GetCostAndUsage", self.client("ce").get_cost_and_usage, request)
            pages.append(page)
            token = page.get("NextPageToken")
            if not token:
                break
        logger.info(
            "operation=<GetCostAndUsage>, start=<%s>, end=<%s>, pages=<%d>, requests_made=<%d> | fetched",
            params["TimePeriod"]["Start"],
            params["TimePeriod"]["End"],
            len(pages),
            self.requests_made,
        )
        return merge_cost_pages(pages)

    def _fetch_forecast(self, params: dict[str, Any]) -> dict[str, Any]:
        page = self._call("GetCostForecast", self.client("ce").get_cost_forecast, params)
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
