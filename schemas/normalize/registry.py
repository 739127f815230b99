"""Normalisers by name, and the default normaliser of every canonical field."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from schemas.normalize.country import normalize_country
from schemas.normalize.internet import normalize_email, normalize_website
from schemas.normalize.money import normalize_currency_code, normalize_money
from schemas.normalize.numeric import normalize_int
from schemas.normalize.percent import PercentRule, normalize_percent
from schemas.normalize.phone import normalize_phone
from schemas.normalize.temporal import normalize_date, normalize_datetime
from schemas.normalize.text import normalize_status, normalize_str

__all__ = ["DEFAULT_NORMALISER", "NORMALISERS"]

NORMALISERS: dict[str, Callable[..., object]] = {
    "str": normalize_str,
    "int": normalize_int,
    "website": normalize_website,
    "phone": normalize_phone,
    "country": normalize_country,
    "email": normalize_email,
    "money": normalize_money,
    "currency": normalize_currency_code,
    "percent_fraction": partial(normalize_percent, rule=PercentRule.FRACTION),
    "percent_points": partial(normalize_percent, rule=PercentRule.PERCENT),
    "percent_auto": partial(normalize_percent, rule=PercentRule.AUTO),
    "datetime": normalize_datetime,
    "date": normalize_date,
    "status": normalize_status,
}

_TIMESTAMPS = {"created_at": "datetime", "updated_at": "datetime"}

#: (entity, canonical field) -> name in NORMALISERS; every field of schemas.canonical has an entry.
DEFAULT_NORMALISER: dict[tuple[str, str], str] = {
    **{
        ("account", name): kind
        for name, kind in {
            "account_id": "str",
            "name": "str",
            "website": "website",
            "industry": "str",
            "employee_count": "int",
            "annual_revenue": "money",
            "phone": "phone",
            "billing_street": "str",
            "billing_city": "str",
            "billing_state": "str",
            "billing_postal_code": "str",
            "billing_country": "country",
            "owner_id": "str",
            "description": "str",
            **_TIMESTAMPS,
        }.items()
    },
    **{
        ("opportunity", name): kind
        for name, kind in {
            "opportunity_id": "str",
            "account_id": "str",
            "name": "str",
            "amount": "money",
            "currency": "currency",
            "stage": "str",
            "probability": "percent_auto",
            "close_date": "date",
            "status": "status",
            "owner_id": "str",
            "lead_source": "str",
            "type": "str",
            **_TIMESTAMPS,
        }.items()
    },
    **{
        ("contact", name): kind
        for name, kind in {
            "contact_id": "str",
            "account_id": "str",
            "first_name": "str",
            "last_name": "str",
            "email": "email",
            "phone": "phone",
            "mobile_phone": "phone",
            "title": "str",
            "department": "str",
            "mailing_city": "str",
            "mailing_country": "country",
            "owner_id": "str",
            "lead_source": "str",
            **_TIMESTAMPS,
        }.items()
    },
}
