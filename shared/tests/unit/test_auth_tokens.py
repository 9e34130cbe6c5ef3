"""Tokens are trusted only when the issuer's key signed them for us, now."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import OKPAlgorithm

from platform_kit.auth import AuthSettings, DevKey, InvalidToken, KeyConfigurationError, build_verifier
from platform_kit.auth.keys import JwksSource
from platform_kit.auth.tokens import TokenVerifier

TOWN = "370402001000"
IDP = "https://idp.shizhong.example/realms/msp"


@pytest.fixture
def dev_key(tmp_path: Path) -> DevKey:
    return DevKey.load_or_create(tmp_path / "keys")


@pytest.fixture
def verifier(dev_key: DevKey) -> TokenVerifier:
    return build_verifier(AuthSettings(environment="development", dev_key_dir=dev_key.directory))


def town_claims() -> dict[str, object]:
    return {"sub": "wang.li", "role": "town", "units": [TOWN]}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write_pem(path: Path, public_key) -> Path:
    path.write_bytes(public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


class TestTheDevelopmentKey:
    def test_a_token_it_signs_names_the_caller(self, dev_key: DevKey, verifier: TokenVerifier) -> None:
        principal = verifier.verify(dev_key.mint(town_claims(), ttl_seconds=300))
        assert (principal.sub, principal.role, principal.units) == ("wang.li", "town", (TOWN,))

    def test_private_key_is_only_for_its_owner_and_the_public_half_is_a_jwks(self, dev_key: DevKey) -> None:
        assert (dev_key.directory / "signing-key.pem").stat().st_mode & 0o777 == 0o600
        jwks = json.loads(dev_key.jwks_path.read_text())
        assert [k["kid"] for k in jwks["keys"]] == [dev_key.kid] and "d" not in jwks["keys"][0]

    def test_a_second_start_finds_the_same_key(self, dev_key: DevKey) -> None:
        assert DevKey.load_or_create(dev_key.directory).kid == dev_key.kid


class TestRefusedTokens:
    def test_expired(self, dev_key: DevKey, verifier: TokenVerifier) -> None:
        token = dev_key.mint(town_claims(), ttl_seconds=60, now=time.time() - 3600)
        with pytest.raises(InvalidToken, match="expired"):
            verifier.verify(token)

    def test_expired_a_moment_ago_passes_within_the_leeway(self, dev_key: DevKey, verifier: TokenVerifier) -> None:
        token = dev_key.mint(town_claims(), ttl_seconds=60, now=time.time() - 70)
        assert verifier.verify(token).sub == "wang.li"

    def test_not_valid_yet(self, dev_key: DevKey, verifier: TokenVerifier) -> None:
        token = dev_key.mint(town_claims(), ttl_seconds=600, now=time.time() + 300)
        with pytest.raises(InvalidToken, match="not valid yet"):
            verifier.verify(token)

    def test_from_another_issuer(self, dev_key: DevKey, verifier: TokenVerifier) -> None:
        with pytest.raises(InvalidToken, match="another issuer"):
            verifier.verify(dev_key.mint(town_claims(), ttl_seconds=60, issuer="https://evil.example"))

    def test_for_another_audience(self, dev_key: DevKey, verifier: TokenVerifier) -> None:
        with pytest.raises(InvalidToken, match="another audience"):
            verifier.verify(dev_key.mint(town_claims(), ttl_seconds=60, audience="payroll"))

    def test_unsigned_alg_none(self, verifier: TokenVerifier) -> None:
        header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        body = b64(json.dumps({**town_claims(), "iss": "msp-dev", "aud": "migrant-services", "exp": time.time() + 60}).encode())
        with pytest.raises(InvalidToken, match="not accepted"):
            verifier.verify(f"{header}.{body}.")

    def test_hs256_signed_with_the_public_key(self, dev_key: DevKey, verifier: TokenVerifier) -> None:
        # The classic confusion: HMAC keyed with the (public) verification key a server holds.
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": dev_key.kid}).encode())
        body = b64(json.dumps({**town_claims(), "iss": "msp-dev", "aud": "migrant-services", "exp": time.time() + 60}).encode())
        for secret in (dev_key.jwks_path.read_bytes(), json.dumps(dev_key.jwks()["keys"][0]).encode()):
            signature = b64(hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest())
            with pytest.raises(InvalidToken, match="not accepted"):
                verifier.verify(f"{header}.{body}.{signature}")

    def test_tampered_claims(self, dev_key: DevKey, verifier: TokenVerifier) -> None:
        header, body, signature = dev_key.mint(town_claims(), ttl_seconds=60).split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=="))
        forged = b64(json.dumps({**claims, "role": "district", "units": ["370402000000"]}).encode())
        with pytest.raises(InvalidToken, match="signature"):
            verifier.verify(f"{header}.{forged}.{signature}")

    def test_signed_by_a_stranger_with_the_same_kid(self, dev_key: DevKey, verifier: TokenVerifier, tmp_path: Path) -> None:
        stranger = DevKey.load_or_create(tmp_path / "stranger")
        token = jwt.encode({**town_claims(), "iss": "msp-dev", "aud": "migrant-services", "exp": time.time() + 60},
                           stranger.private_key, algorithm="EdDSA", headers={"kid": dev_key.kid})
        with pytest.raises(InvalidToken, match="signature"):
            verifier.verify(token)

    def test_not_a_jwt(self, verifier: TokenVerifier) -> None:
        with pytest.raises(InvalidToken, match="not a JSON Web Token"):
            verifier.verify("hello")

    @pytest.mark.parametrize(
        "claims",
        [
            {"sub": "x", "role": "mayor", "units": [TOWN]},
            {"sub": "x", "role": "town", "units": ["３７０４０２００１０００"]},
            {"sub": "x", "role": "town"},
            {"sub": "x", "role": "department", "units": ["tax-office"]},
            {"role": "town", "units": [TOWN]},
        ],
        ids=["unknown role", "unit not ascii digits", "town without units", "unknown department", "no sub"],
    )
    def test_claims_that_do_not_name_a_caller(self, dev_key: DevKey, verifier: TokenVerifier, claims: dict) -> None:
        with pytest.raises(InvalidToken):
            verifier.verify(dev_key.mint(claims, ttl_seconds=60))


class TestKeyFiles:
    @pytest.mark.parametrize(
        ("algorithm", "private_key"),
        [
            ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
            ("EdDSA", ed25519.Ed25519PrivateKey.generate),
        ],
    )
    def test_a_pem_public_key_of_each_accepted_kind(self, tmp_path: Path, algorithm: str, private_key) -> None:
        key = private_key()
        settings = AuthSettings(issuer=IDP, public_key_file=write_pem(tmp_path / "idp.pem", key.public_key()),
                                dev_key_dir=tmp_path / "none")
        token = jwt.encode({**town_claims(), "iss": IDP, "aud": "migrant-services", "exp": time.time() + 60}, key, algorithm=algorithm)
        assert build_verifier(settings).verify(token).role == "town"

    def test_a_private_key_file_is_refused(self, tmp_path: Path) -> None:
        key = ed25519.Ed25519PrivateKey.generate()
        path = tmp_path / "oops.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        with pytest.raises(KeyConfigurationError, match="private key"):
            build_verifier(AuthSettings(issuer=IDP, public_key_file=path))

    def test_a_broken_jwks_file_is_refused_with_the_reason(self, tmp_path: Path) -> None:
        path = tmp_path / "jwks.json"
        path.write_text('{"keys": [')
        with pytest.raises(KeyConfigurationError, match="does not parse"):
            build_verifier(AuthSettings(issuer=IDP, public_key_file=path))

    def test_claims_mapped_from_the_identity_providers_own_names(self, tmp_path: Path) -> None:
        key = ed25519.Ed25519PrivateKey.generate()
        settings = AuthSettings(issuer=IDP, public_key_file=write_pem(tmp_path / "idp.pem", key.public_key()),
                                role_claim="realm_access.msp_role", units_claim="msp_units", dev_key_dir=tmp_path / "none")
        claims = {"sub": "li.na", "realm_access": {"msp_role": "village"}, "msp_units": "370402001001",
                  "iss": IDP, "aud": ["account", "migrant-services"], "exp": time.time() + 60}
        principal = build_verifier(settings).verify(jwt.encode(claims, key, algorithm="EdDSA"))
        assert (principal.role, principal.units) == ("village", ("370402001001",))


class TestProductionRefusesToStart:
    def test_with_the_development_key(self, dev_key: DevKey) -> None:
        settings = AuthSettings(environment="production", issuer=IDP, public_key_file=dev_key.jwks_path, dev_key_dir=dev_key.directory)
        with pytest.raises(KeyConfigurationError, match="development key"):
            build_verifier(settings)

    def test_with_the_development_key_copied_elsewhere_as_pem(self, dev_key: DevKey, tmp_path: Path) -> None:
        copy = write_pem(tmp_path / "innocent.pem", dev_key.public_key)
        settings = AuthSettings(environment="production", issuer=IDP, public_key_file=copy, dev_key_dir=dev_key.directory)
        with pytest.raises(KeyConfigurationError, match="development key"):
            build_verifier(settings)

    def test_without_any_key(self, tmp_path: Path) -> None:
        with pytest.raises(KeyConfigurationError, match="no keys"):
            build_verifier(AuthSettings(environment="production", issuer=IDP, dev_key_dir=tmp_path))

    def test_with_the_development_issuer(self, tmp_path: Path) -> None:
        with pytest.raises(KeyConfigurationError, match="development issuer"):
            build_verifier(AuthSettings(environment="production", jwks_url=f"{IDP}/certs"))

    def test_with_a_plain_http_jwks_url(self) -> None:
        with pytest.raises(KeyConfigurationError, match="https"):
            build_verifier(AuthSettings(environment="production", issuer=IDP, jwks_url="http://127.0.0.1:8080/certs"))

    def test_production_is_the_default(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.delenv("AUTH_ENVIRONMENT", raising=False)
        monkeypatch.setenv("AUTH_ISSUER", IDP)
        monkeypatch.setenv("MSP_KEY_DIR", str(tmp_path))
        with pytest.raises(KeyConfigurationError):
            build_verifier(AuthSettings(_env_file=None))

    def test_but_starts_with_the_district_identity_providers_key(self, tmp_path: Path) -> None:
        key = ed25519.Ed25519PrivateKey.generate()
        settings = AuthSettings(environment="production", issuer=IDP, public_key_file=write_pem(tmp_path / "idp.pem", key.public_key()),
                                dev_key_dir=tmp_path / "none")
        assert build_verifier(settings).production


class JwksServer:
    """The identity provider's JWKS endpoint, on a loopback port, counting its fetches."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, ed25519.Ed25519PrivateKey]] = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.fetches += 1
                body = json.dumps({"keys": [
                    {**OKPAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": "EdDSA", "use": "sig"}
                    for kid, key in server.keys
                ]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/realms/msp/certs"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def rotate(self, kid: str) -> ed25519.Ed25519PrivateKey:
        key = ed25519.Ed25519PrivateKey.generate()
        self.keys = [(kid, key)]
        return key

    def token(self, kid: str, key: ed25519.Ed25519PrivateKey) -> str:
        claims = {**town_claims(), "iss": IDP, "aud": "migrant-services", "exp": time.time() + 60}
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


@pytest.fixture
def idp():
    server = JwksServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


class TestJwksUrl:
    def test_keys_are_fetched_once_then_cached(self, idp: JwksServer) -> None:
        key = idp.rotate("k1")
        verifier = build_verifier(AuthSettings(environment="development", issuer=IDP, jwks_url=idp.url))
        for _ in range(3):
            assert verifier.verify(idp.token("k1", key)).sub == "wang.li"
        assert idp.fetches == 1

    def test_an_unknown_kid_fetches_the_rotated_keys(self, idp: JwksServer) -> None:
        old = idp.rotate("k1")
        verifier = build_verifier(AuthSettings(environment="development", issuer=IDP, jwks_url=idp.url, jwks_min_refetch_seconds=0))
        verifier.verify(idp.token("k1", old))
        new = idp.rotate("k2")
        assert verifier.verify(idp.token("k2", new)).sub == "wang.li"
        assert idp.fetches == 2
        with pytest.raises(InvalidToken, match="no key"):
            verifier.verify(idp.token("k1", old))  # retired with the rotation

    def test_made_up_kids_do_not_hammer_the_identity_provider(self, idp: JwksServer) -> None:
        idp.rotate("k1")
        source = JwksSource(idp.url, min_refetch_seconds=60)
        for n in range(5):
            assert source.find(f"made-up-{n}") == []
        assert idp.fetches == 1

    def test_an_unreachable_provider_refuses_the_token_not_the_service(self) -> None:
        verifier = build_verifier(AuthSettings(environment="development", issuer=IDP, jwks_url="http://127.0.0.1:9/certs",
                                               jwks_timeout_seconds=0.5))
        with pytest.raises(InvalidToken, match="cannot be fetched"):
            verifier.verify(jwt.encode({"sub": "x"}, ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "k"}))
