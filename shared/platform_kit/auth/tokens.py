"""Checking a bearer token: signature by the issuer's key, issuer, audience, time, claims.

:func:`build_verifier` is called when the service starts, so a production service without
keys, or with the development key, stops there with the reason, not at the first request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
from pydantic import ValidationError

from platform_kit.auth.dev_key import JWKS_FILE, DevKey
from platform_kit.auth.keys import (
    JwksSource,
    KeyConfigurationError,
    KeyUnavailable,
    StaticKeys,
    VerificationKey,
    check_jwks_url,
    keys_from_file,
)
from platform_kit.auth.principal import Principal
from platform_kit.auth.settings import DEV_ISSUER, AuthSettings


class InvalidToken(Exception):
    """The token proves nothing; ``reason`` says why in words safe to send back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenVerifier:
    def __init__(self, settings: AuthSettings, keys: StaticKeys | JwksSource) -> None:
        self.settings, self.keys = settings, keys
        self.production = settings.environment == "production"

    def verify(self, token: str) -> Principal:
        claims = self.claims(token)
        try:
            return Principal(
                sub=claims["sub"], role=_claim(claims, self.settings.role_claim), units=_units(claims, self.settings.units_claim)
            )
        except (ValidationError, TypeError, KeyError) as error:
            raise InvalidToken(f"the token's role and units do not fit ({_first_reason(error)})") from None

    def claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("not a JSON Web Token") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in self.settings.algorithms:
            raise InvalidToken(f"algorithm {str(algorithm)[:20]!r} is not accepted (only {', '.join(self.settings.algorithms)})")
        key = self._key(kid if isinstance(kid, str) else None, algorithm)
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token is from another issuer") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token is meant for another audience") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"the token lacks the {error.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not match") from None
        except jwt.PyJWTError:
            raise InvalidToken("the token cannot be verified") from None

    def _key(self, kid: str | None, algorithm: str) -> VerificationKey:
        try:
            candidates = [key for key in self.keys.find(kid) if key.algorithm == algorithm]
        except KeyUnavailable as error:
            raise InvalidToken(str(error)) from None
        if self.production:
            candidates = [key for key in candidates if not key.is_development]
        if len(candidates) != 1:
            raise InvalidToken("the token names no key of its issuer" if not candidates else "the token must name its key (kid)")
        return candidates[0]


def build_verifier(settings: AuthSettings | None = None) -> TokenVerifier:
    """The verifier the settings describe; raises :class:`KeyConfigurationError` (the service
    must not start) when production would trust nobody, or the development key."""
    settings = settings or AuthSettings()
    production = settings.environment == "production"
    if settings.jwks_url and settings.public_key_file:
        raise KeyConfigurationError("set AUTH_JWKS_URL or AUTH_PUBLIC_KEY_FILE, not both")
    if production and settings.issuer == DEV_ISSUER:
        raise KeyConfigurationError(
            f"AUTH_ISSUER is the development issuer {DEV_ISSUER!r}; in production name the district's identity provider"
        )
    if settings.jwks_url:
        check_jwks_url(settings.jwks_url, production=production)
        source: StaticKeys | JwksSource = JwksSource(
            settings.jwks_url,
            cache_seconds=settings.jwks_cache_seconds,
            min_refetch_seconds=settings.jwks_min_refetch_seconds,
            timeout_seconds=settings.jwks_timeout_seconds,
        )
    elif settings.public_key_file:
        source = StaticKeys(keys_from_file(settings.public_key_file))
    elif production:
        raise KeyConfigurationError(
            "no keys to verify tokens with: set AUTH_JWKS_URL (the identity provider's JWKS) or AUTH_PUBLIC_KEY_FILE"
        )
    else:
        # Development without configuration trusts the local key of `msp token` (made if missing).
        source = StaticKeys(keys_from_file(DevKey.load_or_create(settings.dev_key_dir).jwks_path))
    if production and isinstance(source, StaticKeys):
        _refuse_development_keys(source, settings)
    return TokenVerifier(settings, source)


def _refuse_development_keys(source: StaticKeys, settings: AuthSettings) -> None:
    dev_jwks = Path(settings.dev_key_dir) / JWKS_FILE
    dev_prints = {key.fingerprint for key in keys_from_file(dev_jwks)} if dev_jwks.exists() else set()
    for key in source.keys:
        if key.is_development or key.fingerprint in dev_prints:
            raise KeyConfigurationError(
                f"AUTH_PUBLIC_KEY_FILE {settings.public_key_file} holds the development key of `msp token` "
                f"({dev_jwks}); production trusts only the district's identity provider"
            )


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def _units(claims: dict[str, Any], path: str) -> tuple[str, ...]:
    try:
        value = _claim(claims, path)
    except KeyError:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise TypeError(f"{path} is a list of strings")


def _first_reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} claim"
    return str(error)

