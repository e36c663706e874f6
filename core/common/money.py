"""Money is Decimal with two places in the domain; integer cents only at the payment-provider boundary."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(value: Decimal) -> int:
    return int((quantize(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return quantize(Decimal(cents) / 100)


def money_str(value: Decimal) -> str:
    return f"{quantize(value):.2f}"
