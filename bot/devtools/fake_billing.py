"""A local Cost Explorer + AWS Budgets endpoint that speaks AWS's real JSON 1.1 protocol.

moto does not answer Cost Explorer queries, forecasts or anomalies, so tests, benchmarks and
`python -m bot console --demo` point boto3 here (`AWS_ENDPOINT_URL_COST_EXPLORER`,
`AWS_ENDPOINT_URL_BUDGETS`) and go through exactly the code path production uses. Every
answer is computed from one `BillingDataset`, paginated like CE (each page is a request,
each request costs), recorded for counting, and errors can be injected per operation with
AWS's real error shape. SigV4 signatures are accepted without checking.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import statistics
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.devtools.billing_data import (
    DIMENSIONS,
    METRICS,
    ZERO,
    AnomalySpec,
    BillingDataset,
    BudgetSpec,
    ExpressionError,
    daily_series,
    filtered,
    group_sums,
    month_start,
    next_month,
    period_starts,
    sum_metric,
    validate_expression,
)

logger = logging.getLogger(__name__)

CE_TARGET_PREFIX = "AWSInsightsIndexService"
BUDGETS_TARGET_PREFIX = "AWSBudgetServiceGateway"
FORECAST_METRICS = {
    "UNBLENDED_COST": "UnblendedCost",
    "BLENDED_COST": "BlendedCost",
    "AMORTIZED_COST": "AmortizedCost",
    "NET_AMORTIZED_COST": "NetAmortizedCost",
    "NET_UNBLENDED_COST": "NetUnblendedCost",
    "USAGE_QUANTITY": "UsageQuantity",
}
ERROR_STATUS = {"InternalErrorException": 500, "ServiceUnavailableException": 503}
_AMOUNT_PLACES = Decimal("0.0000000001")
_MAX_GROUP_BY = 2
_ENTRIES_CACHE_SIZE = 32
_FORECAST_WINDOW_DAYS = 28
_MIN_DAILY_GROWTH, _MAX_DAILY_GROWTH = 0.998, 1.002  # at most about 6% a month either way
_FAR_FUTURE_EPOCH = 3706473600  # 2087-06-15, the End AWS Budgets gives open-ended budgets


class AwsError(Exception):
    """An AWS API error to return in the JSON protocol's shape (`__type`, `message`)."""

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status or ERROR_STATUS.get(code, 400)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received: which service and operation, and the decoded body."""

    service: str  # "ce" or "budgets"
    operation: str
    body: Mapping[str, Any]


@dataclass
class _Injection:
    code: str
    message: str
    remaining: int


@dataclass
class FakeBillingState:
    """What the HTTP handler shares with the test: data, recorded calls, injected errors."""

    dataset: BillingDataset
    page_size: int
    min_forecast_history_days: int
    requests: list[RecordedRequest] = field(default_factory=list)
    injections: dict[str, list[_Injection]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Pages of one query are answered from one computation, as CE does.
    entries_cache: dict[tuple[str, int], list[Any]] = field(default_factory=dict)


class FakeBillingServer:
    """Threaded HTTP server answering boto3's `ce` and `budgets` clients from a dataset.

    Usage:
        with FakeBillingServer(dataset, page_size=50) as server:
            ce = session.client("ce", endpoint_url=server.url)
            ...
            assert server.count("GetCostAndUsage") == 3
    """

    def __init__(
        self,
        dataset: BillingDataset,
        *,
        page_size: int = 200,
        min_forecast_history_days: int = 14,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.state = FakeBillingState(dataset, page_size, min_forecast_history_days)
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeBillingServer:
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        handler = _handler_for(self.state)
        self._httpd = ThreadingHTTPServer(self._address, handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-billing", daemon=True
        )
        self._thread.start()
        logger.info("url=<%s> | fake billing server started", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeBillingServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to hand to boto3 as endpoint_url."""
        if self._httpd is None:
            raise RuntimeError("FakeBillingServer is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def dataset(self) -> BillingDataset:
        """The data currently served."""
        return self.state.dataset

    def set_dataset(self, dataset: BillingDataset) -> None:
        """Serve other data from now on (for example the same bill seen on a later day)."""
        with self.state.lock:
            self.state.dataset = dataset

    def fail_next(
        self,
        operation: str,
        code: str = "ThrottlingException",
        *,
        times: int = 1,
        message: str | None = None,
    ) -> None:
        """Make the next `times` calls of `operation` fail with AWS error `code`.

        AccessDeniedException gets AWS's message naming the missing permission unless
        `message` is given.
        """
        text = message or _default_error_message(code, operation, self.state.dataset)
        with self.state.lock:
            self.state.injections.setdefault(operation, []).append(_Injection(code, text, times))

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received, in order."""
        with self.state.lock:
            return list(self.state.requests)

    def count(self, operation: str | None = None) -> int:
        """How many requests were received (of one operation, or all)."""
        return len(self.calls(operation))

    def calls(self, operation: str | None = None) -> list[RecordedRequest]:
        """The recorded requests of one operation (or all)."""
        return [r for r in self.requests if operation is None or r.operation == operation]

    def clear_requests(self) -> None:
        """Forget recorded requests (injected errors stay)."""
        with self.state.lock:
            self.state.requests.clear()


def _default_error_message(code: str, operation: str, dataset: BillingDataset) -> str:
    service = "budgets" if operation.startswith("Describe") else "ce"
    action = "ViewBudget" if service == "budgets" else operation
    if code == "AccessDeniedException":
        return (
            f"User: arn:aws:iam::{dataset.payer_account}:user/penny is not authorized to perform: "
            f"{service}:{action} on resource: arn:aws:{service}:us-east-1:"
            f"{dataset.payer_account}:/{operation} because no identity-based policy allows the "
            f"{service}:{action} action"
        )
    if code == "DataUnavailableException":
        return "Insufficient amount of historical data to generate forecast."
    if code == "LimitExceededException":
        return "You have exceeded the rate limit for this operation."
    return "Rate exceeded"


def _handler_for(state: FakeBillingState) -> type[BaseHTTPRequestHandler]:
    class _BillingHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body in one segment: avoids Nagle + delayed-ACK 40 ms stalls per call.
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            target = self.headers.get("X-Amz-Target", "")
            status, payload = _dispatch(state, target, raw)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", hashlib.md5(raw + target.encode()).hexdigest())
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            logger.debug("request=<%s> | fake billing", format % args)

    return _BillingHandler


def _dispatch(state: FakeBillingState, target: str, raw: bytes) -> tuple[int, dict[str, Any]]:
    prefix, _, operation = target.partition(".")
    service = {CE_TARGET_PREFIX: "ce", BUDGETS_TARGET_PREFIX: "budgets"}.get(prefix)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    with state.lock:
        state.requests.append(RecordedRequest(service or prefix, operation, body or {}))
        dataset = state.dataset
        injected = _take_injection(state, operation)
    try:
        if injected is not None:
            raise AwsError(injected.code, injected.message)
        handler = _OPERATIONS.get((service, operation))
        if handler is None:
            raise AwsError("UnknownOperationException", f"Unknown operation {target}")
        if body is None:
            raise AwsError("SerializationException", "Request body is not valid JSON")
        ctx = _Context(
            dataset, state.page_size, state.min_forecast_history_days, state.entries_cache
        )
        return 200, handler(ctx, body)
    except AwsError as error:
        logger.debug("operation=<%s>, code=<%s> | fake billing error", operation, error.code)
        return error.status, {"__type": error.code, "message": error.message}


def _take_injection(state: FakeBillingState, operation: str) -> _Injection | None:
    queue = state.injections.get(operation) or []
    if not queue:
        return None
    head = queue[0]
    head.remaining -= 1
    if head.remaining <= 0:
        queue.pop(0)
    return head


@dataclass(frozen=True)
class _Context:
    dataset: BillingDataset
    page_size: int
    min_forecast_history_days: int
    entries_cache: dict[tuple[str, int], list[Any]]

    @property
    def today(self) -> date:
        return self.dataset.today


# ---------------------------------------------------------------- request parsing helpers


def _parse_day(value: Any, field_name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise AwsError(
            "ValidationException", f"{field_name} '{value}' is not a valid date (yyyy-MM-dd)"
        ) from None


def _time_period(body: Mapping[str, Any]) -> tuple[date, date]:
    period = body.get("TimePeriod")
    if not isinstance(period, Mapping):
        raise AwsError("ValidationException", "TimePeriod is required")
    start = _parse_day(period.get("Start"), "Start")
    end = _parse_day(period.get("End"), "End")
    if end <= start:
        raise AwsError(
            "ValidationException", "Start date (and hour) should be before end date (and hour)"
        )
    return start, end


def _filter(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    expression = body.get("Filter")
    if expression:
        try:
            validate_expression(expression)
        except ExpressionError as error:
            raise AwsError("ValidationException", str(error)) from None
    return expression


def _granularity(body: Mapping[str, Any]) -> str:
    granularity = body.get("Granularity")
    if granularity == "HOURLY":
        raise AwsError(
            "ValidationException",
            "Hourly granularity is not enabled for this account; enable it in Cost Explorer "
            "preferences",
        )
    if granularity not in ("DAILY", "MONTHLY"):
        raise AwsError(
            "ValidationException", f"Granularity '{granularity}' is invalid; use DAILY or MONTHLY"
        )
    return granularity


def _metrics(body: Mapping[str, Any]) -> list[str]:
    metrics = body.get("Metrics") or []
    if not metrics:
        raise AwsError("ValidationException", "Metrics is required")
    unknown = [metric for metric in metrics if metric not in METRICS]
    if unknown:
        raise AwsError(
            "ValidationException",
            f"Metric(s) {', '.join(unknown)} invalid; valid metrics: {', '.join(METRICS)}",
        )
    return list(dict.fromkeys(metrics))


def _group_by(body: Mapping[str, Any]) -> list[dict[str, str]]:
    groups = list(body.get("GroupBy") or [])
    if len(groups) > _MAX_GROUP_BY:
        raise AwsError("ValidationException", "You can only group by up to two dimensions")
    for group in groups:
        kind, key = group.get("Type"), group.get("Key")
        if kind == "DIMENSION" and key not in DIMENSIONS:
            raise AwsError(
                "ValidationException",
                f"Group Definition dimension is invalid: {key}. Valid values are "
                f"{', '.join(DIMENSIONS)}",
            )
        if kind == "TAG" and not key:
            raise AwsError("ValidationException", "Group Definition tag key is required")
        if kind not in ("DIMENSION", "TAG"):
            raise AwsError("ValidationException", f"Group Definition type is invalid: {kind}")
    if len({(g["Type"], g["Key"]) for g in groups}) != len(groups):
        raise AwsError("ValidationException", "Group Definitions must be unique")
    return [{"Type": g["Type"], "Key": g["Key"]} for g in groups]


def _amount(value: Decimal) -> str:
    return format(value.quantize(_AMOUNT_PLACES).normalize(), "f")


def _metric_values(sums: Mapping[str, Decimal], currency: str) -> dict[str, dict[str, str]]:
    return {
        metric: {"Amount": _amount(value), "Unit": "N/A" if metric == "UsageQuantity" else currency}
        for metric, value in sums.items()
    }


# ---------------------------------------------------------------- pagination


def _fingerprint(body: Mapping[str, Any]) -> str:
    stable = {
        key: value for key, value in body.items() if key not in ("NextPageToken", "NextToken")
    }
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]


def _page_offset(body: Mapping[str, Any], token_field: str = "NextPageToken") -> int:
    token = body.get(token_field)
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, fingerprint = int(decoded["o"]), decoded["f"]
    except (ValueError, KeyError, TypeError):
        raise AwsError("InvalidNextTokenException", "The pagination token is invalid") from None
    if fingerprint != _fingerprint(body):
        raise AwsError("RequestChangedException", "Your request parameters changed between pages")
    return offset


def _page_token(body: Mapping[str, Any], offset: int) -> str:
    payload = json.dumps({"o": offset, "f": _fingerprint(body)}).encode()
    return base64.urlsafe_b64encode(payload).decode()


def _paginate(
    items: Sequence[Any], body: Mapping[str, Any], page_size: int, token_field: str
) -> tuple[Sequence[Any], dict[str, str]]:
    offset = _page_offset(body, token_field)
    page = items[offset : offset + page_size]
    more = offset + page_size < len(items)
    return page, {token_field: _page_token(body, offset + page_size)} if more else {}


# ---------------------------------------------------------------- Cost Explorer operations


def get_cost_and_usage(ctx: _Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """GetCostAndUsage: per period totals or groups, paginated over (period, group) entries."""
    start, end = _time_period(body)
    granularity = _granularity(body)
    metrics = _metrics(body)
    group_by = _group_by(body)
    expression = _filter(body)
    key = (_fingerprint(body), id(ctx.dataset))
    entries = ctx.entries_cache.get(key)
    if entries is None:
        entries = _cost_entries(ctx, start, end, granularity, metrics, group_by, expression)
        if len(ctx.entries_cache) >= _ENTRIES_CACHE_SIZE:
            ctx.entries_cache.pop(next(iter(ctx.entries_cache)))
        ctx.entries_cache[key] = entries
    page, token = _paginate(entries, body, ctx.page_size, "NextPageToken")
    response: dict[str, Any] = {"ResultsByTime": _results_by_time(page, ctx, bool(group_by))}
    if group_by:
        response["GroupDefinitions"] = group_by
    attributes = _account_attributes(ctx.dataset, page, group_by)
    if attributes:
        response["DimensionValueAttributes"] = attributes
    response.update(token)
    return response


@dataclass(frozen=True)
class _CostEntry:
    period: tuple[date, date]
    keys: tuple[str, ...] | None  # None: the period's Total (ungrouped) or an empty period
    sums: Mapping[str, Decimal]


def _cost_entries(
    ctx: _Context,
    start: date,
    end: date,
    granularity: str,
    metrics: list[str],
    group_by: list[dict[str, str]],
    expression: Mapping[str, Any] | None,
) -> list[_CostEntry]:
    entries: list[_CostEntry] = []
    for period in period_starts(start, end, granularity):
        rows = filtered(ctx.dataset.rows_between(*period), expression)
        if not group_by:
            entries.append(_CostEntry(period, None, {m: sum_metric(rows, m) for m in metrics}))
            continue
        groups = group_sums(rows, group_by, metrics)
        if not groups:
            entries.append(_CostEntry(period, None, {}))
        entries.extend(_CostEntry(period, keys, groups[keys]) for keys in sorted(groups))
    return entries


def _results_by_time(
    page: Sequence[_CostEntry], ctx: _Context, grouped: bool
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    current_month = month_start(ctx.today)
    for entry in page:
        if not results or results[-1]["_period"] != entry.period:
            results.append(
                {
                    "_period": entry.period,
                    "TimePeriod": {
                        "Start": entry.period[0].isoformat(),
                        "End": entry.period[1].isoformat(),
                    },
                    "Total": {},
                    "Groups": [],
                    "Estimated": entry.period[1] > current_month,
                }
            )
        if entry.keys is not None:
            results[-1]["Groups"].append(
                {
                    "Keys": list(entry.keys),
                    "Metrics": _metric_values(entry.sums, ctx.dataset.currency),
                }
            )
        elif not grouped:
            results[-1]["Total"] = _metric_values(entry.sums, ctx.dataset.currency)
    for result in results:
        del result["_period"]
    return results


def _account_attributes(
    dataset: BillingDataset, page: Sequence[_CostEntry], group_by: list[dict[str, str]]
) -> list[dict[str, Any]]:
    positions = [
        i for i, g in enumerate(group_by) if g == {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}
    ]
    if not positions:
        return []
    accounts = sorted({e.keys[positions[0]] for e in page if e.keys is not None})
    return [
        {"Value": account, "Attributes": {"description": dataset.account_name(account)}}
        for account in accounts
    ]


def get_dimension_values(ctx: _Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """GetDimensionValues: distinct values of a dimension in the period (accounts named)."""
    start, end = _time_period(body)
    dimension = body.get("Dimension")
    if dimension not in DIMENSIONS:
        raise AwsError(
            "ValidationException",
            f"Dimension {dimension} is invalid; valid values are {', '.join(DIMENSIONS)}",
        )
    rows = filtered(ctx.dataset.rows_between(start, end), _filter(body))
    search = (body.get("SearchString") or "").lower()
    values = sorted({row.dimension(dimension) for row in rows})
    values = [value for value in values if search in value.lower()]
    page, token = _paginate(values, body, body.get("MaxResults") or 1000, "NextPageToken")
    listed = [
        {
            "Value": value,
            "Attributes": (
                {"description": ctx.dataset.account_name(value)}
                if dimension == "LINKED_ACCOUNT"
                else {}
            ),
        }
        for value in page
    ]
    return {"DimensionValues": listed, "ReturnSize": len(listed), "TotalSize": len(values), **token}


def get_tags(ctx: _Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """GetTags: tag keys in the period, or the values of one key when TagKey is given."""
    start, end = _time_period(body)
    rows = filtered(ctx.dataset.rows_between(start, end), _filter(body))
    tag_key = body.get("TagKey")
    if tag_key:
        found = {row.tags[tag_key] for row in rows if tag_key in row.tags}
    else:
        found = {key for row in rows for key in row.tags}
    search = (body.get("SearchString") or "").lower()
    tags = sorted(tag for tag in found if search in tag.lower())
    page, token = _paginate(tags, body, body.get("MaxResults") or 1000, "NextPageToken")
    return {"Tags": list(page), "ReturnSize": len(page), "TotalSize": len(tags), **token}


def get_cost_forecast(ctx: _Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """GetCostForecast: per-period mean and prediction interval from the recent trend."""
    start, end = _time_period(body)
    granularity = _granularity(body)
    metric = FORECAST_METRICS.get(body.get("Metric", ""))
    if metric is None:
        raise AwsError(
            "ValidationException",
            f"Metric '{body.get('Metric')}' is invalid; valid values: {', '.join(FORECAST_METRICS)}",
        )
    level = body.get("PredictionIntervalLevel", 80)
    if not isinstance(level, int) or not 51 <= level <= 99:
        raise AwsError("ValidationException", "PredictionIntervalLevel must be between 51 and 99")
    _check_forecast_window(ctx.today, start, end, granularity)
    model = _forecast_model(ctx, _filter(body), metric)
    z = statistics.NormalDist().inv_cdf(0.5 + level / 200)
    results, total_mean, total_variance = [], 0.0, 0.0
    for period in period_starts(start, end, granularity):
        days = [period[0] + timedelta(days=i) for i in range((period[1] - period[0]).days)]
        mean = sum(model.mean(day) for day in days)
        spread = z * math.sqrt(sum(model.variance(day) for day in days))
        total_mean += mean
        total_variance += sum(model.variance(day) for day in days)
        results.append(
            {
                "TimePeriod": {"Start": period[0].isoformat(), "End": period[1].isoformat()},
                "MeanValue": _float_amount(mean),
                "PredictionIntervalLowerBound": _float_amount(max(0.0, mean - spread)),
                "PredictionIntervalUpperBound": _float_amount(mean + spread),
            }
        )
    unit = "N/A" if metric == "UsageQuantity" else ctx.dataset.currency
    return {
        "Total": {"Amount": _float_amount(total_mean), "Unit": unit},
        "ForecastResultsByTime": results,
    }


def _float_amount(value: float) -> str:
    return _amount(Decimal(repr(value)))


def _check_forecast_window(today: date, start: date, end: date, granularity: str) -> None:
    if end <= today:
        raise AwsError(
            "DataUnavailableException", "Forecasts are only available for current and future dates"
        )
    if start < today:
        raise AwsError(
            "ValidationException", f"Start date must be on or after the current date {today}"
        )
    horizon = 93 if granularity == "DAILY" else 366
    if (end - today).days > horizon:
        raise AwsError(
            "ValidationException",
            f"{granularity} forecasts are limited to {horizon} days from the current date",
        )


@dataclass(frozen=True)
class _ForecastModel:
    """Same-weekday medians with a gentle trend; month-start days keep their own level."""

    weekday_level: Mapping[int, float]
    month_start_level: float
    daily_growth: float
    origin: date
    relative_sd: float

    def mean(self, day: date) -> float:
        growth = self.daily_growth ** (day - self.origin).days
        if day.day == 1:
            return self.month_start_level * growth
        return self.weekday_level[day.weekday()] * growth

    def variance(self, day: date) -> float:
        return (self.relative_sd * self.mean(day)) ** 2


def _forecast_model(
    ctx: _Context, expression: Mapping[str, Any] | None, metric: str
) -> _ForecastModel:
    history_start = ctx.today - timedelta(days=400)
    rows = filtered(ctx.dataset.rows_between(history_start, ctx.today), expression)
    series = daily_series(rows, metric)
    if len(series) < ctx.min_forecast_history_days:
        raise AwsError(
            "DataUnavailableException",
            "Insufficient amount of historical data to generate forecast.",
        )
    days = [ctx.today - timedelta(days=back) for back in range(1, _FORECAST_WINDOW_DAYS * 2 + 1)]
    ordinary = [(d, float(series.get(d, ZERO))) for d in days if d.day != 1]
    recent = [value for d, value in ordinary if (ctx.today - d).days <= _FORECAST_WINDOW_DAYS]
    earlier = [value for d, value in ordinary if (ctx.today - d).days > _FORECAST_WINDOW_DAYS]
    weekday_level = {
        weekday: statistics.median([v for d, v in ordinary if d.weekday() == weekday] or [0.0])
        for weekday in range(7)
    }
    # Medians, so one spike in the window does not read as growth.
    earlier_level = statistics.median(earlier) if earlier else 0.0
    ratio = statistics.median(recent) / earlier_level if recent and earlier_level else 1.0
    growth = ratio ** (1 / _FORECAST_WINDOW_DAYS)
    month_starts = [float(v) for d, v in sorted(series.items()) if d.day == 1][-3:]
    residuals = [
        value / weekday_level[d.weekday()] - 1
        for d, value in ordinary
        if weekday_level[d.weekday()]
    ]
    return _ForecastModel(
        weekday_level=weekday_level,
        month_start_level=statistics.median(month_starts) if month_starts else weekday_level[0],
        daily_growth=min(max(growth, _MIN_DAILY_GROWTH), _MAX_DAILY_GROWTH),
        origin=ctx.today - timedelta(days=_FORECAST_WINDOW_DAYS),
        relative_sd=max(statistics.pstdev(residuals) if residuals else 0.0, 0.02),
    )


def forecast_total(ctx: _Context, start: date, end: date, metric: str) -> Decimal:
    """Mean forecast of one metric over [start, end) for the whole account."""
    if end <= start:
        return ZERO
    model = _forecast_model(ctx, None, metric)
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    return Decimal(_float_amount(sum(model.mean(day) for day in days)))


def get_anomaly_monitors(ctx: _Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """GetAnomalyMonitors: one SERVICE monitor when the dataset has planted anomalies."""
    monitors = [_monitor(ctx.dataset)] if ctx.dataset.anomalies else []
    wanted = body.get("MonitorArnList")
    if wanted:
        monitors = [m for m in monitors if m["MonitorArn"] in wanted]
    return {"AnomalyMonitors": monitors}


def _monitor_arn(dataset: BillingDataset) -> str:
    return f"arn:aws:ce::{dataset.payer_account}:anomalymonitor/penny-demo-services"


def _monitor(dataset: BillingDataset) -> dict[str, Any]:
    first = dataset.first_day or dataset.today
    return {
        "MonitorArn": _monitor_arn(dataset),
        "MonitorName": "AWS services",
        "CreationDate": first.isoformat(),
        "LastEvaluatedDate": (dataset.today - timedelta(days=1)).isoformat(),
        "MonitorType": "DIMENSIONAL",
        "MonitorDimension": "SERVICE",
        "DimensionalValueCount": len({row.service for row in dataset.rows}),
    }


def get_anomalies(ctx: _Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """GetAnomalies: planted anomalies overlapping DateInterval, impact computed from the rows."""
    interval = body.get("DateInterval") or {}
    start = _parse_day(interval.get("StartDate"), "StartDate")
    end = _parse_day(interval.get("EndDate") or ctx.today.isoformat(), "EndDate")
    if end < start:
        raise AwsError("ValidationException", "StartDate must be on or before EndDate")
    monitor = body.get("MonitorArn")
    if monitor and monitor != _monitor_arn(ctx.dataset):
        raise AwsError("UnknownMonitorException", f"Monitor {monitor} does not exist")
    anomalies = [
        _anomaly(ctx.dataset, spec)
        for spec in ctx.dataset.anomalies
        if spec.start <= end and spec.end >= start and spec.start < ctx.today
    ]
    anomalies = [a for a in anomalies if _impact_matches(a, body.get("TotalImpact"))]
    page, token = _paginate(anomalies, body, body.get("MaxResults") or 100, "NextPageToken")
    return {"Anomalies": list(page), **token}


def _anomaly(dataset: BillingDataset, spec: AnomalySpec) -> dict[str, Any]:
    def same_key(day_from: date, day_to: date) -> dict[date, Decimal]:
        rows = [
            row
            for row in dataset.rows_between(day_from, day_to)
            if (row.service, row.account, row.region) == (spec.service, spec.account, spec.region)
        ]
        return daily_series(rows, "UnblendedCost")

    last = min(spec.end, dataset.today - timedelta(days=1))
    actual_days = same_key(spec.start, last + timedelta(days=1))
    baseline = same_key(spec.start - timedelta(days=14), spec.start)
    expected_daily = sum(baseline.values(), ZERO) / max(len(baseline), 1)
    actual = sum(actual_days.values(), ZERO)
    expected = expected_daily * len(actual_days)
    max_impact = max((value - expected_daily for value in actual_days.values()), default=ZERO)
    impact = actual - expected
    score = float(min(Decimal(1), impact / actual)) if actual else 0.0
    return {
        "AnomalyId": spec.anomaly_id,
        "AnomalyStartDate": spec.start.isoformat(),
        "AnomalyEndDate": last.isoformat(),
        "DimensionValue": spec.service,
        "RootCauses": [
            {
                "Service": spec.service,
                "Region": spec.region,
                "LinkedAccount": spec.account,
                "LinkedAccountName": dataset.account_name(spec.account),
                "UsageType": spec.usage_type,
                "Impact": {"Contribution": round(float(impact), 2)},
            }
        ],
        "AnomalyScore": {"MaxScore": round(score, 2), "CurrentScore": round(score * 0.5, 2)},
        "Impact": {
            "MaxImpact": round(float(max_impact), 2),
            "TotalImpact": round(float(impact), 2),
            "TotalActualSpend": round(float(actual), 2),
            "TotalExpectedSpend": round(float(expected), 2),
            "TotalImpactPercentage": round(float(impact / expected * 100), 2) if expected else 0.0,
        },
        "MonitorArn": _monitor_arn(dataset),
    }


def _impact_matches(anomaly: Mapping[str, Any], rule: Mapping[str, Any] | None) -> bool:
    if not rule:
        return True
    value = anomaly["Impact"]["TotalImpact"]
    low, high = rule.get("StartValue", 0.0), rule.get("EndValue")
    checks: dict[str, Callable[[], bool]] = {
        "EQUAL": lambda: value == low,
        "GREATER_THAN_OR_EQUAL": lambda: value >= low,
        "LESS_THAN_OR_EQUAL": lambda: value <= low,
        "GREATER_THAN": lambda: value > low,
        "LESS_THAN": lambda: value < low,
        "BETWEEN": lambda: low <= value <= (high if high is not None else low),
    }
    return checks.get(rule.get("NumericOperator", ""), lambda: True)()


# ---------------------------------------------------------------- Budgets operations


def describe_budgets(ctx: _Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeBudgets: every budget with ActualSpend and ForecastedSpend from the data."""
    _check_budget_account(ctx, body)
    budgets = [_budget(ctx, spec) for spec in ctx.dataset.budgets]
    page, token = _paginate(budgets, body, body.get("MaxResults") or 100, "NextToken")
    return {"Budgets": list(page), **token}


def describe_budget(ctx: _Context, body: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeBudget: one budget by name, NotFoundException when unknown."""
    _check_budget_account(ctx, body)
    name = body.get("BudgetName")
    for spec in ctx.dataset.budgets:
        if spec.name == name:
            return {"Budget": _budget(ctx, spec)}
    raise AwsError("NotFoundException", f"Unable to get budget: {name} - the budget doesn't exist.")


def _check_budget_account(ctx: _Context, body: Mapping[str, Any]) -> None:
    account = str(body.get("AccountId", ""))
    if len(account) != 12 or not account.isdigit():
        raise AwsError("InvalidParameterException", "Account ID must be a 12-digit number")
    if account != ctx.dataset.payer_account:
        raise AwsError(
            "AccessDeniedException",
            f"User is not authorized to perform budgets:ViewBudget on account {account}",
        )


def budget_spend(ctx: _Context, spec: BudgetSpec) -> tuple[Decimal, Decimal]:
    """Actual month-to-date spend (including today's partial day) and forecasted month spend.

    Forecast = actual before today + CE's forecast from today to the end of the month, the
    same numbers a client gets from GetCostAndUsage and GetCostForecast.
    """
    first, following = month_start(ctx.today), next_month(ctx.today)
    actual = sum_metric(ctx.dataset.rows_between(first, ctx.today + timedelta(days=1)), spec.metric)
    before_today = sum_metric(ctx.dataset.rows_between(first, ctx.today), spec.metric)
    try:
        forecast = before_today + forecast_total(ctx, ctx.today, following, spec.metric)
    except AwsError:
        forecast = actual
    return actual, forecast


def _budget(ctx: _Context, spec: BudgetSpec) -> dict[str, Any]:
    actual, forecast = budget_spend(ctx, spec)
    first = ctx.dataset.first_day or ctx.today
    currency = ctx.dataset.currency
    created = datetime(first.year, first.month, 1, tzinfo=UTC).timestamp()
    return {
        "BudgetName": spec.name,
        "BudgetLimit": {"Amount": _amount(spec.limit), "Unit": currency},
        "CostFilters": {},
        "CostTypes": {
            "IncludeTax": True,
            "IncludeSubscription": True,
            "UseBlended": spec.metric == "BlendedCost",
            "IncludeRefund": False,
            "IncludeCredit": False,
            "IncludeUpfront": True,
            "IncludeRecurring": True,
            "IncludeOtherSubscription": True,
            "IncludeSupport": True,
            "IncludeDiscount": True,
            "UseAmortized": spec.metric == "AmortizedCost",
        },
        "TimeUnit": spec.time_unit,
        "TimePeriod": {"Start": created, "End": _FAR_FUTURE_EPOCH},
        "CalculatedSpend": {
            "ActualSpend": {"Amount": _amount(actual), "Unit": currency},
            "ForecastedSpend": {"Amount": _amount(forecast), "Unit": currency},
        },
        "BudgetType": spec.budget_type,
        "LastUpdatedTime": datetime.combine(ctx.today, datetime.min.time(), UTC).timestamp(),
    }


_OPERATIONS: dict[
    tuple[str | None, str], Callable[[_Context, Mapping[str, Any]], dict[str, Any]]
] = {
    ("ce", "GetCostAndUsage"): get_cost_and_usage,
    ("ce", "GetCostForecast"): get_cost_forecast,
    ("ce", "GetDimensionValues"): get_dimension_values,
    ("ce", "GetTags"): get_tags,
    ("ce", "GetAnomalies"): get_anomalies,
    ("ce", "GetAnomalyMonitors"): get_anomaly_monitors,
    ("budgets", "DescribeBudgets"): describe_budgets,
    ("budgets", "DescribeBudget"): describe_budget,
}
