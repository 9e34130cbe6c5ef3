"""Who may do what: bearer tokens (OIDC/JWT), principals scoped to units, and the guards
around them. See docs/security.md.

- :mod:`.settings`   ``AuthSettings`` (``AUTH_*``): issuer, audience, keys, environment
- :mod:`.keys`       the issuer's public keys: a PEM/JWKS file or a JWKS URL, cached
- :mod:`.tokens`     ``build_verifier`` (refuses to start when misconfigured), ``TokenVerifier``
- :mod:`.principal`  ``Principal``: roles, unit scopes, district actions, personal-data view
- :mod:`.http`       FastAPI dependencies: ``require_principal``, ``require_role``...
- :mod:`.records`    ``PersonalDataRead``: every read of personal data in clear, recorded
- :mod:`.hygiene`    ``normalise_digits``, ``allowed_webhook``
- :mod:`.rate_limit` ``RateLimit``: a token bucket per caller
- :mod:`.headers`    ``install_security_headers``
- :mod:`.dev_key`    the local development key that ``msp token`` signs with
"""

from __future__ import annotations

import importlib
from typing import Any

# Each name is imported from its module when first asked for: ``msp token`` and the audit tools
# need the key and the principal, not FastAPI (which the HTTP guards import), and a command
# line tool that takes seconds to show its --help is one nobody reaches for.
_HOME = {
    "AuthSettings": "platform_kit.auth.settings",
    "DISTRICT_ACTIONS": "platform_kit.auth.principal",
    "DevKey": "platform_kit.auth.dev_key",
    "InvalidToken": "platform_kit.auth.tokens",
    "KeyConfigurationError": "platform_kit.auth.keys",
    "PersonalDataRead": "platform_kit.auth.records",
    "Principal": "platform_kit.auth.principal",
    "ROLES": "platform_kit.auth.principal",
    "RateLimit": "platform_kit.auth.rate_limit",
    "TokenVerifier": "platform_kit.auth.tokens",
    "allowed_webhook": "platform_kit.auth.hygiene",
    "build_verifier": "platform_kit.auth.tokens",
    "ensure_unit_scope": "platform_kit.auth.http",
    "install_auth": "platform_kit.auth.http",
    "install_security_headers": "platform_kit.auth.headers",
    "normalise_digits": "platform_kit.auth.hygiene",
    "normalise_id_number": "platform_kit.auth.hygiene",
    "normalise_unit_code": "platform_kit.auth.hygiene",
    "record_personal_read": "platform_kit.auth.records",
    "require_district_action": "platform_kit.auth.http",
    "require_principal": "platform_kit.auth.http",
    "require_role": "platform_kit.auth.http",
    "require_unit_scope": "platform_kit.auth.http",
    "webhook_refusal": "platform_kit.auth.hygiene",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
