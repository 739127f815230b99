"""Value evidence: detect what sample values look like (e-mail, phone, date, money, id, vocabularies ...)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from autonomos_pipeline.dcl.mapping.text import fold as fold_text
from schemas.source_schema import FieldType

_EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$")
_URL = re.compile(r"^(https?://)?(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(/\S*)?$", re.I)
_SOCIAL = re.compile(r"(linkedin|twitter|facebook|instagram|x)\.com/", re.I)
_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,22}(\s*(x|ext\.?)\s*\d+)?$", re.I)
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}/\d{2}/\d{2})$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_LOOSE_DATETIME = re.compile(r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}[ T]\d{1,2}:\d{2}")
_PERCENT = re.compile(r"^-?\d+([.,]\d+)?\s?%$")
_MONEY_SYM = re.compile(r"^([$€£¥]|[A-Z]{3})\s?-?[\d.,' ]+[kKmM]?$|^-?[\d.,' ]+\s?([$€£¥]|[A-Z]{3}|[kKmM])$")
_NUMBER = re.compile(r"^-?\d{1,3}([,.' ]\d{3})*([.,]\d+)?$|^-?\d+([.,]\d+)?$")
_INT = re.compile(r"^-?\d+$")
_SFID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
_UUID = re.compile(r"^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$", re.I)
_OBJECTID = re.compile(r"^[0-9a-f]{24}$", re.I)
_CODE_ID = re.compile(r"^[A-Z]{1,5}[-_]?\d{3,}$")
_POSTAL = re.compile(
    r"^(\d{4,5}(-\d{4})?|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{4} ?[A-Z]{2}|\d{3}-\d{3,4})$"
)
_STREET = re.compile(
    r"(\d+\s+\w+.*\b(st|street|ave|avenue|rd|road|blvd|lane|ln|dr|drive|way|place|pl|court|ct)\b\.?)|"
    r"(\b\w*(strasse|str\.|weg|gasse|platz|allee|straat|laan|gracht)\b)|"
    r"(\b(rue|avenue|boulevard|calle|avenida|rua|via|viale|piazza|plaza|paseo)\b)",
    re.I,
)
_BOOL = frozenset({"true", "false", "yes", "no", "y", "n", "t", "f", "ja", "nein", "oui", "non", "si"})


def _phrases(text: str) -> frozenset[str]:
    """A vocabulary written as comma-separated phrases."""
    return frozenset(p.strip() for p in text.replace("\n", " ").split(",") if p.strip())


_STAGES = frozenset(
    [
        "prospecting",
        "qualification",
        "needs",
        "analysis",
        "value",
        "proposition",
        "id",
        "decision",
        "makers",
        "perception",
        "analysis",
        "proposal",
        "price",
        "quote",
        "negotiation",
        "review",
        "closed",
        "won",
        "closed",
        "lost",
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
        "discovery",
        "demo",
        "lead",
        "qualified",
        "proposal",
        "sent",
        "negotiating",
        "contract",
        "sent",
        "won",
        "lost",
        "develop",
        "propose",
        "close",
        "solution",
        "evaluation",
        "commit",
        "pipeline",
        "best",
        "case",
        "upside",
    ]
)
_STAGE_PHRASES = frozenset(
    {
        "needs analysis",
        "value proposition",
        "id. decision makers",
        "perception analysis",
        "proposal/price quote",
        "negotiation/review",
        "closed won",
        "closed lost",
        "proposal sent",
        "contract sent",
        "demo scheduled",
        "qualified to buy",
        "presentation scheduled",
        "decision maker bought-in",
    }
)
_STATUS = frozenset(
    {
        "open",
        "won",
        "lost",
        "closed",
        "offen",
        "gewonnen",
        "verloren",
        "ouvert",
        "gagne",
        "perdu",
        "abierto",
        "ganado",
        "perdido",
        "aberto",
        "ganho",
        "abandoned",
        "in progress",
        "active",
    }
)
_INDUSTRY = _phrases(
    """technology, software, banking, finance, financial services, insurance, healthcare, pharmaceuticals,
    biotechnology, manufacturing, retail, education, government, telecommunications, media, entertainment,
    energy, utilities, construction, consulting, transportation, logistics, hospitality, agriculture, chemicals,
    apparel, electronics, engineering, food & beverage, food, machinery, recreation, shipping, not for profit,
    nonprofit, real estate, automotive, aerospace, information technology, computer software, internet,
    technologie, fertigung, handel, banken, versicherung, gesundheitswesen, industrie, maschinenbau, logiciel,
    sante, commerce, tecnologia, manufactura, salud, seguros, comercio, finanzas, saas, e-commerce, fintech"""
)
_LEAD_SOURCE = _phrases(
    """web, website, referral, partner, partner referral, trade show, advertisement, cold call, email campaign,
    seminar, word of mouth, employee referral, public relations, purchased list, external referral,
    organic search, paid search, social media, direct traffic, offline sources, other campaigns, event,
    webinar, inbound, outbound, messe, empfehlung, salon, parrainage, feria, referencia, web form, linkedin,
    google ads"""
)
_DEAL_TYPE = _phrases(
    """new business, existing business, renewal, upsell, upgrade, replacement, downgrade, cross sell,
    cross-sell, expansion, new customer, existing customer, newbusiness, existingbusiness, neugeschaft,
    verlangerung, existing business - upgrade, existing business - replacement, existing business - downgrade,
    nouvelle affaire, renouvellement, nuevo negocio, renovacion"""
)
_DEPARTMENT = _phrases(
    """sales, marketing, finance, engineering, it, hr, human resources, operations, legal, procurement,
    purchasing, support, customer success, product, product management, executive, administration, research,
    r&d, research & development, accounting, vertrieb, einkauf, buchhaltung, personal, ventes, achats,
    comptabilite, ventas, compras, finanzas, ict, logistics"""
)
_TITLE_WORDS = frozenset(
    [
        "ceo",
        "cfo",
        "cto",
        "coo",
        "cio",
        "cmo",
        "vp",
        "vice",
        "president",
        "director",
        "manager",
        "head",
        "engineer",
        "analyst",
        "consultant",
        "specialist",
        "officer",
        "founder",
        "owner",
        "partner",
        "lead",
        "chief",
        "executive",
        "coordinator",
        "administrator",
        "assistant",
        "developer",
        "architect",
        "geschaftsfuhrer",
        "leiter",
        "directeur",
        "gerente",
        "jefe",
        "responsable",
    ]
)

KINDS: tuple[str, ...] = (
    "email",
    "url",
    "social_url",
    "phone",
    "date",
    "datetime",
    "epoch",
    "percent",
    "money",
    "integer",
    "decimal",
    "small_number",
    "fraction",
    "boolean",
    "sf_id",
    "uuid",
    "object_id",
    "code_id",
    "currency",
    "country",
    "postal",
    "street",
    "stage",
    "status",
    "industry",
    "lead_source",
    "deal_type",
    "department",
    "job_title",
    "long_text",
    "word",
    "text",
)

# Kinds that strongly identify what a column holds: seeing them where they are not expected is conflict.
STRONG_KINDS = frozenset(
    {
        "email",
        "url",
        "social_url",
        "phone",
        "date",
        "datetime",
        "epoch",
        "percent",
        "money",
        "sf_id",
        "uuid",
        "object_id",
        "currency",
        "country",
        "postal",
        "street",
        "stage",
        "boolean",
        "status",
        "industry",
        "lead_source",
        "deal_type",
        "department",
        "job_title",
    }
)

_ID_KINDS = ("sf_id", "uuid", "object_id", "code_id", "integer")
_TIME_KINDS = ("datetime", "date", "epoch")
_NAME_KINDS = ("text", "word")

# What each canonical field's values look like.
EXPECTED: dict[str, tuple[str, ...]] = {
    "account_id": _ID_KINDS,
    "opportunity_id": _ID_KINDS,
    "contact_id": _ID_KINDS,
    "owner_id": (*_ID_KINDS, "email", "text", "word"),
    "name": ("text", "word"),
    "website": ("url",),
    "industry": ("industry", "text", "word"),
    "employee_count": ("integer",),
    "annual_revenue": ("money", "integer", "decimal"),
    "amount": ("money", "integer", "decimal"),
    "phone": ("phone",),
    "mobile_phone": ("phone",),
    "billing_street": ("street", "text"),
    "billing_city": _NAME_KINDS,
    "mailing_city": _NAME_KINDS,
    "billing_state": ("text", "word"),
    "billing_postal_code": ("postal", "integer"),
    "billing_country": ("country",),
    "mailing_country": ("country",),
    "description": ("long_text", "text"),
    "created_at": _TIME_KINDS,
    "updated_at": _TIME_KINDS,
    "close_date": _TIME_KINDS,
    "currency": ("currency",),
    "stage": ("stage", "text", "word"),
    "probability": ("percent", "small_number", "fraction", "integer", "decimal"),
    "status": ("status", "boolean", "word"),
    "lead_source": ("lead_source", "text", "word"),
    "type": ("deal_type", "text", "word"),
    "email": ("email",),
    "title": ("job_title", "text", "word"),
    "department": ("department", "text", "word"),
    "first_name": ("word", "text"),
    "last_name": ("word", "text"),
}

_DECLARED: dict[FieldType, str] = {
    FieldType.INTEGER: "integer",
    FieldType.NUMBER: "decimal",
    FieldType.BOOLEAN: "boolean",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime",
    FieldType.STRING: "text",
}


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """Country names and ISO codes (pycountry) plus common local names."""
    import pycountry

    names: set[str] = set()
    for c in pycountry.countries:
        names.update({c.alpha_2.lower(), c.alpha_3.lower(), c.name.lower()})
        for attr in ("common_name", "official_name"):
            if hasattr(c, attr):
                names.add(str(getattr(c, attr)).lower())
    names.update(
        [
            "usa",
            "us",
            "uk",
            "england",
            "scotland",
            "deutschland",
            "allemagne",
            "alemania",
            "germania",
            "frankreich",
            "francia",
            "espana",
            "espagne",
            "spanien",
            "italien",
            "italie",
            "italia",
            "niederlande",
            "nederland",
            "pays-bas",
            "holanda",
            "paises",
            "bajos",
            "schweiz",
            "suisse",
            "suiza",
            "svizzera",
            "osterreich",
            "autriche",
            "belgien",
            "belgique",
            "belgica",
            "belgie",
            "royaume-uni",
            "reino",
            "unido",
            "vereinigtes",
            "konigreich",
            "etats-unis",
            "estados",
            "unidos",
            "vereinigte",
            "staaten",
            "brasil",
            "bresil",
            "mexique",
            "mexiko",
            "japon",
            "japan",
            "china",
            "chine",
            "inde",
            "indien",
        ]
    )
    names.update({"united states of america", "great britain", "south korea", "the netherlands"})
    return frozenset(names)


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    """ISO 4217 alphabetic codes."""
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies)


def _is_epoch(text: str) -> bool:
    """Unix time in seconds or milliseconds between 1995 and 2040."""
    if not _INT.match(text) or len(text) not in (10, 13):
        return False
    seconds = int(text) / (1000 if len(text) == 13 else 1)
    return datetime(1995, 1, 1, tzinfo=UTC).timestamp() <= seconds <= datetime(2040, 1, 1, tzinfo=UTC).timestamp()


def _number(text: str) -> float | None:
    """Parse a plain number (1,234.50 or 1.234,50); None if it is not one."""
    if not _NUMBER.match(text):
        return None
    cleaned = text.replace("'", "").replace(" ", "")
    if "," in cleaned and "." in cleaned:
        cleaned = (
            cleaned.replace(",", "")
            if cleaned.rfind(".") > cleaned.rfind(",")
            else cleaned.replace(".", "").replace(",", ".")
        )
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        cleaned = head.replace(",", "") + ("." + tail if len(tail) != 3 else tail)
    try:
        return float(cleaned)
    except ValueError:
        return None


def _vocab_kind(low: str) -> str | None:
    """Match against CRM vocabularies (stage, status, industry, lead source, deal type, department, title)."""
    words = set(re.split(r"[\s/&,-]+", low))
    if low in _STAGE_PHRASES or low.replace(" ", "") in _STAGES or (low in _STAGES and low not in _STATUS):
        return "stage"
    if low in _STATUS:
        return "status"
    if low in _DEAL_TYPE:
        return "deal_type"
    if low in _LEAD_SOURCE or low.replace(" ", "") in _LEAD_SOURCE:
        return "lead_source"
    if low in _INDUSTRY or (len(words) <= 4 and words & _INDUSTRY and not words & _TITLE_WORDS):
        return "industry"
    if low in _DEPARTMENT:
        return "department"
    if words & _TITLE_WORDS:
        return "job_title"
    return None


def value_kind(value: Any) -> str | None:
    """The most specific kind of one sample value, or None for empty values."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, datetime):
        return "datetime"
    text = repr(value) if isinstance(value, int | float) else str(value).strip()
    if not text:
        return None
    low = text.lower()
    if _EMAIL.match(text):
        return "email"
    if _UUID.match(text):
        return "uuid"
    if _OBJECTID.match(text) and not text.isdigit():
        return "object_id"
    if _DATETIME.match(text) or _LOOSE_DATETIME.match(text):
        return "datetime"
    if _DATE.match(text):
        return "date"
    if _is_epoch(text):
        return "epoch"
    if len(text) == 3 and text.isupper() and text in _currencies():
        return "currency"
    if low in _countries():
        return "country"
    if low in _BOOL:
        return "boolean"
    if _PERCENT.match(text):
        return "percent"
    if _SOCIAL.search(text):
        return "social_url"
    if _URL.match(text) and not _NUMBER.match(text):
        return "url"
    if _MONEY_SYM.match(text) and any(ch.isdigit() for ch in text):
        return "money"
    num = _number(text)
    if num is not None:
        if isinstance(value, str) and text[0] == "0" and len(text) >= 4 and text.isdigit():
            return "postal"
        if not float(num).is_integer():
            return "fraction" if 0 <= num <= 1 else ("small_number" if 0 <= num <= 100 else "decimal")
        return "integer"
    if _SFID.match(text) and sum(ch.isdigit() for ch in text) >= 3 and any(ch.isalpha() for ch in text):
        return "sf_id"
    if _CODE_ID.match(text):
        return "code_id"
    if _PHONE.match(text) and sum(ch.isdigit() for ch in text) >= 7:
        return "phone"
    if _POSTAL.match(text):
        return "postal"
    vocab = _vocab_kind(low)
    if vocab is not None:
        return vocab
    if _STREET.search(fold_text(text)):
        return "street"
    if len(text) > 60:
        return "long_text"
    return "word" if " " not in text else "text"


def profile_values(values: Iterable[Any], declared: FieldType = FieldType.UNKNOWN) -> dict[str, float]:
    """Share of each kind among the non-empty sample values (falls back to the declared type)."""
    kinds = [k for k in (value_kind(v) for v in values) if k is not None]
    if not kinds:
        fallback = _DECLARED.get(declared)
        return {fallback: 0.5} if fallback else {}
    share: dict[str, float] = {}
    for kind in kinds:
        share[kind] = share.get(kind, 0.0) + 1.0 / len(kinds)
    # integers between 0 and 100 also count as small numbers (probabilities, percentages)
    if share.get("integer"):
        nums = [_number(str(v).strip()) for v in values if v is not None and str(v).strip()]
        small = [n for n in nums if n is not None and 0 <= n <= 100]
        if nums and len(small) == len(nums):
            share["small_number"] = share.get("small_number", 0.0) + share["integer"]
    return share


def value_evidence(profile: dict[str, float], canonical_field: str) -> tuple[float, float]:
    """(match, conflict): share of values of an expected kind, share of strong kinds that contradict it."""
    expected = EXPECTED.get(canonical_field, ("text",))
    match = min(1.0, sum(profile.get(k, 0.0) for k in expected))
    conflict = sum(v for k, v in profile.items() if k in STRONG_KINDS and k not in expected)
    return match, min(1.0, conflict)
