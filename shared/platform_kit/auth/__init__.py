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

from platform_kit.auth.dev_key import DevKey
from platform_kit.auth.headers import install_security_headers
from platform_kit.auth.hygiene import (
    allowed_webhook,
    normalise_digits,
    normalise_id_number,
    normalise_unit_code,
    webhook_refusal,
)
from platform_kit.auth.http import (
    ensure_unit_scope,
    install_auth,
    require_district_action,
    require_principal,
    require_role,
    require_unit_scope,
)
from platform_kit.auth.keys import KeyConfigurationError
from platform_kit.auth.principal import DISTRICT_ACTIONS, ROLES, Principal
from platform_kit.auth.rate_limit import RateLimit
from platform_kit.auth.records import PersonalDataRead, record_personal_read
from platform_kit.auth.settings import AuthSettings
from platform_kit.auth.tokens import InvalidToken, TokenVerifier, build_verifier

__all__ = [
    "DISTRICT_ACTIONS",
    "ROLES",
    "AuthSettings",
    "DevKey",
    "InvalidToken",
    "KeyConfigurationError",
    "PersonalDataRead",
    "Principal",
    "RateLimit",
    "TokenVerifier",
    "allowed_webhook",
    "build_verifier",
    "ensure_unit_scope",
    "install_auth",
    "install_security_headers",
    "normalise_digits",
    "normalise_id_number",
    "normalise_unit_code",
    "record_personal_read",
    "require_district_action",
    "require_principal",
    "require_role",
    "require_unit_scope",
    "webhook_refusal",
]
