"""Labelled daily-cost scenarios for the anomaly detector, and how detections are scored.

Every scenario is generated from a fixed seed, so the set is the same on every run. Labels
follow the detector's documented definitions: increases only (drops and holiday dips are
quiet), month-start recurring charges are quiet, growth of a few percent a month is
normal, and growth of more than about 1 % a day is a ramp worth one alert.

A detection matches a label when it is on the same key and starts inside the label's
window; each label matches at most one detection, so an event reported twice counts one
true and one false alert.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from bot.core.anomaly import Anomaly

MONTH_START = "month_start"
Points = list[tuple[date, Decimal]]
Detector = Callable[[dict[str, Points], date, str], list[Anomaly]]


@dataclass(frozen=True)
class ExpectedAnomaly:
    """An event the detector must report once: key, window for its start, optional kind."""

    key: str
    earliest: date
    latest: date
    kind: str | None = None

    def matches(self, anomaly: Anomaly) -> bool:
        """True when ``anomaly`` is this event."""
        return anomaly.key == self.key and self.earliest <= anomaly.start <= self.latest


@dataclass(frozen=True)
class Scenario:
    """Series per key, the last complete day, and the anomalies that must be reported."""

    name: str
    series: dict[str, Points]
    as_of: date
    expected: tuple[ExpectedAnomaly, ...] = ()
    dimension: str = "SERVICE"
    tags: frozenset[str] = frozenset()

    @property
    def first_day(self) -> date:
        """The earliest day with data."""
        return min(day for points in self.series.values() for day, _ in points)


@dataclass
class ScenarioResult:
    """What one detector found in one scenario, split into true, false and missed."""

    scenario: Scenario
    detections: list[Anomaly]
    true_positives: list[Anomaly] = field(default_factory=list)
    false_positives: list[Anomaly] = field(default_factory=list)
    missed: list[ExpectedAnomaly] = field(default_factory=list)


@dataclass(frozen=True)
class Score:
    """Totals over a scenario set."""

    true_positives: int
    false_positives: int
    missed: int
    month_start_false_alerts: int  # false alerts starting on day 1 of a month

    @property
    def precision(self) -> float:
        """Share of alerts that were real events (1.0 when nothing was alerted)."""
        alerts = self.true_positives + self.false_positives
        return self.true_positives / alerts if alerts else 1.0

    @property
    def recall(self) -> float:
        """Share of labelled events that were alerted."""
        labelled = self.true_positives + self.missed
        return self.true_positives / labelled if labelled else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def evaluate(scenario: Scenario, detections: Sequence[Anomaly]) -> ScenarioResult:
    """Match detections against the scenario's labels."""
    result = ScenarioResult(scenario, list(detections))
    unmatched = list(detections)
    for label in scenario.expected:
        hit = next((a for a in unmatched if label.matches(a)), None)
        if hit is None:
            result.missed.append(label)
        else:
            unmatched.remove(hit)
            result.true_positives.append(hit)
    result.false_positives = unmatched
    return result


def total_score(results: Sequence[ScenarioResult]) -> Score:
    """Add up results; false alerts starting on a month's first day are counted apart too."""
    return Score(
        true_positives=sum(len(r.true_positives) for r in results),
        false_positives=sum(len(r.false_positives) for r in results),
        missed=sum(len(r.missed) for r in results),
        month_start_false_alerts=sum(
            1 for r in results for a in r.false_positives if a.start.day == 1
        ),
    )


def posted_by_daily_runs(scenario: Scenario, detect: Detector, days: int | None = None) -> list:
    """Run ``detect`` once a day, as the scheduled job does, and keep each id once.

    Returns what the job would have posted: the latest version of every distinct id seen in
    the last ``days`` runs (all days of the scenario when None).
    """
    first_run = scenario.first_day if days is None else scenario.as_of - timedelta(days - 1)
    posted: dict[str, Anomaly] = {}
    run_day = first_run
    while run_day <= scenario.as_of:
        for anomaly in detect(scenario.series, run_day, scenario.dimension):
            posted[anomaly.anomaly_id] = anomaly
        run_day += timedelta(days=1)
    return list(posted.values())


# --- generating series ---------------------------------------------------------------------


class SeriesMaker:
    """Builds one key's daily values from a start day, with seeded multiplicative noise."""

    def __init__(self, start: date, days: int, seed: int) -> None:
        self.start = start
        self.days = days
        self.rng = random.Random(seed)

    def day(self, offset: int) -> date:
        """The date ``offset`` days after the start."""
        return self.start + timedelta(days=offset)

    def offset_of(self, day: date) -> int:
        """How many days ``day`` is after the start."""
        return (day - self.start).days

    def steady(
        self, base: float, *, noise: float = 0.05, weekend: float = 1.0, growth: float = 0.0
    ) -> list[float]:
        """A level with weekend factor, compound daily growth and Gaussian relative noise."""
        values = []
        for i in range(self.days):
            level = base * (1 + growth) ** i * (weekend if self.day(i).weekday() >= 5 else 1.0)
            values.append(max(0.0, level * (1 + self.rng.gauss(0, noise))))
        return values

    def add(self, values: list[float], when: date, amount: float, days: int = 1) -> list[float]:
        """Add ``amount`` on ``days`` days from ``when``."""
        for i in range(self.offset_of(when), self.offset_of(when) + days):
            values[i] += amount
        return values

    def scale_from(
        self, values: list[float], when: date, factor: float, days: int | None = None
    ) -> list[float]:
        """Multiply from ``when`` on (for ``days`` days, or to the end)."""
        stop = self.days if days is None else self.offset_of(when) + days
        for i in range(self.offset_of(when), stop):
            values[i] *= factor
        return values

    def ramp_from(self, values: list[float], when: date, rate: float) -> list[float]:
        """Compound growth of ``rate`` a day from ``when`` on."""
        for i in range(self.offset_of(when), self.days):
            values[i] *= (1 + rate) ** (i - self.offset_of(when) + 1)
        return values

    def month_starts(self, values: list[float], amount: float, jitter: float = 0.0) -> list[float]:
        """Add a recurring charge on day 1 of every month, varying by ``jitter`` (relative)."""
        for i in range(self.days):
            if self.day(i).day == 1:
                values[i] += amount * (1 + self.rng.uniform(-jitter, jitter))
        return values

    def points(self, values: Sequence[float]) -> Points:
        """Cost Explorer style points: cents, and no point on days without cost."""
        return [
            (self.day(i), Decimal(str(round(v, 2)))) for i, v in enumerate(values) if v >= 0.005
        ]


def _spike_once(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 3), 100, seed)
    spike = date(2024, 3, 20)
    ec2 = m.add(m.steady(420, weekend=0.8), spike, 900)
    s3 = m.steady(85)
    return Scenario(
        "single_day_spike",
        {"Amazon EC2": m.points(ec2), "Amazon S3": m.points(s3)},
        m.day(99),
        (ExpectedAnomaly("Amazon EC2", spike, spike, "spike"),),
    )


def _multi_day_spike(seed: int) -> Scenario:
    m = SeriesMaker(date(2023, 12, 11), 105, seed)
    spike = date(2024, 2, 27)
    s3 = m.add(m.steady(120), spike, 300, days=3)
    return Scenario(
        "multi_day_spike",
        {"Amazon S3": m.points(s3), "AWS Lambda": m.points(m.steady(40))},
        m.day(104),
        (ExpectedAnomaly("Amazon S3", spike, spike, "spike"),),
    )


def _level_shift(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 2, 5), 110, seed)
    shift = date(2024, 4, 10)
    rds = m.scale_from(m.steady(200, weekend=0.9), shift, 1.6)
    return Scenario(
        "level_shift_up",
        {"Amazon RDS": m.points(rds)},
        m.day(109),
        (ExpectedAnomaly("Amazon RDS", shift, shift + timedelta(days=2), "level_shift"),),
    )


def _small_shift(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 2, 5), 100, seed)
    shift = date(2024, 4, 1)
    ec2 = m.scale_from(m.steady(1000, noise=0.03, weekend=0.85), shift, 1.08)
    return Scenario("small_level_shift_is_normal", {"Amazon EC2": m.points(ec2)}, m.day(99))


def _fast_ramp(seed: int) -> Scenario:
    m = SeriesMaker(date(2023, 10, 2), 110, seed)
    ramp = date(2023, 12, 1)
    lam = m.ramp_from(m.steady(150, noise=0.04), ramp, 0.025)
    return Scenario(
        "slow_ramp_reported_once",
        {"AWS Lambda": m.points(lam), "Amazon S3": m.points(m.steady(60))},
        m.day(109),
        (ExpectedAnomaly("AWS Lambda", ramp, ramp + timedelta(days=21), "ramp"),),
    )


def _normal_growth(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 15), 110, seed)
    ec2 = m.steady(600, noise=0.04, weekend=0.9, growth=0.002)
    return Scenario("normal_growth_is_quiet", {"Amazon EC2": m.points(ec2)}, m.day(109))


def _savings_plan_fees(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 1), 120, seed)
    fees = m.month_starts([0.0] * 120, 3000)
    ec2 = m.steady(500, weekend=0.7)
    return Scenario(
        "month_start_savings_plan_fee",
        {"Savings Plans for AWS Compute usage": m.points(fees), "Amazon EC2": m.points(ec2)},
        m.day(119),
        tags=frozenset({MONTH_START}),
    )


def _support_and_tax(seed: int) -> Scenario:
    m = SeriesMaker(date(2023, 11, 20), 115, seed)
    support = m.month_starts([0.0] * 115, 1500, jitter=0.1)
    tax = m.month_starts([0.0] * 115, 800, jitter=0.12)
    return Scenario(
        "month_start_support_and_tax",
        {
            "AWS Support (Business)": m.points(support),
            "Tax": m.points(tax),
            "Amazon CloudFront": m.points(m.steady(90, weekend=0.6)),
        },
        m.day(114),
        tags=frozenset({MONTH_START}),
    )


def _account_with_ri_fee(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 3, 10), 100, seed)
    account = m.month_starts(m.steady(500, weekend=0.6), 5000, jitter=0.02)
    other = m.month_starts(m.steady(80, noise=0.08), 400, jitter=0.05)
    return Scenario(
        "month_start_account_ri_fee",
        {"111111111111": m.points(account), "222222222222": m.points(other)},
        m.day(99),
        dimension="LINKED_ACCOUNT",
        tags=frozenset({MONTH_START}),
    )


def _weekly_rhythm(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 8), 105, seed)
    ec2 = m.steady(1000, weekend=0.3)
    workspaces = m.steady(200, weekend=0.05, noise=0.03)
    return Scenario(
        "weekday_weekend_rhythm_is_quiet",
        {"Amazon EC2": m.points(ec2), "Amazon WorkSpaces": m.points(workspaces)},
        m.day(104),
    )


def _weekly_batch(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 2, 1), 100, seed)
    batch = [v if m.day(i).weekday() == 6 else 0.0 for i, v in enumerate(m.steady(450))]
    return Scenario("weekly_batch_job_is_quiet", {"AWS Glue": m.points(batch)}, m.day(99))


def _new_service(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 22), 100, seed)
    launch = date(2024, 4, 2)
    sagemaker = m.scale_from(m.steady(250, noise=0.1), m.day(0), 0.0, days=m.offset_of(launch))
    return Scenario(
        "new_service",
        {"Amazon SageMaker": m.points(sagemaker), "Amazon EC2": m.points(m.steady(700))},
        m.day(99),
        (ExpectedAnomaly("Amazon SageMaker", launch, launch + timedelta(days=1), "new_service"),),
    )


def _tiny_new_service(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 22), 100, seed)
    launch = date(2024, 4, 2)
    sqs = m.scale_from(m.steady(0.4, noise=0.3), m.day(0), 0.0, days=m.offset_of(launch))
    return Scenario("tiny_new_service_is_quiet", {"Amazon SQS": m.points(sqs)}, m.day(99))


def _quiet_services(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 2, 12), 100, seed)
    blips = m.add(m.steady(0.8, noise=0.6), date(2024, 4, 9), 3.5)
    return Scenario(
        "quiet_services_tiny_noise",
        {
            "AWS Key Management Service": m.points(m.steady(0.05, noise=0.9)),
            "Amazon Route 53": m.points(m.month_starts(m.steady(0.5, noise=0.4), 2.5)),
            "AWS Secrets Manager": m.points(blips),
            "Amazon SNS": m.points(m.steady(2.0, noise=0.7)),
        },
        m.day(99),
    )


def _drop(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 8), 100, seed)
    ec2 = m.scale_from(m.steady(900, weekend=0.8), date(2024, 3, 18), 0.5)
    return Scenario("drop_in_spend_is_not_reported", {"Amazon EC2": m.points(ec2)}, m.day(99))


def _holiday_dips(seed: int) -> Scenario:
    m = SeriesMaker(date(2023, 11, 1), 100, seed)
    ec2 = m.steady(800, weekend=0.75)
    ec2 = m.scale_from(ec2, date(2023, 12, 23), 0.4, days=10)
    ec2 = m.scale_from(ec2, date(2024, 1, 15), 0.6)
    ec2 = m.scale_from(ec2, date(2024, 1, 16), 1 / 0.6)
    return Scenario("holiday_dips_are_quiet", {"Amazon EC2": m.points(ec2)}, m.day(99))


def _noisy(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 29), 110, seed)
    return Scenario(
        "noisy_high_variance_is_quiet",
        {"Amazon Athena": m.points(m.steady(800, noise=0.25))},
        m.day(109),
    )


def _two_spikes(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 1), 110, seed)
    first, second = date(2024, 2, 20), date(2024, 3, 26)
    dynamo = m.add(m.add(m.steady(150, weekend=0.9), first, 400), second, 250, days=2)
    return Scenario(
        "two_spikes_same_service",
        {"Amazon DynamoDB": m.points(dynamo)},
        m.day(109),
        (
            ExpectedAnomaly("Amazon DynamoDB", first, first, "spike"),
            ExpectedAnomaly("Amazon DynamoDB", second, second, "spike"),
        ),
    )


def _shift_then_spike(seed: int) -> Scenario:
    m = SeriesMaker(date(2023, 12, 4), 115, seed)
    shift, spike = date(2024, 2, 5), date(2024, 3, 19)
    rds = m.add(m.scale_from(m.steady(300, weekend=0.85), shift, 1.5), spike, 700)
    return Scenario(
        "level_shift_then_spike",
        {"Amazon RDS": m.points(rds)},
        m.day(114),
        (
            ExpectedAnomaly("Amazon RDS", shift, shift + timedelta(days=2), "level_shift"),
            ExpectedAnomaly("Amazon RDS", spike, spike, "spike"),
        ),
    )


def _realistic_account(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 1), 121, seed)
    shift = date(2024, 4, 16)
    series = {
        "Amazon EC2": m.steady(1200, weekend=0.6),
        "Amazon RDS": m.steady(400, noise=0.03),
        "Amazon S3": m.steady(150, growth=0.001),
        "AWS Lambda": m.steady(35, noise=0.15, weekend=0.5),
        "Amazon CloudWatch": m.scale_from(m.steady(60, noise=0.06), shift, 1.9),
        "Savings Plans for AWS Compute usage": m.month_starts([0.0] * 121, 8000),
        "AWS Support (Business)": m.month_starts([0.0] * 121, 2100, jitter=0.08),
        "Tax": m.month_starts([0.0] * 121, 1700, jitter=0.1),
        "Amazon Route 53": m.month_starts(m.steady(1.2, noise=0.3), 50),
    }
    return Scenario(
        "realistic_account_with_one_shift",
        {key: m.points(values) for key, values in series.items()},
        m.day(120),
        (ExpectedAnomaly("Amazon CloudWatch", shift, shift + timedelta(days=2), "level_shift"),),
        tags=frozenset({MONTH_START}),
    )


def _spike_on_weekend_account(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 2, 1), 100, seed)
    sunday = date(2024, 4, 28)
    dev = m.add(m.steady(250, weekend=0.2, noise=0.06), sunday, 120, days=2)
    return Scenario(
        "weekend_spike_on_dev_account",
        {"444444444444": m.points(dev), "555555555555": m.points(m.steady(900))},
        m.day(99),
        (ExpectedAnomaly("444444444444", sunday, sunday, "spike"),),
        dimension="LINKED_ACCOUNT",
    )


def _gradual_decline(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 1), 110, seed)
    ebs = m.steady(500, noise=0.03, growth=-0.006)
    return Scenario("gradual_decline_is_quiet", {"Amazon EBS": m.points(ebs)}, m.day(109))


def _new_service_on_month_start(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 1, 5), 110, seed)
    launch = date(2024, 4, 1)
    eks = m.scale_from(m.steady(180, noise=0.06), m.day(0), 0.0, days=m.offset_of(launch))
    return Scenario(
        "new_service_launched_on_the_first",
        {"Amazon EKS": m.points(eks), "Tax": m.points(m.month_starts([0.0] * 110, 300))},
        m.day(109),
        (ExpectedAnomaly("Amazon EKS", launch, launch + timedelta(days=1), "new_service"),),
        tags=frozenset({MONTH_START}),
    )


def _weekly_batch_doubles(seed: int) -> Scenario:
    m = SeriesMaker(date(2024, 2, 1), 100, seed)
    batch = [v if m.day(i).weekday() == 6 else 0.0 for i, v in enumerate(m.steady(450))]
    change = date(2024, 4, 14)
    batch = m.scale_from(batch, change, 2.0)
    return Scenario(
        "weekly_batch_job_doubles",
        {"AWS Glue": m.points(batch)},
        m.day(99),
        (ExpectedAnomaly("AWS Glue", change, change, None),),
    )


def _fee_account_spike(
    seed: int, name: str, fee: float, spike: date, amount: float, days: int = 1
) -> Scenario:
    """A linked account paying a fee every month start, with a spike of ``days`` days."""
    m = SeriesMaker(date(2024, 1, 1), 122, seed)
    account = m.month_starts(m.steady(fee / 10, weekend=0.75), fee, jitter=0.02)
    account = m.add(account, spike, amount, days=days)
    return Scenario(
        name,
        {"333333333333": m.points(account)},
        m.day(121),
        (ExpectedAnomaly("333333333333", spike, spike, "spike"),),
        dimension="LINKED_ACCOUNT",
        tags=frozenset({MONTH_START}),
    )


def _day_one_spike(seed: int) -> Scenario:
    return _fee_account_spike(
        seed, "spike_on_day_one_over_recurring_fee", 4000, date(2024, 4, 1), 1500
    )


def _spike_after_month_start(seed: int) -> Scenario:
    return _fee_account_spike(
        seed, "spike_the_day_after_a_month_start", 6000, date(2024, 4, 2), 1200
    )


def _spike_across_month_end(seed: int) -> Scenario:
    return _fee_account_spike(seed, "spike_across_month_end", 2500, date(2024, 3, 31), 900, days=3)


def _one_spike(
    seed: int, name: str, key: str, start: date, spike: date, amount: float, **shape: float
) -> Scenario:
    """One service of the given shape (see ``SeriesMaker.steady``) with a one-day spike."""
    m = SeriesMaker(start, 110, seed)
    values = m.add(m.steady(**shape), spike, amount)
    return Scenario(
        name, {key: m.points(values)}, m.day(109), (ExpectedAnomaly(key, spike, spike, "spike"),)
    )


def _weekend_spike(seed: int) -> Scenario:
    return _one_spike(
        seed,
        "weekend_spike",
        "Amazon EC2",
        date(2024, 1, 8),
        date(2024, 3, 30),  # a Saturday, at 40 % of the weekday level after the spike
        650,
        base=1000,
        weekend=0.3,
    )


def _noisy_spike(seed: int) -> Scenario:
    return _one_spike(
        seed,
        "noisy_service_with_big_spike",
        "Amazon Athena",
        date(2024, 1, 29),
        date(2024, 4, 25),
        2200,
        base=800,
        noise=0.25,
    )


def _moderate_spike(seed: int) -> Scenario:
    return _one_spike(
        seed,
        "moderate_spike_on_busy_weekday",
        "Amazon ECS",
        date(2024, 1, 10),
        date(2024, 3, 27),
        140,
        base=300,
        noise=0.08,
        weekend=0.5,
    )


SCENARIO_FACTORIES = (
    _spike_once,
    _multi_day_spike,
    _level_shift,
    _small_shift,
    _fast_ramp,
    _normal_growth,
    _savings_plan_fees,
    _support_and_tax,
    _account_with_ri_fee,
    _weekly_rhythm,
    _weekend_spike,
    _weekly_batch,
    _day_one_spike,
    _new_service,
    _tiny_new_service,
    _quiet_services,
    _drop,
    _holiday_dips,
    _noisy,
    _noisy_spike,
    _two_spikes,
    _shift_then_spike,
    _realistic_account,
    _spike_on_weekend_account,
    _gradual_decline,
    _spike_after_month_start,
    _moderate_spike,
    _new_service_on_month_start,
    _spike_across_month_end,
    _weekly_batch_doubles,
)


def build_scenarios(variant: int = 0) -> list[Scenario]:
    """Every labelled scenario, each generated from its own fixed seed.

    ``variant`` selects another set of seeds: same shapes, other noise, to check that the
    figures do not hang on one lucky draw.
    """
    return [factory(1000 * (variant + 1) + n) for n, factory in enumerate(SCENARIO_FACTORIES)]
