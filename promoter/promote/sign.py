"""Signatures at promotion: each promoted digest signed in each destination.

A promote rule with ``sign`` names a key (``SigningConfig``). Planning asks
each destination whether cosign's ``sha256-<hex>.sig`` manifest already holds
a signature of the digest that this key verifies (``signed``: nothing to do)
or not (``sign``). Applying signs after the content is copied and verified and
before any tag is written: cosign's simple-signing payload naming the
destination repository and the digest, ECDSA P-256 over SHA-256, attached in
the ``.sig`` tag form (appended: another signer's signatures stay) and as an
OCI referrer. Keys are loaded through ``promoter.signing.configured``: never
printed, never written.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from concurrent.futures import Executor

from promoter.config.model import SigningConfig
from promoter.errors import InputError
from promoter.oci import Descriptor, Reference
from promoter.oci.reference import parse_registry_reference
from promoter.promote.plan import SignAction
from promoter.registry.remote.pool import Registries
from promoter.signing.attach import Attached, attach_signature, signed_by
from promoter.signing.configured import load_signing_key
from promoter.signing.keys import SigningKey
from promoter.signing.simplesigning import simple_signing_payload
from promoter.structs import struct

__all__ = ["SignTarget", "plan_signs", "sign_destination", "signing_key_for"]


@struct(frozen=True)
class SignTarget:
    """A destination repository a rule signs in, with which key, and whether it applies."""

    destination: Reference  # registry/repository, no tag
    key: SigningConfig
    applies: bool = True
    when: str = "tag"
    line: int = 0


def _signed(registries: Registries, target: SignTarget, digest: str, key: SigningKey) -> bool:
    client = registries.client(target.destination.registry)
    return signed_by(client, target.destination.repository, digest, [key.private.public_key()])


def plan_signs(
    digest: str | None, targets: Sequence[SignTarget], registries: Registries, pool: Executor
) -> list[SignAction]:
    """One ``SignAction`` per destination and key (a repeated pair once), in order."""
    unique = list({(t.destination, t.key): t for t in targets}.values())
    keys = {t.key: load_signing_key(t.key) for t in unique if t.applies}
    live = [t for t in unique if t.applies and digest is not None]
    checked = pool.map(lambda t: _signed(registries, t, digest or "", keys[t.key]), live)
    found = dict(zip(live, checked, strict=True))
    actions = []
    for target in unique:
        if not target.applies:  # no key needed: a run without the signing secrets plans
            reason = f"when: {target.when} is false for this run"
            settings = target.key.settings()
            actions.append(
                SignAction(target.destination.name, "skipped", "", settings, reason, target.line)
            )
            continue
        key = keys[target.key]
        if digest is None:
            action, reason = "sign", "source digest unknown until the image is built"
        elif found[target]:
            action, reason = "signed", "a signature of this digest by this key is there"
        else:
            action, reason = "sign", "no signature of this digest by this key"
        actions.append(
            SignAction(
                target.destination.name,
                action,
                key.fingerprint,
                target.key.settings(),
                reason,
                target.line,
            )
        )
    return actions


def signing_key_for(action: SignAction) -> SigningKey:
    """The key a planned signature names, loaded now; exit 2 when it is not the key
    the plan was made with."""
    key = load_signing_key(SigningConfig.from_settings(action.key))
    if key.fingerprint != action.fingerprint:
        raise InputError(
            f"{action.destination}: the signing key is not the one the plan was made with "
            f"({key.fingerprint}, planned {action.fingerprint})",
            hint="plan again with the key the promotion is to be signed with",
        )
    return key


def sign_destination(
    registries: Registries, action: SignAction, subject: Descriptor, key: SigningKey
) -> Attached | None:
    """Sign ``subject`` in the action's destination; None when this key's signature of
    it is there already (a promotion run again after a race signs nothing twice)."""
    destination = parse_registry_reference(action.destination)
    client = registries.client(destination.registry)
    repository = destination.repository
    if signed_by(client, repository, subject.digest, [key.private.public_key()]):
        return None
    payload = simple_signing_payload(destination.name, subject.digest)
    signature = base64.b64encode(key.sign(payload)).decode("ascii")
    return attach_signature(client, repository, subject, payload, signature)
