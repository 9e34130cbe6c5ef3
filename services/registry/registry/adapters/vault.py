"""The key vault: one AES-GCM key per person, and the keyed digest of ID numbers.

A person's name, ID number and phone are sealed with their own 256-bit key (AES-GCM, a fresh
96-bit nonce per seal, the resident id and key id as associated data so a blob cannot be
passed off as someone else's). Events carry only the sealed blob; the keys stay in this
table and never leave the registry. Erasure deletes the key (crypto-shredding): every copy
of the blob — in the event store, on Kafka, in backups of either — is unreadable from then on.

Duplicate registrations are found without keeping ID numbers: the index holds
HMAC-SHA256(service secret, ID number), which cannot be reversed without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from dataclasses import dataclass

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from platform_kit.contract.common import EncryptedPersonalData
from platform_kit.database import checked_schema

from registry.domain.decisions import PersonalData
from registry.domain.errors import AlreadyRecorded

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.personal_keys (
    resident_id uuid        PRIMARY KEY,
    key_id      uuid        NOT NULL UNIQUE,
    key         bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {schema}.identity_index (
    id_digest   bytea PRIMARY KEY,
    resident_id uuid  NOT NULL UNIQUE
);
"""


@dataclass(frozen=True, slots=True)
class PersonKey:
    resident_id: uuid.UUID
    key_id: uuid.UUID
    key: bytes

    def __repr__(self) -> str:
        return f"PersonKey(resident_id={self.resident_id}, key_id={self.key_id})"

    @classmethod
    def generate(cls, resident_id: uuid.UUID) -> PersonKey:
        return cls(resident_id, uuid.uuid4(), AESGCM.generate_key(bit_length=256))

    def _aad(self) -> bytes:
        return self.resident_id.bytes + self.key_id.bytes

    def seal(self, data: PersonalData) -> EncryptedPersonalData:
        document = json.dumps(
            {"name": data.name, "id_number": data.id_number, "phone": data.phone}, ensure_ascii=False
        ).encode()
        nonce = os.urandom(12)
        sealed = AESGCM(self.key).encrypt(nonce, document, self._aad())
        return EncryptedPersonalData(
            key_id=self.key_id, nonce=base64.b64encode(nonce).decode(), ciphertext=base64.b64encode(sealed).decode()
        )

    def open(self, sealed: EncryptedPersonalData) -> PersonalData:
        if sealed.key_id != self.key_id:
            raise ValueError(f"personal: sealed with key {sealed.key_id}, not {self.key_id}")
        try:
            document = AESGCM(self.key).decrypt(
                base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), self._aad()
            )
        except InvalidTag:
            raise ValueError("personal: the sealed data were altered or belong to someone else") from None
        return PersonalData(**json.loads(document))


class KeyVault:
    def __init__(self, pool: asyncpg.Pool, schema: str, identity_secret: bytes) -> None:
        self.pool = pool
        self.schema = checked_schema(schema)
        self._secret = identity_secret

    def digest(self, id_number: str) -> bytes:
        return hmac.new(self._secret, id_number.encode(), hashlib.sha256).digest()

    async def save(self, conn: asyncpg.Connection, keys: list[PersonKey]) -> None:
        await conn.executemany(
            f"INSERT INTO {self.schema}.personal_keys (resident_id, key_id, key) VALUES ($1, $2, $3)",
            [(k.resident_id, k.key_id, k.key) for k in keys],
        )

    async def keys(self, resident_ids: list[uuid.UUID]) -> dict[uuid.UUID, PersonKey]:
        rows = await self.pool.fetch(
            f"SELECT resident_id, key_id, key FROM {self.schema}.personal_keys WHERE resident_id = ANY($1::uuid[])",
            resident_ids,
        )
        return {r["resident_id"]: PersonKey(r["resident_id"], r["key_id"], bytes(r["key"])) for r in rows}

    async def open(self, resident_id: uuid.UUID, sealed: EncryptedPersonalData) -> PersonalData | None:
        """The person's data in clear; None once their key is erased."""
        key = (await self.keys([resident_id])).get(resident_id)
        return key.open(sealed) if key else None

    async def shred(self, conn: asyncpg.Connection, resident_id: uuid.UUID) -> None:
        await conn.execute(f"DELETE FROM {self.schema}.personal_keys WHERE resident_id = $1", resident_id)
        await conn.execute(f"DELETE FROM {self.schema}.identity_index WHERE resident_id = $1", resident_id)

    async def holder(self, digest: bytes) -> uuid.UUID | None:
        return await self.pool.fetchval(
            f"SELECT resident_id FROM {self.schema}.identity_index WHERE id_digest = $1", digest
        )

    async def claim(
        self, conn: asyncpg.Connection, digest: bytes, resident_id: uuid.UUID, *, replacing: uuid.UUID | None
    ) -> None:
        """Make ``resident_id`` the holder of the ID number, if it is free or still held by
        ``replacing`` (a person who left the district and is now registered again)."""
        claimed = await conn.fetchval(
            f"INSERT INTO {self.schema}.identity_index AS i (id_digest, resident_id) VALUES ($1, $2) "
            "ON CONFLICT (id_digest) DO UPDATE SET resident_id = EXCLUDED.resident_id "
            "WHERE i.resident_id = $3 RETURNING resident_id",
            digest, resident_id, replacing,
        )
        if claimed is None:
            holder = await conn.fetchval(
                f"SELECT resident_id FROM {self.schema}.identity_index WHERE id_digest = $1", digest
            )
            raise AlreadyRecorded("id_number", f"is registered already, as resident {holder}", holder)
