"""How a service trusts tokens: whose keys, which issuer and audience, which algorithms.

Every field is an environment variable ``AUTH_<NAME>`` (``AUTH_JWKS_URL``,
``AUTH_PUBLIC_KEY_FILE``...). The default environment is production, so a service that was
not told otherwise refuses what only a developer's machine should accept.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Algorithm = Literal["RS256", "ES256", "EdDSA"]
# Asymmetric only: a verifier holds public keys, and an HS* token "signed" with a public key
# (the classic algorithm confusion) or an unsigned ``none`` token must never pass.
ALLOWED_ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "ES256", "EdDSA")

DEV_ISSUER = "msp-dev"
DEFAULT_AUDIENCE = "migrant-services"


def default_key_dir() -> Path:
    """Where ``msp token`` keeps the development key: ``$MSP_KEY_DIR``, else the local
    stack's ``$STACK_DIR/keys``, else ``.stack/keys``."""
    if os.environ.get("MSP_KEY_DIR"):
        return Path(os.environ["MSP_KEY_DIR"])
    if os.environ.get("STACK_DIR"):
        return Path(os.environ["STACK_DIR"]) / "keys"
    return Path(".stack/keys")


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTH_", env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "production"] = Field(
        "production", description="development accepts the local key of `msp token`; production refuses it"
    )
    issuer: str = Field(DEV_ISSUER, min_length=1, description="the `iss` every token must carry")
    audience: str = Field(DEFAULT_AUDIENCE, min_length=1, description="the `aud` every token must carry")
    jwks_url: str | None = Field(None, description="the identity provider's JWKS endpoint")
    public_key_file: Path | None = Field(None, description="a PEM public key or a JWKS JSON file")
    algorithms: tuple[Algorithm, ...] = ALLOWED_ALGORITHMS
    leeway_seconds: float = Field(30.0, ge=0, le=300, description="clock skew tolerated on exp, nbf and iat")
    jwks_cache_seconds: float = Field(300.0, gt=0, description="how long fetched keys are trusted before a refetch")
    jwks_min_refetch_seconds: float = Field(
        10.0, ge=0, description="an unknown kid refetches the JWKS at most this often (a flood of made-up kids costs one fetch)"
    )
    jwks_timeout_seconds: float = Field(3.0, gt=0)
    role_claim: str = Field("role", description="claim holding the role; dotted for nested claims (realm_access.msp_role)")
    units_claim: str = Field("units", description="claim holding the unit codes (or the department name)")
    dev_key_dir: Path = Field(
        default_factory=default_key_dir, validation_alias=AliasChoices("MSP_KEY_DIR", "AUTH_DEV_KEY_DIR")
    )

    @field_validator("algorithms", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value
