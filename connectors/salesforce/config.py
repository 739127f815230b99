"""Configuration of a Salesforce connection."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["SalesforceConfig"]


class SalesforceConfig(BaseModel):
    """OAuth2 credentials and what to read; the client-credentials flow needs the org's My Domain URL."""

    model_config = ConfigDict(extra="forbid")

    login_url: str = "https://login.salesforce.com"
    instance_url: str | None = None
    auth_flow: Literal["password", "client_credentials"] = "password"
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr = SecretStr("")
    api_version: str = Field("v61.0", pattern=r"^v[0-9]+\.[0-9]$")
    objects: list[str] = Field(default_factory=lambda: ["Account", "Opportunity", "Contact"], min_length=1)
    max_attempts: int = Field(5, ge=1, description="tries per request on 429/5xx/connection errors")
    backoff_seconds: float = Field(1.0, ge=0, description="base of the exponential backoff with full jitter")
    timeout_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _flow_needs(self) -> SalesforceConfig:
        if self.auth_flow == "password" and (not self.username or self.password is None):
            raise ValueError("the password flow needs username and password")
        return self

    @property
    def token_url(self) -> str:
        """Where to ask for tokens: My Domain for client credentials, the login host for passwords."""
        base = self.instance_url if self.auth_flow == "client_credentials" and self.instance_url else self.login_url
        return f"{base.rstrip('/')}/services/oauth2/token"
