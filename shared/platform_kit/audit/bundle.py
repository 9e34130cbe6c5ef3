"""An audit bundle: a zip of files, a manifest of their SHA-256, and an Ed25519 signature of
the manifest. Checked offline: the signature (with the key the auditor trusts), then each
file's hash, then whatever the content itself proves (see ``msp audit verify-bundle``).

    manifest.json      {"format": 1, "created_at", "signed_by": {"fingerprint", "kind"}, "files": {name: sha256}}
    manifest.sig       the Ed25519 signature of manifest.json's bytes, raw (64 bytes)
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from platform_kit.audit.keys import fingerprint

MANIFEST, SIGNATURE, FORMAT = "manifest.json", "manifest.sig", 1


class BundleRefused(Exception):
    """The bundle is not what was signed (or not a bundle): the reason names the file."""


def write(path: Path, files: Mapping[str, bytes], key: Ed25519PrivateKey, key_kind: str) -> dict:
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "signed_by": {"fingerprint": fingerprint(key.public_key()), "kind": key_kind},
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    draft = path.with_name(f".{path.name}.partial")
    draft.write_bytes(_archive({**files, MANIFEST: body, SIGNATURE: key.sign(body)}))
    draft.replace(path)  # a bundle appears whole or not at all
    return manifest


def _archive(files: Mapping[str, bytes]) -> bytes:
    """The zip's bytes, a function of the files alone: stored (not compressed: compressors
    differ between versions), fixed dates, fixed order. So the verifier can rebuild the
    archive from the checked files and compare every byte, headers included."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in [*sorted(n for n in files if n not in (MANIFEST, SIGNATURE)), MANIFEST, SIGNATURE]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return out.getvalue()


@dataclass(frozen=True)
class Opened:
    manifest: dict
    files: dict[str, bytes]


def open_checked(path: Path, key: Ed25519PublicKey) -> Opened:
    """The bundle's files, once the signature and every hash check out; BundleRefused if not."""
    try:
        raw = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(raw)) as bundle:
            contents = {info.filename: bundle.read(info) for info in bundle.infolist()}
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise BundleRefused(f"{path}: not a readable bundle ({error})") from None
    except Exception as error:  # a corrupted member (bad CRC, bad compressed data)
        raise BundleRefused(f"{path}: damaged ({type(error).__name__}: {error})") from None
    body, signature = contents.pop(MANIFEST, None), contents.pop(SIGNATURE, None)
    if body is None or signature is None:
        raise BundleRefused(f"{MANIFEST} or {SIGNATURE} is missing")
    try:
        key.verify(signature, body)
    except InvalidSignature:
        raise BundleRefused(f"{SIGNATURE}: the manifest was not signed by the trusted key {fingerprint(key)[:16]}…") from None
    manifest = json.loads(body)
    listed = manifest.get("files", {})
    for name in sorted(set(listed) | set(contents)):
        if name not in contents:
            raise BundleRefused(f"{name}: listed in the manifest, missing from the bundle")
        if name not in listed:
            raise BundleRefused(f"{name}: in the bundle, not in the signed manifest")
        if hashlib.sha256(contents[name]).hexdigest() != listed[name]:
            raise BundleRefused(f"{name}: its SHA-256 is not the one signed")
    if _archive({**contents, MANIFEST: body, SIGNATURE: signature}) != raw:
        raise BundleRefused("the archive's own bytes (headers, dates, padding) differ from the signed files' archive")
    return Opened(manifest, contents)
