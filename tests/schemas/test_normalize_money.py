"""Examples for money, currency codes and percentages, including the ambiguity rules."""

from decimal import Decimal

import pytest

from schemas.normalize import (
    NormalisationError,
    PercentRule,
    normalize_currency_code,
    normalize_money,
    normalize_percent,
    parse_money_with_currency,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$1,234.50", Decimal("1234.50")),
        ("1234.5", Decimal("1234.5")),
        ("USD 1,200", Decimal("1200")),
        ("1 200,50 EUR", Decimal("1200.50")),
        ("1.234,56", Decimal("1234.56")),
        ("1,234.56", Decimal("1234.56")),
        ("1,234,567", Decimal("1234567")),
        ("1.234.567", Decimal("1234567")),
        ("1,5", Decimal("1.5")),
        ("0,123", Decimal("0.123")),
        ("1234,567", Decimal("1234.567")),
        ("12,50", Decimal("12.50")),
        (".5", Decimal("0.5")),
        ("1'234.50", Decimal("1234.50")),
        ("1\u00a0234,50 €", Decimal("1234.50")),
        ("1,00,000", Decimal("100000")),
        ("€1.234", Decimal("1234")),
        ("$1,234", Decimal("1234")),
        ("-1200", Decimal("-1200")),
        ("-$5", Decimal("-5")),
        ("$-5", Decimal("-5")),
        ("1200-", Decimal("-1200")),
        ("(1,200.00)", Decimal("-1200.00")),
        ("($1,200)", Decimal("-1200")),
        ("$(1,200)", Decimal("-1200")),
        ("1.2M", Decimal("1200000")),
        ("3k", Decimal("3000")),
        ("$2.5 bn", Decimal("2500000000")),
        ("4MM", Decimal("4000000")),
        (1234, Decimal("1234")),
        (0.1, Decimal("0.1")),
        (Decimal("9.99"), Decimal("9.99")),
    ],
)
def test_normalize_money(value: object, expected: Decimal) -> None:
    result = normalize_money(value)
    assert isinstance(result, Decimal)
    assert result == expected


def test_floats_go_through_str_without_binary_noise() -> None:
    assert str(normalize_money(0.1)) == "0.1"
    assert normalize_money(1234.56) == Decimal("1234.56")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1,234", "ambiguous_money"),
        ("1.234", "ambiguous_money"),
        ("(1,200)", "ambiguous_money"),
        ("KWD 1.234", "ambiguous_money"),
        ("$100 EUR", "conflicting_currency"),
        ("XYZ 100", "unknown_currency"),
        ("TBD", "invalid_money"),
        ("nan", "invalid_money"),
        ("inf", "invalid_money"),
        ("12.", "invalid_money"),
        ("1,23,4.5", "invalid_money"),
        ("1.234,5.6", "invalid_money"),
        ("--5", "invalid_money"),
        ("(5", "invalid_money"),
        ("-(5)", "invalid_money"),
        ("1 2 3", "invalid_money"),
        (float("nan"), "invalid_money"),
        (float("inf"), "invalid_money"),
        (Decimal("NaN"), "invalid_money"),
        (True, "invalid_money"),
    ],
)
def test_normalize_money_rejects(value: object, reason: str) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_money(value, field="amount")
    assert (caught.value.reason, caught.value.field) == (reason, "amount")


@pytest.mark.parametrize(
    ("value", "mark", "expected"),
    [
        ("1,234", ".", Decimal("1234")),
        ("1.234", ".", Decimal("1.234")),
        ("(1,200)", ".", Decimal("-1200")),
        ("1,234", ",", Decimal("1.234")),
        ("1.234", ",", Decimal("1234")),
        ("1.234,56", ",", Decimal("1234.56")),
    ],
)
def test_a_stated_decimal_mark_settles_ambiguity(value: str, mark: str, expected: Decimal) -> None:
    assert normalize_money(value, decimal_mark=mark) == expected  # type: ignore[arg-type]


def test_a_stated_decimal_mark_rejects_the_other_convention() -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_money("1.234,56", decimal_mark=".")
    assert caught.value.reason == "invalid_money"
    with pytest.raises(ValueError, match="decimal_mark"):
        normalize_money("1", decimal_mark=";")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$1,234.50", (Decimal("1234.50"), "USD")),
        ("1.234,56 EUR", (Decimal("1234.56"), "EUR")),
        ("£12", (Decimal("12"), "GBP")),
        ("usd 5", (Decimal("5"), "USD")),
        ("CHF 1'000", (Decimal("1000"), "CHF")),
        ("C$10", (Decimal("10"), "CAD")),
        ("¥1,000", (Decimal("1000"), None)),
        ("¥1,000 JPY", (Decimal("1000"), "JPY")),
        ("$5 USD", (Decimal("5"), "USD")),
        ("1200", (Decimal("1200"), None)),
        (1200, (Decimal("1200"), None)),
        ("n/a", (None, None)),
    ],
)
def test_parse_money_with_currency(value: object, expected: tuple[Decimal | None, str | None]) -> None:
    assert parse_money_with_currency(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("usd", "USD"), (" EUR ", "EUR"), ("$", "USD"), ("€", "EUR"), ("£", "GBP"), ("Euro", "EUR"), ("978", "EUR")],
)
def test_normalize_currency_code(value: str, expected: str) -> None:
    assert normalize_currency_code(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [("¥", "ambiguous_currency"), ("kr", "ambiguous_currency"), ("XYZ", "unknown_currency"), (840, "unknown_currency")],
)
def test_normalize_currency_code_rejects(value: object, reason: str) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_currency_code(value)
    assert caught.value.reason == reason


@pytest.mark.parametrize("rule", list(PercentRule))
def test_percent_sign_means_points_under_every_rule(rule: PercentRule) -> None:
    assert normalize_percent("35%", rule=rule) == Decimal("35")
    assert normalize_percent("35,5 %", rule=rule) == Decimal("35.5")
    assert normalize_percent("0%", rule=rule) == Decimal("0")
    assert normalize_percent("100%", rule=rule) == Decimal("100")


@pytest.mark.parametrize(
    ("value", "rule", "expected"),
    [
        ("0.35", PercentRule.FRACTION, Decimal("35")),
        (0.35, PercentRule.FRACTION, Decimal("35")),
        (1, PercentRule.FRACTION, Decimal("100")),
        ("35", PercentRule.PERCENT, Decimal("35")),
        ("0.35", PercentRule.PERCENT, Decimal("0.35")),
        (1, PercentRule.PERCENT, Decimal("1")),
        ("35", PercentRule.AUTO, Decimal("35")),
        ("1.5", PercentRule.AUTO, Decimal("1.5")),
        (0, PercentRule.AUTO, Decimal("0")),
        (100, PercentRule.AUTO, Decimal("100")),
    ],
)
def test_bare_percent_follows_the_rule(value: object, rule: PercentRule, expected: Decimal) -> None:
    assert normalize_percent(value, rule=rule) == expected


def test_fraction_results_drop_trailing_zeros() -> None:
    assert str(normalize_percent("0.35", rule=PercentRule.FRACTION)) == "35"
    assert str(normalize_percent("0.125", rule=PercentRule.FRACTION)) == "12.5"


@pytest.mark.parametrize(
    ("value", "rule", "reason"),
    [
        ("0.35", PercentRule.AUTO, "ambiguous_percent"),
        (1, PercentRule.AUTO, "ambiguous_percent"),
        ("35", PercentRule.FRACTION, "percent_out_of_range"),
        ("150", PercentRule.PERCENT, "percent_out_of_range"),
        ("150%", PercentRule.FRACTION, "percent_out_of_range"),
        ("-5%", PercentRule.PERCENT, "percent_out_of_range"),
        (-0.1, PercentRule.AUTO, "percent_out_of_range"),
        ("high", PercentRule.PERCENT, "invalid_percent"),
        (float("nan"), PercentRule.PERCENT, "invalid_percent"),
        (True, PercentRule.PERCENT, "invalid_percent"),
    ],
)
def test_normalize_percent_rejects(value: object, rule: PercentRule, reason: str) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_percent(value, rule=rule, field="probability")
    assert caught.value.reason == reason
