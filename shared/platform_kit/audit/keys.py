"""The district's audit signing key (Ed25519).

Production: ``MSP_AUDIT_KEY_FILE`` names a PEM private key (PKCS#8) that only the export's
operator can read; auditors get its public half (``MSP_AUDIT_PUBLIC_KEY_FILE`` or
``--public-key``, PEM). Development and tests: the machine's development key
(:mod:`platform_kit.auth.dev_key`, made on first use) signs, and its public half verifies.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from platform_kit.auth.dev_key import DevKey, public_fingerprint
from platform_kit.auth.settings import default_key_dir

PRIVATE_ENV, PUBLIC_ENV = "MSP_AUDIT_KEY_FILE", "MSP_AUDIT_PUBLIC_KEY_FILE"


def signing_key() -> tuple[Ed25519PrivateKey, str]:
    """The key and where it came from (said in the manifest, never the key itself)."""
    path = os.environ.get(PRIVATE_ENV)
    if path:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{PRIVATE_ENV}={path}: not an Ed25519 private key")
        return key, "district audit key"
    return DevKey.load_or_create(default_key_dir()).private_key, "development key (not for production)"


def verifying_key(path: Path | None) -> Ed25519PublicKey:
    """The public key to trust: the file given, ``$MSP_AUDIT_PUBLIC_KEY_FILE``, else the
    development key's public half (only where that key exists)."""
    chosen = path or (Path(os.environ[PUBLIC_ENV]) if os.environ.get(PUBLIC_ENV) else None)
    if chosen is not None:
        key = serialization.load_pem_public_key(chosen.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{chosen}: not an Ed25519 public key")
        return key
    dev = default_key_dir() / "signing-key.pem"
    if not dev.exists():
        raise ValueError(f"no public key: give --public-key PEM (or {PUBLIC_ENV}); no development key at {dev}")
    return DevKey.load_or_create(dev.parent).public_key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    return public_fingerprint(key)
