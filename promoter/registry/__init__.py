"""The OCI distribution client and the local transports (DESIGN §4, registry layer).

Its folders, top to bottom (``tests/test_layers.py``): this front (``target``,
``inspect``), ``local/`` (OCI layout, archive) and ``remote/`` (the verbs over HTTP),
``transport/`` (the HTTP stack and its layers), ``access/`` (options, credentials,
trust roots, retry policy); ``raw`` holds the values all of them share.

Public surface (stable; the copy engine and the policy checks build on it):

``Registries``       one shared ``RegistryClient`` per host for a run
``RegistryClient``   one registry: ``ping``, ``get_manifest`` (-> ``promoter.oci.RawManifest``:
                     ``raw`` bytes, ``media_type``, ``digest``), ``head_manifest``
                     (-> ``Descriptor | None``), ``put_manifest``, ``delete_manifest``,
                     ``list_tags``, ``referrers`` (OCI 1.1 API, tag-schema fallback),
                     ``blob_exists``, ``get_blob`` (iterator of chunks, resumes on
                     breaks), ``get_blob_bytes``, ``blob_opener``, ``upload_blob``
                     (bytes, opener or iterable; resumes from the registry's offset),
                     ``mount_blob`` (cross-repository)
``RegistryOptions``  TLS, insecure hosts, CA bundle, retries, bounds, credentials
``Target``           the same read/write interface over a registry repository
                     (``RepositoryTarget``), ``oci:PATH[:TAG]`` (``LayoutTarget``)
                     and ``docker-archive:PATH`` (``ArchiveSource``, read-only)
``open_target``      the ``Target`` a reference names
``DefaultCredentials`` where credentials come from (environment, pipeline ``auth``
                     kind, Docker config, ``GITHUB_TOKEN``); see ``keychain``
``inspect_reference`` what a reference resolves to (``promoter inspect``)

Every failure is a ``PromoterError``: ``RegistryError`` (status, OCI code,
reference), ``AuthError`` (names the credential source, never the secret),
``NetworkError`` (after the bounded retries).
"""

from __future__ import annotations

from promoter.oci.raw import BlobOpener, BlobSource
from promoter.registry.access.credentials import Credential, CredentialProvider, StaticCredentials
from promoter.registry.access.keychain import DefaultCredentials
from promoter.registry.access.options import RegistryConfig, RegistryOptions, is_loopback
from promoter.registry.access.retry import RetryPolicy
from promoter.registry.remote.client import RegistryClient
from promoter.registry.remote.pool import Registries
from promoter.registry.target import RepositoryTarget, Target, open_target
from promoter.registry.transport.transport import TransportStats

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.inspect import Inspection, inspect_reference
    from promoter.registry.local.archive import ArchiveSource
    from promoter.registry.local.layout import LayoutTarget

#: Loaded on first use: a copy between registries never needs tarfile and gzip.
_LAZY = {
    "ArchiveSource": "promoter.registry.local.archive",
    "Inspection": "promoter.registry.inspect",
    "inspect_reference": "promoter.registry.inspect",
    "LayoutTarget": "promoter.registry.local.layout",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ArchiveSource",
    "BlobOpener",
    "BlobSource",
    "Credential",
    "CredentialProvider",
    "DefaultCredentials",
    "Inspection",
    "LayoutTarget",
    "Registries",
    "RegistryClient",
    "RegistryConfig",
    "RegistryOptions",
    "RepositoryTarget",
    "RetryPolicy",
    "StaticCredentials",
    "Target",
    "TransportStats",
    "inspect_reference",
    "is_loopback",
    "open_target",
]
