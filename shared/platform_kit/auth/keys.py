"""The issuer's public keys: from a file (PEM or JWKS) or from its JWKS URL, cached.

A key is only ever used with the one algorithm its type allows (an RSA key with RS256, a
P-256 key with ES256, an Ed25519 key with EdDSA), so a token cannot choose how it is checked.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from platform_kit.auth.dev_key import DEV_KID_PREFIX, public_fingerprint


class KeyConfigurationError(RuntimeError):
    """The service cannot know whom to trust: it must not start."""


@dataclass(frozen=True)
class VerificationKey:
    kid: str | None
    algorithm: str
    key: Any

    @property
    def fingerprint(self) -> str:
        return public_fingerprint(self.key)

    @property
    def is_development(self) -> bool:
        return (self.kid or "").startswith(DEV_KID_PREFIX)


def algorithm_for(key: Any) -> str | None:
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256" if key.key_size >= 2048 else None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ES256" if isinstance(key.curve, ec.SECP256R1) else None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    return None


def keys_from_jwks(document: dict[str, Any], *, source: str) -> list[VerificationKey]:
    """The signing keys of a JWKS that this platform can use; symmetric and odd keys are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyConfigurationError(f"{source}: not a JWKS (an object with a 'keys' list)")
    keys = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP") or entry.get("use", "sig") != "sig":
            continue
        if "d" in entry:
            raise KeyConfigurationError(f"{source}: holds a private key; a service needs only the public half")
        try:
            jwk = jwt.PyJWK.from_dict(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        algorithm = algorithm_for(jwk.key)
        if algorithm is None or entry.get("alg", algorithm) != algorithm:
            continue
        keys.append(VerificationKey(entry.get("kid"), algorithm, jwk.key))
    return keys


def keys_from_file(path: Path) -> list[VerificationKey]:
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise KeyConfigurationError(f"AUTH_PUBLIC_KEY_FILE {path}: cannot be read ({error.strerror})") from None
    if raw.lstrip().startswith(b"{"):
        try:
            document = json.loads(raw)
        except ValueError:
            raise KeyConfigurationError(f"AUTH_PUBLIC_KEY_FILE {path}: looks like JSON but does not parse") from None
        keys = keys_from_jwks(document, source=f"AUTH_PUBLIC_KEY_FILE {path}")
    else:
        if b"PRIVATE KEY" in raw:
            raise KeyConfigurationError(f"AUTH_PUBLIC_KEY_FILE {path}: is a private key; give the service the public key")
        try:
            key = serialization.load_pem_public_key(raw)
        except ValueError:
            raise KeyConfigurationError(f"AUTH_PUBLIC_KEY_FILE {path}: neither a PEM public key nor a JWKS") from None
        algorithm = algorithm_for(key)
        if algorithm is None:
            raise KeyConfigurationError(f"AUTH_PUBLIC_KEY_FILE {path}: use RSA (2048+), P-256 or Ed25519")
        keys = [VerificationKey(None, algorithm, key)]
    if not keys:
        raise KeyConfigurationError(f"AUTH_PUBLIC_KEY_FILE {path}: holds no RS256, ES256 or EdDSA signing key")
    return keys


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Fetch = Callable[[str, float], bytes]


def fetch_url(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (scheme checked in JwksSource)
        return answer.read(1_000_000)


class StaticKeys:
    def __init__(self, keys: Sequence[VerificationKey]) -> None:
        self.keys = list(keys)

    def find(self, kid: str | None) -> list[VerificationKey]:
        return [key for key in self.keys if kid is None or key.kid == kid]


class JwksSource:
    """The identity provider's keys, fetched on first need and kept ``cache_seconds``.

    A token naming a key id we have not seen refetches at once (the provider rotated its
    keys), but no more often than ``min_refetch_seconds``."""

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 300.0,
        min_refetch_seconds: float = 10.0,
        timeout_seconds: float = 3.0,
        fetch: Fetch = fetch_url,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.cache_seconds, self.min_refetch_seconds = url, cache_seconds, min_refetch_seconds
        self.timeout_seconds, self._fetch, self._clock = timeout_seconds, fetch, clock
        self._keys: list[VerificationKey] = []
        self._fetched_at: float | None = None
        self._failed_at = float("-inf")
        self._lock = threading.Lock()

    def find(self, kid: str | None) -> list[VerificationKey]:
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self.cache_seconds:
                self._refresh(now)
            found = [key for key in self._keys if kid is None or key.kid == kid]
            if not found and kid is not None and self._may_refetch(now):
                self._refresh(now)
                found = [key for key in self._keys if key.kid == kid]
            return found

    def _may_refetch(self, now: float) -> bool:
        last = max(self._fetched_at or float("-inf"), self._failed_at)
        return now - last >= self.min_refetch_seconds

    def _refresh(self, now: float) -> None:
        if now - self._failed_at < self.min_refetch_seconds:
            if not self._keys:
                raise KeyUnavailable("the identity provider's keys could not be fetched a moment ago")
            return
        try:
            document = json.loads(self._fetch(self.url, self.timeout_seconds))
            keys = keys_from_jwks(document, source=f"AUTH_JWKS_URL {self.url}")
        except Exception as error:
            # A provider that is briefly down must not sign everybody out: keep the keys we
            # had, and ask again only after min_refetch_seconds.
            self._failed_at = now
            if not self._keys:
                raise KeyUnavailable(f"the identity provider's keys cannot be fetched ({type(error).__name__})") from error
            return
        self._keys, self._fetched_at = keys, now


class KeyUnavailable(RuntimeError):
    """The JWKS could not be fetched and no earlier copy is at hand."""


def check_jwks_url(url: str, *, production: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback(parts.hostname) and not production:
        return
    raise KeyConfigurationError(
        f"AUTH_JWKS_URL {url}: must be https (plain http only to a loopback address, and only in development)"
    )

