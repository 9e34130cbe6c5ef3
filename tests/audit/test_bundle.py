"""``msp audit export`` and ``msp audit verify-bundle`` on the real PostgreSQL: a unit's figures
with the events behind them, signed; proven offline; refused after any one changed byte."""

from __future__ import annotations

import json
import zipfile

import pytest
from conftest import TOWN, XINHUA
from typer.testing import CliRunner

from platform_kit.audit import bundle
from platform_kit.cli import app

runner = CliRunner()


@pytest.fixture
def keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MSP_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.delenv("MSP_AUDIT_KEY_FILE", raising=False)
    monkeypatch.delenv("MSP_AUDIT_PUBLIC_KEY_FILE", raising=False)
    return tmp_path / "keys"


def export(stack, names, out, unit=XINHUA, period="2013"):
    return runner.invoke(app, [
        "audit", "export", "--unit", unit, "--period", period, "--out", str(out), "--database-url", stack.database_url,
        "--registry-schema", names["registry"], "--services-schema", names["services"],
        "--assessment-schema", names["assessment"],
    ])


def verify(path, *extra):
    return runner.invoke(app, ["audit", "verify-bundle", str(path), *extra])


def test_a_villages_bundle_is_proven_offline(district, stack, keys, tmp_path):
    names, _ = district
    out = tmp_path / "xinhua-2013.zip"
    written = export(stack, names, out)
    assert written.exit_code == 0, written.output
    with zipfile.ZipFile(out) as z:
        assert set(z.namelist()) == {"events.jsonl", "figures.json", "indicators.toml", "anchors.json", "manifest.json", "manifest.sig"}
        figures = json.loads(z.read("figures.json"))["figures"]
        streams = {json.loads(line)["sealed"]["stream_id"] for line in z.read("events.jsonl").decode().splitlines()}
    assert any(f["denominator"] for f in figures.values())  # the village has people to count
    assert len(streams) >= 3
    checked = verify(out)
    assert checked.exit_code == 0, checked.output
    assert "recomputed = published" in checked.output


def test_a_town_bundle_covers_its_villages(district, stack, keys, tmp_path):
    names, _ = district
    out = tmp_path / "town.zip"
    assert export(stack, names, out, unit=TOWN, period="2013-Q2").exit_code == 0
    assert verify(out).exit_code == 0


def test_any_one_changed_byte_is_refused(district, stack, keys, tmp_path):
    names, _ = district
    out = tmp_path / "b.zip"
    assert export(stack, names, out).exit_code == 0
    original = out.read_bytes()
    # Headers, file contents, the manifest, the signature, the central directory: every 61st
    # byte and the last few (about 2% of the file, spread over every part of it).
    for index in [*range(0, len(original), 61), *range(len(original) - 5, len(original))]:
        changed = bytearray(original)
        changed[index] ^= 0x01
        out.write_bytes(bytes(changed))
        result = verify(out)
        assert result.exit_code == 1, f"byte {index} changed and the bundle was accepted:\n{result.output}"
    out.write_bytes(original)
    assert verify(out).exit_code == 0


def test_a_bundle_re_signed_by_another_key_is_refused(district, stack, keys, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    names, _ = district
    out = tmp_path / "b.zip"
    assert export(stack, names, out).exit_code == 0
    with zipfile.ZipFile(out) as z:
        files = {n: z.read(n) for n in z.namelist() if n not in (bundle.MANIFEST, bundle.SIGNATURE)}
    document = json.loads(files["figures.json"])
    first = sorted(document["figures"])[0]
    document["figures"][first]["numerator"] += 1
    files["figures.json"] = json.dumps(document).encode()
    bundle.write(out, files, Ed25519PrivateKey.generate(), "forger")
    result = verify(out)
    assert result.exit_code == 1 and "not signed by the trusted key" in result.output


async def test_a_wrong_live_figure_is_refused(district, stack, keys, tmp_path, pool):
    names, _ = district
    changed = await pool.execute(
        f"UPDATE {names['assessment']}.coverage SET numerator = numerator + 1 "
        "WHERE unit_code = $1 AND period = '2013' AND denominator > numerator", XINHUA,
    )
    assert changed != "UPDATE 0"
    out = tmp_path / "b.zip"
    written = export(stack, names, out)
    assert written.exit_code == 1 and "figures that the events do not give" in written.output
    assert verify(out).exit_code == 1


def test_usage_errors_are_exit_2(keys, tmp_path):
    for args in (["--unit", "12", "--period", "2013"], ["--unit", XINHUA, "--period", "2013-13"],
                 ["--unit", XINHUA, "--period", "2013", "--known-at", "2013-12-31"]):
        assert runner.invoke(app, ["audit", "export", *args, "--out", str(tmp_path / "x.zip")]).exit_code == 2


def test_no_file_or_no_key_is_exit_3(keys, tmp_path):
    assert verify(tmp_path / "missing.zip").exit_code == 3
    assert verify(tmp_path / "missing.zip", "--public-key", str(tmp_path / "nokey.pem")).exit_code == 3
