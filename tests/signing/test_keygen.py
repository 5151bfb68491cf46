"""``promoter keygen``: a pair in cosign's format, its password never shown."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from promoter.errors import InputError
from promoter.signing.dsse import sign_envelope, verify_envelope
from promoter.signing.keys import load_private_key, load_public_key
from tests.support.cli import isolated_env, run_cli

PASSWORD = "keygen-password-5c1"


def test_keygen_writes_a_pair_the_signer_reads(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, {"COSIGN_PASSWORD": PASSWORD})
    done = run_cli(
        ["keygen", "--out-prefix", "keys/release", "--output", "json"], cwd=tmp_path, env=env
    )
    assert done.returncode == 2  # the folder does not exist: bad input, one line
    assert done.stderr.startswith("error: keys/release.key: cannot write")
    (tmp_path / "keys").mkdir()
    done = run_cli(
        ["keygen", "--out-prefix", "keys/release", "--output", "json"], cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    private, public = tmp_path / document["privateKey"], tmp_path / document["publicKey"]
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    key = load_private_key(private.read_text(), PASSWORD, source=str(private))
    assert key.fingerprint == document["fingerprint"]
    envelope = sign_envelope(b"{}", key)
    assert verify_envelope(envelope, [load_public_key(public.read_bytes(), source="pub")])
    with pytest.raises(InputError, match="wrong password"):
        load_private_key(private.read_text(), "not-it", source=str(private))
    assert PASSWORD not in done.stdout + done.stderr


def test_keygen_keeps_existing_keys_and_needs_a_password(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, {"COSIGN_PASSWORD": PASSWORD})
    assert run_cli(["keygen"], cwd=tmp_path, env=env).returncode == 0
    before = (tmp_path / "cosign.key").read_bytes()
    again = run_cli(["keygen"], cwd=tmp_path, env=env)
    assert again.returncode == 2
    assert again.stderr.splitlines()[0] == "error: cosign.key exists already"
    assert (tmp_path / "cosign.key").read_bytes() == before
    assert run_cli(["keygen", "--force"], cwd=tmp_path, env=env).returncode == 0
    assert (tmp_path / "cosign.key").read_bytes() != before
    no_password = {k: v for k, v in env.items() if k != "COSIGN_PASSWORD"}
    missing = run_cli(["keygen", "--out-prefix", "other"], cwd=tmp_path, env=no_password)
    assert missing.returncode == 2
    assert "COSIGN_PASSWORD is not set and there is no terminal" in missing.stderr
    assert not os.path.exists(tmp_path / "other.key")
