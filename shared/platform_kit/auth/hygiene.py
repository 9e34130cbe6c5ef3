"""What arrives from outside is normalised before it is trusted: digits and webhook addresses.

Digits: a village manager's keyboard may type full-width digits (３７０４０２); NFKC folds them
to ASCII (and the other compatibility forms of 0-9: superscripts, circled ①). Other scripts' digits (Arabic-Indic ٣٧٠, Devanagari...) are *refused*, not
translated: no unit code or ID number is written that way, and Python's ``int()`` and
``str.isdigit()`` would quietly accept them, so two spellings of one code could slip past a
uniqueness check.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

from platform_kit.auth.keys import is_loopback

ASCII_DIGITS = frozenset("0123456789")


def normalise_digits(text: str, *, length: int | None = None, final_x: bool = False) -> str:
    """``text`` as ASCII digits (after NFKC and trimming), or ``ValueError`` saying why.

    ``final_x`` lets the last character be the check character X of an 18-digit ID number
    (a lower-case or full-width x becomes X). Use it as a pydantic ``AfterValidator``."""
    if not isinstance(text, str):
        raise ValueError("must be text made of digits")
    folded = unicodedata.normalize("NFKC", text).strip()
    body, last = (folded[:-1], folded[-1:].upper()) if final_x and folded[-1:] in ("x", "X") else (folded, "")
    if not body or not set(body) <= ASCII_DIGITS:
        raise ValueError("must be digits 0-9 (full-width digits are accepted; other scripts' digits are not)")
    result = body + last
    if length is not None and len(result) != length:
        raise ValueError(f"must be {length} digits")
    return result


def normalise_unit_code(text: str) -> str:
    return normalise_digits(text, length=12)


def normalise_id_number(text: str) -> str:
    """The 18-character resident ID number's shape (its check digit is the registry's to test)."""
    return normalise_digits(text, length=18, final_x=True)


def webhook_refusal(url: str, allowed_hosts: Iterable[str], *, environment: str = "production") -> str | None:
    """Why ``url`` may not receive webhooks, or None when it may.

    https only (plain http to a loopback host, in development); the host must be on the
    list, exactly (an IP address only when the list names that address); no user:password@."""
    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
        return "is not a plain URL"
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        return "is not a valid URL"
    if not host:
        return "names no host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not carry a user name or password"
    host = host.rstrip(".")
    allowed = {entry.strip().lower().rstrip(".") for entry in allowed_hosts if entry.strip()}
    if host not in allowed:
        return "host is not on the allow-list" + (" (IP addresses must be listed as such)" if _is_ip(host) else "")
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and environment == "development" and is_loopback(host):
        return None
    return "must be https"


def allowed_webhook(url: str, allowed_hosts: Iterable[str], *, environment: str = "production") -> bool:
    return webhook_refusal(url, allowed_hosts, environment=environment) is None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
