"""Field-name normalisation: split camelCase/snake/dot paths, strip CRM system affixes, expand abbreviations."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_AFFIX_SUFFIXES = ("__c", "__pc", "__r", "__s", "_value", "_c")
_AFFIX_PREFIXES = ("hs_", "x_", "c_", "cf_", "custom_", "new_", "msdyn_", "zc_", "ext_", "fld_", "u_")
_ADDRESS_SLOT = re.compile(r"^address[12]_")
_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_DIGIT_EDGE = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_SPLIT = re.compile(r"[^0-9a-z]+")

# Common CRM / spreadsheet abbreviations -> the words they stand for (general vocabulary, not per-table answers).
ABBREVIATIONS: dict[str, str] = {
    "acct": "account",
    "acc": "account",
    "accnt": "account",
    "amt": "amount",
    "ann": "annual",
    "emp": "employee",
    "emps": "employees",
    "empl": "employee",
    "num": "number",
    "no": "number",
    "nr": "number",
    "nbr": "number",
    "nmbr": "number",
    "qty": "quantity",
    "desc": "description",
    "descr": "description",
    "addr": "address",
    "st": "street",
    "str": "street",
    "zip": "zip code",
    "zipcode": "zip code",
    "postcode": "postal code",
    "tel": "telephone",
    "ph": "phone",
    "phn": "phone",
    "mob": "mobile",
    "cell": "mobile",
    "cust": "customer",
    "org": "organization",
    "rev": "revenue",
    "prob": "probability",
    "dt": "date",
    "ts": "timestamp",
    "cnt": "count",
    "yr": "year",
    "tot": "total",
    "co": "company",
    "cty": "city",
    "ctry": "country",
    "cntry": "country",
    "pct": "percent",
    "perc": "percent",
    "curr": "currency",
    "ccy": "currency",
    "cur": "currency",
    "dept": "department",
    "dpt": "department",
    "fname": "first name",
    "lname": "last name",
    "www": "website",
    "url": "url",
    "hq": "headquarters",
    "opp": "opportunity",
    "oppty": "opportunity",
    "opty": "opportunity",
    "src": "source",
    "mod": "modified",
    "upd": "updated",
    "crt": "created",
    "est": "estimated",
    "exp": "expected",
    "mgr": "manager",
    "info": "information",
    "val": "value",
    "ind": "industry",
    "indus": "industry",
    "sz": "size",
    "tz": "timezone",
    "stg": "stage",
    "prov": "province",
    "reg": "region",
    "mail": "email",
    "cc": "country code",
}

# Domain vocabulary used to segment run-together lower-case names such as ``numberofemployees``.
_SEGMENT_WORDS = [
    "account",
    "accounts",
    "address",
    "amount",
    "annual",
    "billing",
    "business",
    "city",
    "close",
    "closed",
    "code",
    "company",
    "contact",
    "country",
    "created",
    "currency",
    "customer",
    "date",
    "deal",
    "department",
    "description",
    "domain",
    "email",
    "employee",
    "employees",
    "estimated",
    "expected",
    "first",
    "forecast",
    "full",
    "given",
    "headquarters",
    "id",
    "industry",
    "job",
    "last",
    "lead",
    "mailing",
    "mobile",
    "modified",
    "name",
    "number",
    "of",
    "opportunity",
    "owner",
    "parent",
    "phone",
    "postal",
    "probability",
    "province",
    "rating",
    "region",
    "revenue",
    "sales",
    "shipping",
    "source",
    "stage",
    "state",
    "status",
    "street",
    "surname",
    "telephone",
    "title",
    "type",
    "updated",
    "value",
    "web",
    "website",
    "zip",
    "time",
    "stamp",
    "on",
    "by",
    "record",
    "user",
    "rep",
    "representative",
    "main",
    "office",
    "work",
    "home",
    "cell",
    "primary",
    "secondary",
    "line",
    "fax",
    "size",
    "count",
    "total",
    "annual",
    "last",
    "first",
    "middle",
    "family",
    "legal",
    "display",
    "close",
    "won",
    "lost",
    "open",
    "pipeline",
    "category",
    "sector",
    "vertical",
    "created",
    "modified",
    "update",
    "create",
    "organisation",
    "organization",
    "person",
    "people",
    "staff",
    "headcount",
    "turnover",
    "income",
    "sales",
    "deal",
    "deals",
    "probability",
    "percent",
    "country",
    "territory",
    "district",
    "county",
    "locality",
    "town",
    "provider",
    "origin",
    "channel",
    "campaign",
    "kind",
    "class",
    "description",
    "notes",
    "summary",
    "about",
    "bio",
    "unit",
    "division",
    "team",
    "role",
    "position",
    "designation",
    "salutation",
    "prefix",
    "suffix",
    "nick",
    "birth",
    "birthday",
    "timestamp",
    "datetime",
    "since",
    "from",
    "to",
    "at",
    "in",
    "linkedin",
    "twitter",
    "facebook",
    "social",
    "url",
    "site",
    "homepage",
    "link",
    "tax",
    "vat",
    "rating",
    "tier",
    "segment",
    "priority",
    "score",
    "health",
    "lifecycle",
]


def fold(text: str) -> str:
    """Lower-case and strip accents (Société -> societe, Straße -> strasse)."""
    text = text.replace("ß", "ss").replace("ẞ", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _strip_affixes(part: str) -> str:
    """Remove system prefixes/suffixes (Salesforce ``__c``, HubSpot ``hs_``, Dynamics ``address1_`` ...)."""
    low = part.lower()
    for suffix in _AFFIX_SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix) + 1:
            part, low = part[: -len(suffix)], low[: -len(suffix)]
            break
    if _ADDRESS_SLOT.match(low):
        slot = "address_" if low.startswith("address1_") else "other_address_"
        return slot + part[len("address1_") :]
    for prefix in _AFFIX_PREFIXES:
        if low.startswith(prefix) and len(low) > len(prefix) + 1:
            return part[len(prefix) :]
    return part.lstrip("_")


@lru_cache(maxsize=4096)
def _segment(word: str) -> tuple[str, ...]:
    """Split a run-together word into known vocabulary words (DP word break); keep it whole if impossible."""
    if len(word) < 6 or word in _VOCAB:
        return (word,)
    n = len(word)
    best: list[tuple[int, tuple[str, ...]] | None] = [None] * (n + 1)
    best[0] = (0, ())
    for end in range(1, n + 1):
        for start in range(max(0, end - 16), end):
            prev = best[start]
            piece = word[start:end]
            if prev is None or piece not in _VOCAB:
                continue
            cand = (prev[0] + 1, (*prev[1], piece))
            cur = best[end]
            if cur is None or cand[0] < cur[0]:
                best[end] = cand
    found = best[n]
    return found[1] if found is not None else (word,)


def _vocabulary() -> frozenset[str]:
    """Words the segmenter knows: the domain list, abbreviation expansions and alias-lexicon words."""
    from autonomos_pipeline.dcl.mapping.lexicon import lexicon_words

    words = set(_SEGMENT_WORDS) | lexicon_words()
    for expansion in ABBREVIATIONS.values():
        words.update(expansion.split())
    return frozenset(w for w in words if len(w) >= 2)


_VOCAB: frozenset[str] = frozenset()


def raw_tokens(name: str) -> list[str]:
    """Split a field name or dot path into lower-case, accent-free tokens after affix stripping."""
    global _VOCAB
    if not _VOCAB:
        _VOCAB = _vocabulary()
    parts = [p for p in re.split(r"[./\\]", name.strip()) if p][-2:]  # dot paths: the leaf and its parent
    tokens: list[str] = []
    for part in parts:
        part = _strip_affixes(part)
        part = _CAMEL_2.sub(r"\1 \2", _CAMEL_1.sub(r"\1 \2", part))
        folded = fold(part)
        folded = re.sub(r"\be[\s_-]?mail\b", "email", folded)
        folded = _DIGIT_EDGE.sub(" ", folded)
        for tok in _SPLIT.split(folded):
            if tok:
                tokens.extend(_segment(tok))
    return tokens


@lru_cache(maxsize=8192)
def normalise(name: str) -> str:
    """Canonical text of a field name: tokens with abbreviations expanded, joined by single spaces."""
    out: list[str] = []
    for tok in raw_tokens(name):
        out.extend(ABBREVIATIONS.get(tok, tok).split())
    return " ".join(out)
