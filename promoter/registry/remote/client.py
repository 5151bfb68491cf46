"""``RegistryClient``: the OCI distribution API of one registry host.

Reads: ``get_manifest``, ``head_manifest``, ``get_blob`` (streaming), ``get_blob_bytes``,
``blob_exists``, ``list_tags``, ``referrers``. Writes: ``upload_blob``, ``mount_blob``,
``put_manifest``, ``delete_manifest``.

Manifests travel as bytes: ``get_manifest`` returns exactly what the registry
sent, checked against the digest it was asked for (or that the registry
declared), and ``put_manifest`` sends bytes as given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from promoter.errors import NetworkError, RegistryError
from promoter.oci import mediatypes as mt
from promoter.oci.descriptor import Descriptor
from promoter.oci.digest import Digest, DigestMismatchError, compute_digest, is_digest
from promoter.oci.manifest import (
    MAX_MANIFEST_SIZE,
    Index,
    InvalidManifestError,
    UnsupportedManifestError,
    parse_manifest,
    sniff_media_type,
)
from promoter.oci.raw import RawManifest
from promoter.oci.reference import Reference
from promoter.registry.access.credentials import Credential, CredentialProvider
from promoter.registry.access.keychain import DefaultCredentials
from promoter.registry.access.options import RegistryOptions, normalize_host
from promoter.registry.remote.blobs import BlobOperations
from promoter.registry.remote.memo import RunMemo, tags_page
from promoter.registry.remote.upload import UploadOperations
from promoter.registry.transport.auth import pull_scope, push_scope
from promoter.registry.transport.deadline import within
from promoter.registry.transport.failures import BrokenBody, broken_words
from promoter.registry.transport.transport import RegistryRequest, RegistryTransport

TYPE_CHECKING = False
if TYPE_CHECKING:
    from promoter.registry.transport.wire import Headers, Response

__all__ = ["RegistryClient"]

#: A pattern's text: ``re`` compiles it at first use and keeps it (most runs never use it).
_NEXT_LINK = r'<([^>]+)>\s*;\s*rel="?next"?'
_SCHEMA1_HINT = "re-push the image with a current Docker or buildkit (schema 2 / OCI)"


class RegistryClient(BlobOperations, UploadOperations):
    """The distribution API of one registry host; thread-safe, one connection pool."""

    def __init__(
        self,
        host: str,
        options: RegistryOptions | None = None,
        *,
        credential_lookup: Callable[[], Credential | None] | None = None,
        transport: RegistryTransport | None = None,
    ) -> None:
        self.options = options or RegistryOptions()
        if transport is None:
            provider = self.options.credentials or default_credentials(self.options)
            lookup = credential_lookup or (lambda: provider.get(normalize_host(host)))
            transport = RegistryTransport(host, self.options, lookup)
        self.transport = transport
        self.host = transport.host
        self._sessions = {}
        #: What this run already learnt here (content by digest, fallback tags, referrers API).
        self.memo = RunMemo()

    def close(self) -> None:
        """Close the connection pool."""
        self.transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def ping(self) -> str:
        """Reach ``/v2/`` (once per client) and return the base URL in use."""
        return self.transport.base_url()

    def credential(self) -> Credential | None:
        """The credential this client presents, ready to hand to another tool (kaniko):
        pings first, so an ``auth: azure`` credential carries its ACR refresh token."""
        self.ping()
        return self.transport.auth.resolved()

    # -- manifests --------------------------------------------------------

    def get_manifest(
        self, reference: Reference, *, accept: str = mt.MANIFEST_ACCEPT
    ) -> RawManifest:
        """The manifest bytes ``reference`` resolves to, exactly as stored.

        Fetched by digest, the bytes must hash to it; by tag, to the
        ``Docker-Content-Digest`` the registry declares. Schema 1 is refused.
        """
        kept = self.memo.content(reference.repository, reference.digest or "")
        if isinstance(kept, RawManifest):
            return kept
        if self._listed_absent(reference):
            raise RegistryError(
                f"{reference}: manifest unknown", status=404, code="MANIFEST_UNKNOWN",
                reference=str(reference),
            )  # fmt: skip
        raw, headers = self._read_manifest(reference, accept)
        media_type = _media_type(raw, headers.get("Content-Type"))
        if mt.is_schema1(media_type):
            raise UnsupportedManifestError(
                f"{reference} uses a Docker v2 schema 1 manifest, which promoter does not support",
                hint=_SCHEMA1_HINT,
            )
        expected = reference.digest or headers.get("Docker-Content-Digest")
        if expected and is_digest(expected):
            actual = compute_digest(raw, Digest.parse(expected).algorithm)
            if actual != expected:
                raise DigestMismatchError(
                    f"{self.host}: the registry sent manifest {reference} with content that "
                    f"does not match its digest: expected {expected}, got {actual}",
                    reference=str(reference),
                    code="DIGEST_INVALID",
                )
            digest = expected
        else:
            digest = compute_digest(raw)
        fetched = RawManifest(raw=raw, media_type=media_type, digest=digest)
        self.memo.keep(reference.repository, digest, fetched, len(raw))  # by tag too
        return fetched

    def _listed_absent(self, reference: Reference, fresh: bool = False) -> bool:
        """Whether the run's tags list of the repository rules out this fallback tag."""
        if fresh or reference.digest or reference.tag is None:
            return False
        read = lambda repository: tags_page(self.transport, repository)  # noqa: E731
        return self.memo.tag_absent(reference.repository, reference.tag, read)

    def _read_manifest(self, reference: Reference, accept: str) -> tuple[bytes, Headers]:
        """GET a manifest, reading at most ``MAX_MANIFEST_SIZE`` bytes; body breaks retried."""
        request = self._manifest_request("GET", reference, accept, "get manifest", (200,))
        attempts = self.options.retry.start(self.transport.stats.count_retry)
        while True:
            message = (
                f"{self.host}: get manifest {reference}: no complete answer within "
                f"{self.options.exchange_deadline:g} s"
            )
            try:
                with (
                    within(self.options.exchange_deadline, message),
                    self.transport.stream(request) as response,
                ):
                    return _bounded_body(response, reference), response.headers
            except BrokenBody as broken:
                if not (
                    self.options.retry.is_retryable_exception(broken.error) and attempts.another()
                ):
                    raise NetworkError(
                        f"{self.host}: get manifest {reference}: {broken_words(broken.error)}"
                    ) from None

    def _manifest_request(
        self, method: str, reference: Reference, accept: str, action: str, expect: tuple[int, ...]
    ) -> RegistryRequest:
        return RegistryRequest(
            method,
            f"/v2/{reference.repository}/manifests/{reference.identifier}",
            scopes=(pull_scope(reference.repository),),
            reference=str(reference),
            action=action,
            headers={"Accept": accept},
            expect=expect,
        )

    def head_manifest(
        self, reference: Reference, *, accept: str = mt.MANIFEST_ACCEPT, fresh: bool = False
    ) -> Descriptor | None:
        """The descriptor of what ``reference`` points at, or None when it does not exist
        (``fresh``: ask even when the run's tags list rules the tag out)."""
        if self._listed_absent(reference, fresh):
            return None
        response = self.transport.send(
            self._manifest_request("HEAD", reference, accept, "check manifest", (200, 404))
        )
        if response.status_code == 404:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        size = response.headers.get("Content-Length")
        media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
        if not digest or not is_digest(digest) or size is None:
            # Some registries omit the digest on HEAD: fall back to a GET.
            fetched = self.get_manifest(reference, accept=accept)
            return fetched.descriptor
        if reference.digest and digest != reference.digest:
            raise DigestMismatchError(
                f"{reference}: the registry declared digest {digest}",
                reference=str(reference),
                code="DIGEST_INVALID",
            )
        return Descriptor(media_type=media_type, digest=digest, size=int(size))

    def put_manifest(
        self, repository: str, raw: bytes, media_type: str, tag_or_digest: str | None = None
    ) -> str:
        """Store manifest bytes as given under a tag (or its digest); return its digest."""
        digest = compute_digest(raw)
        ident = tag_or_digest or digest
        if is_digest(ident) and ident != digest:
            raise DigestMismatchError(
                f"manifest bytes hash to {digest}, not {ident}",
                reference=f"{self.host}/{repository}@{ident}",
                code="DIGEST_INVALID",
            )
        ref = f"{self.host}/{repository}{'@' if is_digest(ident) else ':'}{ident}"
        response = self.transport.send(
            RegistryRequest(
                "PUT",
                f"/v2/{repository}/manifests/{ident}",
                scopes=(push_scope(repository),),
                reference=ref,
                action="put manifest",
                headers={"Content-Type": media_type},
                content=raw,
                expect=(200, 201, 202),
            )
        )
        if not is_digest(ident):
            self.memo.tagged(repository, ident)
        declared = response.headers.get("Docker-Content-Digest")
        if declared and declared != digest:
            raise DigestMismatchError(
                f"{ref}: the registry stored digest {declared}, we sent {digest}",
                reference=ref,
                code="DIGEST_INVALID",
            )
        return digest

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest (the registry must allow deletes)."""
        self.memo.forget(repository)
        self.transport.send(
            RegistryRequest(
                "DELETE",
                f"/v2/{repository}/manifests/{digest}",
                scopes=(f"repository:{repository}:delete", push_scope(repository)),
                reference=f"{self.host}/{repository}@{digest}",
                action="delete manifest",
                expect=(200, 202),
            )
        )

    # -- tags and referrers -----------------------------------------------

    def list_tags(self, repository: str, *, page_size: int = 1000) -> list[str]:
        """Every tag of ``repository`` (following ``Link`` pagination); [] if it is unknown."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n={page_size}"
        while path:
            response = self.transport.send(
                RegistryRequest(
                    "GET",
                    path,
                    scopes=(pull_scope(repository),),
                    reference=f"{self.host}/{repository}",
                    action="list tags",
                    expect=(200, 404),
                )
            )
            if response.status_code == 404:
                return tags
            document = _json(response, f"{self.host}/{repository}")
            listed = document.get("tags")
            if isinstance(listed, list):
                tags.extend(str(t) for t in listed)
            match = re.search(_NEXT_LINK, response.headers.get("Link", ""))
            path = match.group(1) if match else None
        return tags

    def referrers(
        self, repository: str, digest: str, *, artifact_type: str | None = None
    ) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``digest``: the OCI 1.1 referrers API, or the
        ``sha256-<hex>`` tag schema where the registry lacks the API."""
        Digest.parse(digest)
        ref = f"{self.host}/{repository}@{digest}"
        params = {"artifactType": artifact_type} if artifact_type else None
        with self.memo.asking():  # until the host has answered once, callers ask in turn
            if self.memo.referrers_api is False:  # this host answered 404 before: no API
                found = self._referrers_by_tag(repository, digest)
                return [d for d in found if not artifact_type or d.artifact_type == artifact_type]
            response = self.transport.send(
                RegistryRequest(
                    "GET",
                    f"/v2/{repository}/referrers/{digest}",
                    scopes=(pull_scope(repository),),
                    reference=ref,
                    action="list referrers",
                    params=params,
                    expect=(200, 404, 405),
                    headers={"Accept": mt.OCI_INDEX},
                )
            )
            content_type = response.headers.get("Content-Type", "")
            api = response.status_code == 200 and mt.OCI_INDEX in content_type
            self.memo.referrers_api = api
        if api:
            found = list(parse_index_descriptors(response.content, ref))
            # The API pages with Link headers, as the tag list does.
            link = re.search(_NEXT_LINK, response.headers.get("Link", ""))
            while link:
                page = self.transport.send(
                    RegistryRequest(
                        "GET",
                        link.group(1),
                        scopes=(pull_scope(repository),),
                        reference=ref,
                        action="list referrers",
                        headers={"Accept": mt.OCI_INDEX},
                    )
                )
                found.extend(parse_index_descriptors(page.content, ref))
                link = re.search(_NEXT_LINK, page.headers.get("Link", ""))
        else:
            found = self._referrers_by_tag(repository, digest)
        if artifact_type:
            found = [d for d in found if d.artifact_type == artifact_type]
        return found

    def _referrers_by_tag(self, repository: str, digest: str) -> list[Descriptor]:
        algorithm, hex_ = digest.split(":", 1)
        tagged = Reference(self.host, repository, f"{algorithm}-{hex_}")
        if self.head_manifest(tagged) is None:
            return []
        fetched = self.get_manifest(tagged, accept=mt.OCI_INDEX)
        return parse_index_descriptors(fetched.raw, str(tagged))

    def resolve(self, reference: Reference) -> RawManifest:
        """Alias of ``get_manifest`` (what a reference resolves to)."""
        return self.get_manifest(reference)


def default_credentials(options: RegistryOptions) -> CredentialProvider:
    """The environment / pipeline / Docker config lookup (``DefaultCredentials``)."""
    if options.environ is None:
        return DefaultCredentials(registries=options.registries)
    return DefaultCredentials(environ=options.environ, registries=options.registries)


def parse_index_descriptors(raw: bytes, reference: str) -> list[Descriptor]:
    """The ``manifests`` of an index document."""
    view = parse_manifest(raw, mt.OCI_INDEX, reference=reference)
    if not isinstance(view, Index):
        raise InvalidManifestError(f"{reference}: expected an index", reference=reference)
    return list(view.manifests)


def _bounded_body(response: Response, reference: Reference) -> bytes:
    """A manifest's body, refused past ``MAX_MANIFEST_SIZE`` (declared or as it arrives)."""
    too_big = InvalidManifestError(
        f"{reference.registry}: get manifest {reference}: the registry sent a manifest of "
        f"more than {MAX_MANIFEST_SIZE // (1024 * 1024)} MiB",
        reference=str(reference),
    )
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_MANIFEST_SIZE:
        raise too_big
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) > MAX_MANIFEST_SIZE:
            raise too_big
    return bytes(body)


def _media_type(raw: bytes, content_type: str | None) -> str:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return (content_type or "").split(";", 1)[0].strip()
    if not isinstance(document, dict):
        return (content_type or "").split(";", 1)[0].strip()
    return sniff_media_type(document, content_type)


def _json(response: Response, reference: str) -> dict[str, object]:
    try:
        document = response.json()
    except ValueError:
        raise RegistryError(f"{reference}: the registry answered with invalid JSON") from None
    if not isinstance(document, dict):
        raise RegistryError(f"{reference}: the registry answered with unexpected JSON")
    return document
