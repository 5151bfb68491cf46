"""``promoter keygen``'s work: a key pair in cosign's format, written where asked.

The private key goes to ``PREFIX.key`` (mode 0600, encrypted under the
password), the public key to ``PREFIX.pub``, as ``cosign generate-key-pair``
writes them. Existing files are not overwritten unless asked.
"""

from __future__ import annotations

from pathlib import Path

from promoter.errors import InputError
from promoter.files import write_file
from promoter.signing.keys import fingerprint as key_fingerprint
from promoter.signing.keys import generate_key_pair, load_public_key
from promoter.structs import struct

__all__ = ["PASSWORD_ENV", "WrittenKeyPair", "write_key_pair"]

#: cosign's own variable for the key's password.
PASSWORD_ENV = "COSIGN_PASSWORD"


@struct(frozen=True)
class WrittenKeyPair:
    """Where the pair went, and the public key's fingerprint (``sha256:<hex>``)."""

    private_key: Path
    public_key: Path
    fingerprint: str

    def to_dict(self) -> dict[str, str]:
        """The JSON document of ``promoter keygen --output json``."""
        return {
            "privateKey": str(self.private_key),
            "publicKey": str(self.public_key),
            "fingerprint": self.fingerprint,
        }


def _write(path: Path, data: bytes, mode: int, force: bool) -> None:
    """Write by a temporary file renamed into place: a link at ``path`` is replaced, not
    followed, and the private key is 0600 from its first byte."""
    try:
        write_file(path, data, mode=mode, exclusive=not force)
    except FileExistsError:
        raise InputError(
            f"{path} exists already", hint="choose another --out-prefix, or pass --force"
        ) from None
    except OSError as error:
        raise InputError(f"{path}: cannot write: {error.strerror}") from None


def write_key_pair(prefix: str, password: str, *, force: bool = False) -> WrittenKeyPair:
    """Make a P-256 pair and write ``PREFIX.key`` and ``PREFIX.pub``."""
    private_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if not force:
        for path in (private_path, public_path):
            if path.exists() or path.is_symlink():
                raise InputError(
                    f"{path} exists already", hint="choose another --out-prefix, or pass --force"
                )
    private_pem, public_pem = generate_key_pair(password)
    _write(private_path, private_pem, 0o600, force)
    _write(public_path, public_pem, 0o644, force)
    public = load_public_key(public_pem, source=str(public_path))
    return WrittenKeyPair(private_path, public_path, key_fingerprint(public))
