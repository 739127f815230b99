"""Examples for the error model, null-like handling, strings, integers and opportunity status."""

import json
import pickle
from decimal import Decimal

import pytest

from schemas.canonical import OpportunityStatus
from schemas.normalize import (
    NULL_LIKE,
    NormalisationError,
    is_null_like,
    normalize_int,
    normalize_status,
    normalize_str,
)


def test_error_carries_field_value_reason_and_message() -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_int("12.5", field="employee_count")
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.field, error.value, error.reason) == ("employee_count", "12.5", "not_integer")
    assert error.message
    assert "employee_count" in str(error)


def test_error_as_dict_is_json_safe_for_any_value() -> None:
    error = NormalisationError("amount", {"nested": Decimal("1.5")}, "invalid_money", "bad")
    payload = error.as_dict()
    value = "{'nested': Decimal('1.5')}"
    assert payload == {"field": "amount", "value": value, "reason": "invalid_money", "message": "bad"}
    assert json.loads(json.dumps(payload)) == payload
    assert NormalisationError(None, None, "x").as_dict()["value"] is None


def test_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(NormalisationError("f", "v", "invalid_email", "msg")))
    assert (error.field, error.value, error.reason, error.message) == ("f", "v", "invalid_email", "msg")


@pytest.mark.parametrize("value", [None, "", "  ", "null", "NULL", "None", "nil", "N/A", "n/a", "#N/A", "-", " - "])
def test_null_like_values(value: object) -> None:
    assert is_null_like(value)
    assert normalize_str(value) is None
    assert normalize_int(value) is None


@pytest.mark.parametrize("value", ["NA", "nan", "0", "--x", "none of them"])
def test_values_that_are_not_null_like(value: str) -> None:
    assert not is_null_like(value)
    assert value.strip().casefold() not in NULL_LIKE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Acme   Corp\n Inc ", "Acme Corp Inc"),
        ("a\tb", "a b"),
        (12345, "12345"),
        (12345.0, "12345"),
        (12.5, "12.5"),
        (Decimal("0012.50"), "12.50"),
    ],
)
def test_normalize_str(value: object, expected: str) -> None:
    assert normalize_str(value) == expected


@pytest.mark.parametrize("value", [True, ["a"], {"a": 1}, b"bytes", float("nan")])
def test_normalize_str_rejects_non_text(value: object) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_str(value)
    assert caught.value.reason == "not_text"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1,200", 1200),
        ("1.200", 1200),
        ("1 200", 1200),
        ("12.0", 12),
        ("12", 12),
        (" -3 ", -3),
        ("1.2k", 1200),
        ("3K", 3000),
        (42, 42),
        (42.0, 42),
        (Decimal("7.00"), 7),
        ("1,234,567", 1234567),
    ],
)
def test_normalize_int(value: object, expected: int) -> None:
    assert normalize_int(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("12.5", "not_integer"),
        (12.5, "not_integer"),
        ("1,5", "not_integer"),
        ("51-200", "invalid_integer"),
        ("many", "invalid_integer"),
        ("1,23,4", "invalid_integer"),
        (True, "invalid_integer"),
        (float("inf"), "invalid_integer"),
    ],
)
def test_normalize_int_rejects(value: object, reason: str) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_int(value, field="employee_count")
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Closed Won", OpportunityStatus.WON),
        ("closed-won", OpportunityStatus.WON),
        ("ClosedWon", OpportunityStatus.WON),
        ("WON", OpportunityStatus.WON),
        ("closed-lost", OpportunityStatus.LOST),
        ("Closed Lost", OpportunityStatus.LOST),
        ("closed_lost", OpportunityStatus.LOST),
        ("Open", OpportunityStatus.OPEN),
        ("In Progress", OpportunityStatus.OPEN),
        ("in-progress", OpportunityStatus.OPEN),
    ],
)
def test_normalize_status(value: str, expected: OpportunityStatus) -> None:
    assert normalize_status(value) is expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [("Closed", "ambiguous_status"), ("Negotiation", "unknown_status"), (True, "unknown_status")],
)
def test_normalize_status_rejects(value: object, reason: str) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalize_status(value)
    assert caught.value.reason == reason
