"""Money formatting: currency, two decimals, separators, deltas with a zero base."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core.money import (
    MoneyError,
    format_delta,
    format_money,
    format_percent,
    round_cents,
    to_decimal,
)

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1234.56", "USD", "$1,234.56"),
        ("1234567.891", "USD", "$1,234,567.89"),
        ("0", "USD", "$0.00"),
        ("0.005", "USD", "$0.01"),
        ("0.0049999", "USD", "$0.00"),
        ("-5", "USD", "-$5.00"),
        ("-0.004", "USD", "$0.00"),
        ("1234.5", "EUR", "1,234.50 EUR"),
        ("-12", "JPY", "-12.00 JPY"),
    ],
)
def test_format_money(amount: str, currency: str, text: str) -> None:
    assert format_money(D(amount), currency) == text


@pytest.mark.parametrize(
    ("current", "previous", "text"),
    [
        ("1012.30", "1000", "+$12.30 (+1.2%)"),
        ("311.30", "299", "+$12.30 (+4.1%)"),
        ("50", "100", "-$50.00 (-50.0%)"),
        ("100", "100", "$0.00 (0.0%)"),
        ("12.30", "0", "+$12.30 (new)"),
        ("0", "0", "$0.00 (0.0%)"),
        ("0", "25", "-$25.00 (-100.0%)"),
        ("-10", "-20", "+$10.00 (+50.0%)"),
    ],
)
def test_format_delta(current: str, previous: str, text: str) -> None:
    assert format_delta(D(current), D(previous)) == text


def test_format_delta_in_another_currency() -> None:
    assert format_delta(D("110"), D("100"), "EUR") == "+10.00 EUR (+10.0%)"


def test_format_percent() -> None:
    assert format_percent(D("4.05")) == "+4.1%"
    assert format_percent(D("-0.04")) == "0.0%"
    assert format_percent(D("-12")) == "-12.0%"


def test_amounts_from_cost_explorer_are_exact() -> None:
    parts = ["0.1", "0.2", "1234.5650000001", ""]
    total = sum((to_decimal(p) for p in parts), D(0))
    assert total == D("1234.8650000001")
    assert round_cents(total) == D("1234.87")


def test_a_non_amount_is_refused() -> None:
    with pytest.raises(MoneyError):
        to_decimal("twelve")
