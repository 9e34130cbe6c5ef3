"""FastAPI dependencies: who is calling, and may they.

:func:`install_auth` builds the verifier when the app is made (so a misconfigured production
service refuses to start) and keeps it on ``app.state.auth``. Then, on a route::

    @router.get("/units/{unit_code}/residents")
    def residents(unit_code: str, caller: Principal = Depends(require_unit_scope("unit_code"))): ...

Only the ``Authorization: Bearer`` header is read, never a cookie or the query string, so a
form posted from another site carries no credentials (no CSRF by construction). 401 and 403
are raised as ``HTTPException``; the kit's problem handler answers them as problems.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from platform_kit.auth.hygiene import normalise_unit_code
from platform_kit.auth.principal import DISTRICT_ACTIONS, ROLES, Principal
from platform_kit.auth.settings import AuthSettings
from platform_kit.auth.tokens import InvalidToken, TokenVerifier, build_verifier
from platform_kit.problems import NotFound, Refusal
from platform_kit.units import unit_tree

# Documents the scheme in OpenAPI ("Authorize" in /docs); the checking is ours, below.
bearer_scheme = HTTPBearer(auto_error=False, description="a JWT from the district's identity provider (or `msp token`)")


def install_auth(app: FastAPI, settings: AuthSettings | None = None, *, verifier: TokenVerifier | None = None) -> TokenVerifier:
    from platform_kit.auth.refusals import RefusalLog

    app.state.auth = verifier or build_verifier(settings)
    app.add_middleware(RefusalLog)  # who was turned away from what (auth.refused)
    return app.state.auth


def unauthorized(reason: str, *, error: str | None = "invalid_token") -> HTTPException:
    quoted = reason.replace("\\", "/").replace('"', "'")
    challenge = "Bearer" if error is None else f'Bearer error="{error}", error_description="{quoted}"'
    return HTTPException(401, detail=reason, headers={"WWW-Authenticate": challenge})


def forbidden(reason: str) -> HTTPException:
    return HTTPException(403, detail=reason)


def require_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
) -> Principal:
    """The verified caller, or 401. A plain (sync) function: FastAPI runs it in a thread, so a
    JWKS fetch never blocks the event loop."""
    verifier: TokenVerifier | None = getattr(request.app.state, "auth", None)
    if verifier is None:
        raise RuntimeError("platform_kit.auth.install_auth(app) was not called for this app")
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthorized("a bearer token is required (Authorization: Bearer <token>)", error=None)
    try:
        principal = verifier.verify(credentials.credentials)
    except InvalidToken as refused:
        raise unauthorized(refused.reason) from None
    request.state.principal = principal
    return principal


def require_role(*roles: str) -> Callable[..., Principal]:
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require_role: roles are {', '.join(ROLES)}; not {sorted(unknown)}")

    def role_allowed(principal: Principal = Depends(require_principal)) -> Principal:
        if principal.role not in roles:
            raise forbidden(f"this needs the role {' or '.join(roles)}; the token's role is {principal.role}")
        return principal

    return role_allowed


def ensure_unit_scope(principal: Principal, code: str, *, write: bool = False, field: str = "unit_code") -> str:
    """The normalised ``code`` if the caller may read (or write) it; else 422, 404 or 403.
    For unit codes that arrive in a body: call it in the handler."""
    try:
        code = normalise_unit_code(code)
    except ValueError as error:
        raise Refusal(field, str(error)) from None
    tree = unit_tree()
    if code not in tree:
        raise NotFound(field, f"is not a unit of {tree.district.name}")
    allowed = principal.can_write_unit(code, tree) if write else principal.can_read_unit(code, tree)
    if not allowed:
        raise forbidden(f"{field}: {tree[code].name} is outside the units this token may {'change' if write else 'see'}")
    return code


def require_unit_scope(param_name: str, write: bool = False) -> Callable[..., Principal]:
    """The caller, if the unit named by the path (or query) parameter ``param_name`` is in their scope."""

    def unit_in_scope(request: Request, principal: Principal = Depends(require_principal)) -> Principal:
        code = request.path_params.get(param_name, request.query_params.get(param_name))
        if code is None:
            raise Refusal(param_name, "is required")
        ensure_unit_scope(principal, code, write=write, field=param_name)
        return principal

    return unit_in_scope


def require_district_action(action: str) -> Callable[..., Principal]:
    if action not in DISTRICT_ACTIONS:
        raise ValueError(f"require_district_action: one of {', '.join(DISTRICT_ACTIONS)}; not {action!r}")

    def district_only(principal: Principal = Depends(require_principal)) -> Principal:
        if not principal.may(action):
            raise forbidden(f"only the district centre may {action.replace('_', ' ')}")
        return principal

    return district_only
