"""``promoter keygen``: a signing key pair in cosign's format."""

from __future__ import annotations

import sys

from promoter.cli.options import output_option
from promoter.cli.params import option
from promoter.cli.parsing import command
from promoter.cli.render import emit
from promoter.cli.state import current_state
from promoter.errors import InputError
from promoter.redaction import register_secret

__all__ = ["keygen"]


def _password() -> str:
    """``$COSIGN_PASSWORD``, else asked twice on a terminal, as cosign does."""
    # here, not at the top: signing.keypair into --help (+20 modules, 13 ms)
    from promoter.signing.keypair import PASSWORD_ENV

    environ = current_state().environ
    if PASSWORD_ENV in environ:
        return environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        raise InputError(
            f"no password for the private key: {PASSWORD_ENV} is not set and there is no terminal",
            hint=f"export {PASSWORD_ENV} (in CI, from a secret)",
        )
    import getpass

    first = getpass.getpass("Enter password for private key: ")
    if getpass.getpass("Enter password for private key again: ") != first:
        raise InputError("the two passwords differ")
    return first


@command()
@option(
    "--out-prefix",
    default="cosign",
    show_default=True,
    metavar="PREFIX",
    help="Write PREFIX.key and PREFIX.pub.",
)
@option("--force", flag=True, help="Overwrite existing files.")
@output_option("text", "json")
def keygen(out_prefix: str, force: bool, output: str) -> None:
    """Write a signing key pair in cosign's format (ECDSA P-256).

    The private key is encrypted under $COSIGN_PASSWORD (or a password asked
    on the terminal), so cosign and promoter both read it; the public key is
    what 'rule: signed' and 'rule: provenance' verify with.
    """
    # here, not at the top: signing.keypair into --help (+20 modules, 13 ms)
    from promoter.signing.keypair import write_key_pair

    password = _password()
    register_secret(password)
    written = write_key_pair(out_prefix, password, force=force)
    emit(
        written.to_dict(),
        lambda d: (
            f"private key written to {d['privateKey']}\n"
            f"public key written to {d['publicKey']} ({d['fingerprint']})"
        ),
    )
