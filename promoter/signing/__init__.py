"""Signing: keys in cosign's format, DSSE envelopes, in-toto statements, simple signing.

- ``keys``: ECDSA P-256 key pairs; private keys as PKCS#8 PEM or in cosign's
  encrypted format (scrypt + NaCl secretbox), public keys as PKIX PEM;
- ``dsse``: Dead Simple Signing Envelopes (the PAE, signing, verifying);
- ``statement``: in-toto Statement v1 with an SLSA Provenance v1 predicate;
- ``simplesigning``: cosign's payload for a signature of an image digest.

No secret leaves these functions: key material and passwords are registered
with ``promoter.redaction`` as they are read.
"""

from __future__ import annotations
