"""The development signing key: made on first use, kept on this machine, never for production.

``msp token`` signs with it; a service in development trusts its public half, written beside
it as a JWKS (``AUTH_PUBLIC_KEY_FILE=<dir>/jwks.json``). Its key id starts with
:data:`DEV_KID_PREFIX`, which is how a production service recognises and refuses it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from platform_kit.auth.settings import DEFAULT_AUDIENCE, DEV_ISSUER

DEV_KID_PREFIX = "msp-dev-"
PRIVATE_KEY_FILE = "signing-key.pem"
JWKS_FILE = "jwks.json"


def public_fingerprint(key: Any) -> str:
    """A stable name for a public key: SHA-256 of its DER SubjectPublicKeyInfo, hex."""
    from cryptography.hazmat.primitives import hashes

    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()


@dataclass(frozen=True)
class DevKey:
    private_key: Ed25519PrivateKey
    directory: Path

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def kid(self) -> str:
        return DEV_KID_PREFIX + public_fingerprint(self.public_key)[:16]

    @property
    def jwks_path(self) -> Path:
        return self.directory / JWKS_FILE

    def jwks(self) -> dict[str, Any]:
        jwk = OKPAlgorithm.to_jwk(self.public_key, as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def mint(
        self,
        claims: dict[str, Any],
        *,
        ttl_seconds: int,
        issuer: str = DEV_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        now: float | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        body = {"iss": issuer, "aud": audience, "iat": issued, "nbf": issued, "exp": issued + ttl_seconds,
                "jti": str(uuid.uuid4()), **claims}
        return jwt.encode(body, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})

    @classmethod
    def load_or_create(cls, directory: Path) -> DevKey:
        """The key in ``directory``, made there first if missing (private key 0600, directory
        0700). Two processes starting at once agree on one key: the file appears atomically."""
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = directory / PRIVATE_KEY_FILE
        if not path.exists():
            _publish_new_key(path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key; delete it to make a new development key")
        dev = cls(key, directory)
        _write_if_changed(dev.jwks_path, json.dumps(dev.jwks(), indent=2) + "\n")
        return dev


def _publish_new_key(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    draft = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        with contextlib.suppress(FileExistsError):  # another process won: its key is the key
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    draft = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    draft.write_text(text, encoding="utf-8")
    os.replace(draft, path)
