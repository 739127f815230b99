"""Web sites to bare lower-case domains and e-mail addresses to lower-cased, validated addresses.

A website keeps only its host: scheme, credentials, leading "www." labels, port, path, query, fragment and a
trailing dot are dropped. Internationalised labels stay in Unicode (lower-cased) and "xn--" labels stay as
written; both must be valid IDNA. IP addresses, single labels and hosts with invalid labels are rejected as
"invalid_website".
"""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from schemas.normalize.errors import NormalisationError
from schemas.normalize.text import is_null_like

__all__ = ["normalize_email", "normalize_website"]

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
_MAX_DOMAIN = 253


def _host(text: str) -> str:
    """Return the host part of a URL or bare domain (scheme, credentials, port, path dropped)."""
    scheme = _SCHEME.match(text)
    rest = text[scheme.end() :] if scheme else text.removeprefix("//")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host, _, port = authority.rpartition("@")[2].partition(":")
    if port and not (port.isascii() and port.isdigit()):
        raise ValueError("bad port")
    return host


def _valid_label(label: str) -> bool:
    """Return True for an LDH label or a Unicode label that encodes to one under IDNA."""
    if label.isascii():
        return bool(_LDH_LABEL.fullmatch(label))
    try:
        encoded = label.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(_LDH_LABEL.fullmatch(encoded))


def normalize_website(value: object, *, field: str | None = None) -> str | None:
    """Normalise a URL or domain to a bare lower-case domain ("https://WWW.Acme.com/about?x=1" -> "acme.com")."""
    if is_null_like(value):
        return None
    if not isinstance(value, str):
        raise NormalisationError(field, value, "invalid_website", "expected a URL or domain")
    text = value.strip()
    try:
        host = unicodedata.normalize("NFC", _host(text)).lower()
    except ValueError as exc:
        raise NormalisationError(field, value, "invalid_website", "malformed URL") from exc
    labels = host.removesuffix(".").split(".")
    while labels[0] == "www" and len(labels) > 2:
        labels.pop(0)
    domain = ".".join(labels)
    if any(ch.isspace() for ch in text) or len(labels) < 2 or labels[-1].isdigit() or len(domain) > _MAX_DOMAIN:
        raise NormalisationError(field, value, "invalid_website", f"{text!r} is not a domain")
    if not all(_valid_label(label) for label in labels):
        raise NormalisationError(field, value, "invalid_website", f"{text!r} has an invalid domain label")
    return domain


def normalize_email(value: object, *, field: str | None = None) -> str | None:
    """Validate an e-mail address (syntax only, no DNS) and lower-case it; a "mailto:" prefix is dropped."""
    if is_null_like(value):
        return None
    if not isinstance(value, str):
        raise NormalisationError(field, value, "invalid_email", "expected an e-mail address")
    text = value.strip()
    if text[:7].casefold() == "mailto:":
        text = text[7:]
    try:
        normalized = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise NormalisationError(field, value, "invalid_email", str(exc)) from exc
    return unicodedata.normalize("NFC", normalized.lower())
