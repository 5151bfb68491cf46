"""``oci:PATH[:TAG]``: an OCI image layout directory, read and written.

Layout (OCI image-layout spec): ``oci-layout`` (``{"imageLayoutVersion": "1.0.0"}``),
``index.json`` listing the top-level manifests (a tag is the
``org.opencontainers.image.ref.name`` annotation), and ``blobs/<alg>/<hex>``.
Blobs are written to a temporary file, checked against their digest, then
renamed into place, so a reader never sees a partial blob.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from promoter.config.inputfile import read_input
from promoter.errors import ConfigError, InputError, OperationError, RegistryError
from promoter.files import write_file
from promoter.oci import mediatypes as mt
from promoter.oci.descriptor import Descriptor
from promoter.oci.digest import Digest, Digester, DigestMismatchError, compute_digest, is_digest
from promoter.oci.manifest import Manifest, parse_manifest, sniff_media_type
from promoter.oci.raw import BlobOpener, BlobSource, RawManifest
from promoter.oci.reference import ImageReference, LayoutReference

__all__ = ["REF_NAME", "LayoutTarget", "index_problem"]

#: The annotation that names a tag in ``index.json``.
REF_NAME = "org.opencontainers.image.ref.name"
_READ_SIZE = 1024 * 1024
_UMASK_LOCK = threading.Lock()
_UMASK: list[int] = []


def _file_mode() -> int:
    """0666 less the process's umask: what ``open()`` would give (mkstemp gives 0600)."""
    with _UMASK_LOCK:
        if not _UMASK:
            current = os.umask(0o022)
            os.umask(current)
            _UMASK.append(current)
        return 0o666 & ~_UMASK[0]


def index_problem(document: object) -> str | None:
    """What makes ``document`` not an OCI index promoter can read (None when it is one)."""
    if not isinstance(document, dict):
        return "is not a JSON object"
    manifests = document.get("manifests", [])
    if not isinstance(manifests, list):
        return "manifests: expected a list"
    for index, entry in enumerate(manifests):
        where = f"manifests[{index}]"
        if not isinstance(entry, dict):
            return f"{where}: expected an object"
        if not isinstance(entry.get("digest"), str) or not is_digest(entry["digest"]):
            return f"{where}.digest: expected a digest like sha256:<64 hex>"
        if not isinstance(entry.get("mediaType", ""), str):
            return f"{where}.mediaType: expected a string"
        size = entry.get("size", 0)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            return f"{where}.size: expected a non-negative integer"
        annotations = entry.get("annotations", {})
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            return f"{where}.annotations: expected an object of strings"
    return None


class LayoutTarget:
    """An OCI image layout directory (thread-safe for parallel blob writes)."""

    def __init__(self, reference: LayoutReference, *, create: bool = False) -> None:
        self.reference: ImageReference = reference
        self.ref = reference
        self.path = Path(reference.path)
        self._lock = threading.Lock()
        if not (self.path / "index.json").is_file():
            if not create:
                raise InputError(
                    f"{reference}: no OCI image layout at {self.path} (index.json missing)"
                )
            self._create()

    @property
    def name(self) -> str:
        return f"oci:{self.path}"

    def _create(self) -> None:
        try:
            (self.path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            layout = self.path / "oci-layout"
            if not layout.is_file() or layout.is_symlink():
                write_file(layout, json.dumps({"imageLayoutVersion": "1.0.0"}))
            self._write_index({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []})
        except OSError as error:
            raise OperationError(f"cannot create OCI layout at {self.path}: {error}") from None

    # -- index.json -------------------------------------------------------

    def _read_index(self) -> dict[str, Any]:
        file = str(self.path / "index.json")
        raw = read_input(file, what="OCI index")
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            raise ConfigError(f"unreadable index.json: {reason}", file=file) from None
        problem = index_problem(document)
        if problem:
            raise ConfigError(f"not an OCI index: {problem}", file=file)
        assert isinstance(document, dict)
        return document

    def _inside(self, target: Path) -> None:
        """Refuse a write that a symbolic link would carry out of the layout."""
        for part in (self.path / "blobs", target.parent, target):
            if part.is_symlink():
                raise InputError(
                    f"{self.name}: {part} is a symbolic link; promoter writes only inside "
                    "the layout and does not follow it"
                )

    def _write_index(self, document: dict[str, object]) -> None:
        """Renamed over ``index.json``: a link there is replaced, never written through."""
        try:
            write_file(self.path / "index.json", json.dumps(document, indent=2) + "\n")
        except OSError as error:
            raise OperationError(f"cannot write {self.path / 'index.json'}: {error}") from None

    def _entries(self) -> list[Descriptor]:
        return [Descriptor.from_dict(e) for e in self._read_index().get("manifests", [])]

    def list_tags(self) -> list[str]:
        return [e.annotations[REF_NAME] for e in self._entries() if REF_NAME in e.annotations]

    def tag_digest(self, tag: str) -> str | None:
        for entry in self._entries():
            if entry.annotations.get(REF_NAME) == tag:
                return entry.digest
        return None

    def resolve(self) -> RawManifest:
        entries = self._entries()
        if self.ref.tag:
            found = [e for e in entries if e.annotations.get(REF_NAME) == self.ref.tag]
            if not found:
                raise RegistryError(
                    f"{self.ref}: tag {self.ref.tag!r} not found in the layout",
                    code="MANIFEST_UNKNOWN",
                    reference=str(self.ref),
                )
            entries = found[-1:]
        if len(entries) != 1:
            raise InputError(
                f"{self.ref}: the layout lists {len(entries)} images; name one as "
                f"oci:{self.path}:TAG"
                + (f" (tags: {', '.join(self.list_tags())})" if self.list_tags() else "")
            )
        return self._manifest(entries[0].digest, entries[0].media_type)

    # -- manifests --------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        parsed = Digest.parse(digest)
        return self.path / "blobs" / parsed.algorithm / parsed.hex

    def _manifest(self, digest: str, media_type: str | None) -> RawManifest:
        try:
            raw = self._blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise RegistryError(
                f"{self.name}@{digest}: manifest not found in the layout",
                code="MANIFEST_UNKNOWN",
                reference=f"{self.name}@{digest}",
            ) from None
        if compute_digest(raw, Digest.parse(digest).algorithm) != digest:
            raise DigestMismatchError(
                f"{self.name}@{digest}: the stored manifest does not match its digest",
                reference=f"{self.name}@{digest}",
                code="DIGEST_INVALID",
            )
        if not media_type:
            try:
                media_type = sniff_media_type(json.loads(raw))
            except (ValueError, AttributeError):
                media_type = mt.OCI_MANIFEST
        parse_manifest(raw, media_type, digest=digest, reference=f"{self.name}@{digest}")
        return RawManifest(raw=raw, media_type=media_type, digest=digest)

    def get_manifest(self, digest: str) -> RawManifest:
        listed = {e.digest: e.media_type for e in self._entries()}
        return self._manifest(digest, listed.get(digest))

    def manifest_exists(self, digest: str) -> bool:
        return self.blob_exists(digest)

    def put_manifest(
        self, raw: bytes, media_type: str, reference: str | None = None, *, root: bool = False
    ) -> str:
        digest = compute_digest(raw)
        if reference and is_digest(reference) and reference != digest:
            raise DigestMismatchError(
                f"manifest bytes hash to {digest}, not {reference}", code="DIGEST_INVALID"
            )
        self.put_blob(Descriptor(media_type, digest, len(raw)), raw)
        tag = reference if reference and not is_digest(reference) else None
        if tag is None and not root:
            return digest
        view = parse_manifest(raw, media_type, digest=digest)
        annotations = {REF_NAME: tag} if tag else {}
        entry = Descriptor(
            media_type,
            digest,
            len(raw),
            annotations=annotations,
            artifact_type=view.artifact_type,
            platform=None,
        ).to_dict()
        with self._lock:
            document = self._read_index()
            kept = []
            for existing in document.get("manifests", []):
                names = (existing.get("annotations") or {}).get(REF_NAME)
                if tag is not None and names == tag:
                    continue  # the tag moves to the new manifest
                if tag is None and existing.get("digest") == digest and not names:
                    continue
                kept.append(existing)
            kept.append(entry)
            document["manifests"] = kept
            self._write_index(document)
        return digest

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        found = []
        for entry in self._entries():
            if not mt.is_manifest(entry.media_type) or not self.blob_exists(entry.digest):
                continue
            view = parse_manifest(self._blob_path(entry.digest).read_bytes(), entry.media_type)
            if isinstance(view, Manifest) and view.subject and view.subject.digest == digest:
                kind = view.artifact_type or view.config.media_type
                if artifact_type is None or kind == artifact_type:
                    found.append(
                        Descriptor(
                            entry.media_type,
                            entry.digest,
                            entry.size,
                            artifact_type=kind,
                            annotations=view.annotations,
                        )
                    )
        return found

    # -- blobs ------------------------------------------------------------

    def blob_exists(self, digest: str) -> bool:
        return self._blob_path(digest).is_file()

    def get_blob(self, digest: str, offset: int = 0) -> Iterator[bytes]:
        path = self._blob_path(digest)
        digester = Digester(Digest.parse(digest).algorithm) if offset == 0 else None
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise RegistryError(
                f"{self.name}@{digest}: blob not found in the layout",
                code="BLOB_UNKNOWN",
                reference=f"{self.name}@{digest}",
            ) from None
        with handle:
            handle.seek(offset)
            while chunk := handle.read(_READ_SIZE):
                if digester is not None:
                    digester.update(chunk)
                yield chunk
        if digester is not None and digester.digest() != digest:
            raise DigestMismatchError(
                f"{self.name}@{digest}: the stored blob does not match its digest",
                reference=f"{self.name}@{digest}",
                code="DIGEST_INVALID",
            )

    def get_blob_bytes(self, digest: str) -> bytes:
        return b"".join(self.get_blob(digest))

    def blob_opener(self, digest: str) -> BlobOpener:
        return lambda offset: self.get_blob(digest, offset)

    def put_blob(self, descriptor: Descriptor, source: BlobSource) -> int:
        digest = descriptor.digest
        target = self._blob_path(digest)
        self._inside(target)
        if target.is_file():
            return 0
        target.parent.mkdir(parents=True, exist_ok=True)
        self._inside(target)
        if isinstance(source, (bytes, bytearray, memoryview)):
            chunks: Any = (bytes(source),)
        elif callable(source):
            chunks = source(0)
        else:
            chunks = source
        digester = Digester(Digest.parse(digest).algorithm)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    digester.update(chunk)
                    handle.write(chunk)
            if digester.digest() != digest:
                raise DigestMismatchError(
                    f"{self.name}: content written for {digest} hashes to {digester.digest()}",
                    reference=f"{self.name}@{digest}",
                    code="DIGEST_INVALID",
                )
            os.chmod(tmp, _file_mode())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digester.size

    def mount_blob(self, digest: str, source: object) -> bool:
        """Layouts cannot mount; the engine copies instead."""
        return False

    def close(self) -> None:
        """Nothing held open between calls."""
