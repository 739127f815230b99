"""Salesforce REST transport over httpx: OAuth2 token flows, re-authentication on 401, backoff on 429/5xx."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from connectors.exceptions import TerminalConnectorError, TransientConnectorError
from connectors.salesforce.config import SalesforceConfig

__all__ = ["SalesforceClient"]

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_MAX_DELAY_SECONDS = 60.0


def _error_summary(response: httpx.Response) -> str:
    """Salesforce's own error text: `errorCode: message` items, or the OAuth error pair."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(body, list):
        return "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in body if isinstance(e, dict))
    if isinstance(body, dict) and "error" in body:
        return f"{body['error']}: {body.get('error_description', '')}"
    return f"HTTP {response.status_code}: {response.text[:200]}"


class SalesforceClient:
    """Authenticated JSON calls to one org; numbers are parsed as Decimal so currency stays exact."""

    def __init__(
        self,
        config: SalesforceConfig,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._http = httpx.Client(timeout=config.timeout_seconds, transport=transport)
        self._sleep = sleep
        self._token: str | None = None
        self.instance_url: str | None = config.instance_url

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _token_form(self) -> dict[str, str]:
        config = self.config
        form = {
            "grant_type": config.auth_flow,
            "client_id": config.client_id,
            "client_secret": config.client_secret.get_secret_value(),
        }
        if config.auth_flow == "password":
            assert config.password is not None and config.username is not None
            form["username"] = config.username
            form["password"] = config.password.get_secret_value() + config.security_token.get_secret_value()
        return form

    def authenticate(self) -> None:
        """Get a fresh access token with the configured OAuth2 flow."""
        response = self._send("POST", self.config.token_url, data=self._token_form(), authorized=False)
        if response.status_code != 200:
            raise TerminalConnectorError(
                f"Salesforce authentication failed ({_error_summary(response)}); check the connected app's "
                "client id and secret and, for the password flow, username, password and security token"
            )
        body = response.json()
        self._token = body["access_token"]
        self.instance_url = body.get("instance_url") or self.instance_url
        logger.info("authenticated with Salesforce", extra={"flow": self.config.auth_flow})

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after is not None and retry_after.isdigit():
            return min(float(retry_after), _MAX_DELAY_SECONDS)
        ceiling = min(self.config.backoff_seconds * 2 ** (attempt - 1), _MAX_DELAY_SECONDS)
        return random.uniform(0, ceiling)

    def _send(self, method: str, url: str, *, authorized: bool = True, **kwargs: Any) -> httpx.Response:
        """Send with retries: backoff with full jitter on 429/5xx and connection errors, one re-auth on 401."""
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {self._token}"} if authorized else {}
            response: httpx.Response | None = None
            try:
                response = self._http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 401 and authorized and not reauthenticated:
                    logger.info("Salesforce session invalid; re-authenticating", extra={"url": url})
                    reauthenticated = True
                    self.authenticate()
                    attempt -= 1
                    continue
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                problem = _error_summary(response)
            if attempt >= self.config.max_attempts:
                raise TransientConnectorError(f"Salesforce {method} {url} failed {attempt} times; last: {problem}")
            delay = self._delay(attempt, response)
            logger.warning(
                "retrying Salesforce request",
                extra={"url": url, "attempt": attempt, "delay": delay, "problem": problem},
            )
            self._sleep(delay)

    def get(self, path_or_url: str, params: dict[str, str] | None = None) -> Any:
        """GET a data API path (relative to the instance) and return its JSON, numbers as Decimal."""
        if self._token is None:
            self.authenticate()
        url = path_or_url if path_or_url.startswith("http") else f"{self.instance_url}{path_or_url}"
        response = self._send("GET", url, params=params)
        if response.status_code == 200:
            return json.loads(response.text, parse_float=Decimal)
        summary = _error_summary(response)
        if response.status_code == 401:
            raise TerminalConnectorError(f"Salesforce rejected a fresh session: {summary}")
        if response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in summary:
            raise TransientConnectorError(f"Salesforce API limit reached: {summary}")
        raise TerminalConnectorError(f"Salesforce GET {path_or_url} failed: {summary}")
