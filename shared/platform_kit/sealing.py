"""Seal a small document of personal data with AES-256-GCM, the way the registry seals a
resident's name and ID number: a fresh 96-bit nonce per seal, and associated data that binds
the blob to what it is about (a staff ref, a task id), so that it cannot be passed off as
someone else's. Only the sealed blob (``EncryptedPersonalData``) ever reaches an event, the
store or Kafka; whoever holds the key keeps it out of both."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from platform_kit.contract.common import EncryptedPersonalData


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, key_id: uuid.UUID, about: str, document: dict[str, str | None]) -> EncryptedPersonalData:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(document, ensure_ascii=False).encode(), _aad(key_id, about))
    return EncryptedPersonalData(
        key_id=key_id, nonce=base64.b64encode(nonce).decode(), ciphertext=base64.b64encode(sealed).decode()
    )


def open_sealed(key: bytes, about: str, sealed: EncryptedPersonalData) -> dict[str, str | None]:
    """The document in clear; ValueError (never the content) when the blob was altered or is
    about someone else."""
    try:
        plain = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), _aad(sealed.key_id, about)
        )
    except InvalidTag:
        raise ValueError("personal: the sealed data were altered or belong to someone else") from None
    return json.loads(plain)


def _aad(key_id: uuid.UUID, about: str) -> bytes:
    return key_id.bytes + about.encode()


TASK_KEY_NAMESPACE = uuid.UUID("6f1c9a52-2d4e-4b7a-9c3e-5a8b1d0e7f21")


def department_key(secret: bytes, department: str) -> tuple[uuid.UUID, bytes]:
    """The key (and its id) that seals what a department is sent on ``tasks.<department>``:
    derived from the district's task secret, so the district hands each department its own key
    once and no key table has to be shared."""
    key = hmac.new(secret, f"tasks.{department}".encode(), hashlib.sha256).digest()
    return uuid.uuid5(TASK_KEY_NAMESPACE, department), key
