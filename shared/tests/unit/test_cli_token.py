"""`msp token`: a development token for a role and its units, or a clear no."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from platform_kit.auth import AuthSettings, build_verifier
from platform_kit.cli import app

TOWN, VILLAGE = "370402001000", "370402001001"


@pytest.fixture
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MSP_KEY_DIR", str(tmp_path / "keys"))
    return tmp_path / "keys"


def msp(*args: str):
    return CliRunner().invoke(app, list(args))


def verified(key_dir: Path, token: str):
    return build_verifier(AuthSettings(environment="development", public_key_file=key_dir / "jwks.json", dev_key_dir=key_dir)).verify(token)


class TestMinting:
    def test_a_town_token_verifies_against_the_jwks_written_beside_the_key(self, key_dir: Path) -> None:
        result = msp("token", "--role", "town", "--unit", TOWN, "--sub", "wang.li")
        assert result.exit_code == 0, result.output
        principal = verified(key_dir, result.stdout.strip())
        assert (principal.sub, principal.role, principal.units) == ("wang.li", "town", (TOWN,))
        assert (key_dir / "signing-key.pem").stat().st_mode & 0o777 == 0o600

    def test_full_width_unit_codes_are_accepted(self, key_dir: Path) -> None:
        result = msp("token", "--role", "village", "--unit", "３７０４０２００１００１")
        assert verified(key_dir, result.stdout.strip()).units == (VILLAGE,)

    def test_a_district_token_covers_the_district(self, key_dir: Path) -> None:
        result = msp("token", "--role", "district", "--ttl", "30m")
        assert verified(key_dir, result.stdout.strip()).units == ("370402000000",)

    def test_a_department_systems_client_credentials(self, key_dir: Path) -> None:
        result = msp("token", "--client-credentials", "--department", "health")
        principal = verified(key_dir, result.stdout.strip())
        assert (principal.role, principal.department, principal.sub) == ("department", "health", "dept:health")

    def test_the_same_key_signs_every_token(self, key_dir: Path) -> None:
        msp("token", "--role", "auditor")
        first = (key_dir / "jwks.json").read_text()
        msp("token", "--role", "auditor")
        assert (key_dir / "jwks.json").read_text() == first


class TestRefusals:
    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (["--role", "mayor"], "unknown role 'mayor'"),
            (["--role", "village", "--unit", "37040200100"], "must be 12 digits"),
            (["--role", "village", "--unit", "370402999999"], "not a unit of 市中区"),
            (["--role", "village", "--unit", TOWN], "is a town, not a village"),
            (["--role", "town"], "needs --unit"),
            (["--role", "district", "--unit", TOWN], "whole district"),
            (["--client-credentials", "--department", "tax"], "--department, one of"),
            (["--client-credentials", "--role", "town", "--department", "health"], "drop --role"),
            (["--role", "town", "--unit", TOWN, "--ttl", "forever"], "--ttl"),
            (["--role", "town", "--unit", TOWN, "--ttl", "90d"], "at most 30d"),
            (["--unit", TOWN], "give --role"),
        ],
    )
    def test_other_errors_exit_1_with_the_reason(self, key_dir: Path, args: list[str], says: str) -> None:
        result = msp("token", *args)
        assert result.exit_code == 1
        assert says in " ".join(result.stderr.split())
        assert result.stdout == ""

    def test_a_wrong_command_line_exits_2(self, key_dir: Path) -> None:
        assert msp("token", "--no-such-option").exit_code == 2
        assert msp("no-such-command").exit_code == 2


class TestHelp:
    @pytest.mark.parametrize("args", [["--help"], ["token", "--help"]])
    def test_help_on_everything(self, args: list[str]) -> None:
        result = msp(*args)
        assert result.exit_code == 0 and "Usage" in result.stdout

    def test_msp_is_an_installed_command(self) -> None:
        command = Path(sys.executable).parent / "msp"
        result = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0 and "token" in result.stdout
