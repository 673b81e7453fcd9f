"""Money as people read it: Decimal amounts, the account's currency, two decimals.

Cost Explorer returns amounts as strings with many decimals; they are kept as Decimal
from parsing to display and rounded only when shown, so totals match Cost Explorer to
the cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0")
_SYMBOL_BEFORE = {"USD": "$"}


class MoneyError(ValueError):
    """An amount from Cost Explorer or Budgets that is not a number."""


def to_decimal(value: str | int | Decimal | None) -> Decimal:
    """An amount as Decimal; None or "" count as zero (absent groups cost nothing)."""
    if value is None or value == "":
        return ZERO
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MoneyError(f"not an amount: {value!r}") from None


def round_cents(amount: Decimal) -> Decimal:
    """`amount` rounded half-up to the cent, the way invoices round."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str = "USD") -> str:
    """`$1,234.56` for USD, `1,234.56 EUR` for other currencies; negatives as `-$5.00`."""
    cents = round_cents(amount)
    sign = "-" if cents < 0 else ""
    digits = f"{abs(cents):,.2f}"
    symbol = _SYMBOL_BEFORE.get(currency)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {currency}"


def percent_change(current: Decimal, previous: Decimal) -> Decimal | None:
    """Change from `previous` to `current` in percent, or None when `previous` is zero."""
    if round_cents(previous) == 0:
        return None
    return (current - previous) / abs(previous) * 100


def format_percent(percent: Decimal) -> str:
    """`+4.1%`, `-12.0%`, `0.0%` (one decimal, sign shown when not zero)."""
    rounded = percent.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "0.0%"
    return f"{rounded:+.1f}%"


def format_delta(current: Decimal, previous: Decimal, currency: str = "USD") -> str:
    """The change from `previous` to `current`: `+$12.30 (+4.1%)`, `-$3.00 (-50.0%)`.

    A zero base has no percentage: `+$12.30 (new)`; no change at all reads `$0.00 (0.0%)`.
    """
    delta = round_cents(current) - round_cents(previous)
    amount = format_money(abs(delta), currency)
    signed = f"+{amount}" if delta > 0 else f"-{amount}" if delta < 0 else amount
    percent = percent_change(current, previous)
    if percent is None:
        return f"{signed} (new)" if delta != 0 else f"{signed} (0.0%)"
    return f"{signed} ({format_percent(percent)})"
