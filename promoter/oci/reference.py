"""Image references: ``host/repo:tag``, ``host/repo@sha256:...``, and local transports.

The registry grammar is distribution's (``docker/distribution/reference``):
a first path component is a registry host when it holds a ``.`` or a ``:``, or
is ``localhost``; otherwise the image lives on Docker Hub (``docker.io``), and a
one-component name gets ``library/``. A reference without tag or digest means
``:latest``. Local transports: ``oci:PATH[:TAG]`` (an OCI image layout) and
``docker-archive:PATH`` (the tar kaniko and ``docker save`` write).
"""

from __future__ import annotations

from promoter.errors import InputError
from promoter.oci.digest import Digest
from promoter.structs import replace, struct

__all__ = [
    "DOCKER_HUB",
    "ArchiveReference",
    "ImageReference",
    "LayoutReference",
    "Reference",
    "parse_reference",
    "parse_registry_reference",
]

DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_DOCKER_HUB_API = "registry-1.docker.io"

# The grammar's patterns, checked with string methods: compiling the three patterns took
# 0.8 ms of every start, where a command parses two or three references (issue #24).
# tests/oci/test_reference_grammar.py holds each check to distribution's pattern.
_LOWER_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"
_LETTERS_DIGITS = _LOWER_DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TAG_FIRST = _LETTERS_DIGITS + "_"
_TAG_CHARS = _TAG_FIRST + ".-"
_LABEL_CHARS = _LETTERS_DIGITS + "-"
_IPV6_CHARS = "0123456789abcdefABCDEF:."
_DIGITS = "0123456789"
_PATH_CHARS = _LOWER_DIGITS + "._-"
_RUNS_APART = str.maketrans(_LOWER_DIGITS, " " * len(_LOWER_DIGITS))


def _is_tag(text: str) -> bool:
    """``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``: ASCII only, at most 128 characters."""
    return 0 < len(text) <= 128 and text[0] in _TAG_FIRST and not text.strip(_TAG_CHARS)


def _is_label(text: str) -> bool:
    """``[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]``: a host name's label."""
    return bool(text) and not text.strip(_LABEL_CHARS) and text[0] != "-" and text[-1] != "-"


def _is_domain(text: str) -> bool:
    """A registry host: labels joined by dots, or an address of hex digits, colons and
    dots in brackets; then ``:`` and a port's digits, or nothing."""
    if text.startswith("["):
        address, bracket, port = text[1:].partition("]")
        if not (bracket and address and not address.strip(_IPV6_CHARS)):
            return False
    else:
        name, colon, port = text.partition(":")
        port = colon + port
        if not all(_is_label(label) for label in name.split(".")):
            return False
    return not port or (len(port) > 1 and port[0] == ":" and not port[1:].strip(_DIGITS))


def _is_path_component(text: str) -> bool:
    """``[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*``: runs of lowercase letters and digits,
    each joined to the next by ``.``, ``_``, ``__`` or one or more ``-``."""
    if not text or text.strip(_PATH_CHARS) or text[0] in "._-" or text[-1] in "._-":
        return False
    joints = text.translate(_RUNS_APART).split()
    return all(joint in (".", "_", "__") or not joint.strip("-") for joint in joints)


_MAX_NAME = 255


@struct(frozen=True)
class Reference:
    """A reference to content in a registry: ``registry/repository[:tag][@digest]``."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    transport = "docker"

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def api_host(self) -> str:
        """The host that serves the API (Docker Hub's differs from its name)."""
        return _DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def identifier(self) -> str:
        """What to ask the registry for: the digest when known, else the tag."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> Reference:
        """The same repository at ``tag`` (no digest)."""
        if not _is_tag(tag):
            raise InputError(f"invalid tag {tag!r}", hint="tags match [A-Za-z0-9_][A-Za-z0-9_.-]*")
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> Reference:
        """The same repository at ``digest`` (tag dropped)."""
        Digest.parse(digest)
        return replace(self, tag=None, digest=digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@struct(frozen=True)
class LayoutReference:
    """``oci:PATH[:TAG]``: an OCI image layout directory, optionally one tag in it."""

    path: str
    tag: str | None = None

    transport = "oci"

    def __str__(self) -> str:
        return f"oci:{self.path}:{self.tag}" if self.tag else f"oci:{self.path}"


@struct(frozen=True)
class ArchiveReference:
    """``docker-archive:PATH``: a tarball written by kaniko or ``docker save``."""

    path: str

    transport = "docker-archive"

    def __str__(self) -> str:
        return f"docker-archive:{self.path}"


ImageReference = Reference | LayoutReference | ArchiveReference


def _bad(text: str, why: str, hint: str | None = None) -> InputError:
    return InputError(
        f"invalid reference {text!r}: {why}",
        hint=hint
        or "expected host/repository:tag, host/repository@sha256:<hex>, "
        "oci:PATH[:tag] or docker-archive:PATH",
    )


def _parse_layout(text: str) -> LayoutReference:
    body = text[len("oci:") :]
    path, tag = body, None
    head, sep, tail = body.rpartition(":")
    if sep and head and "/" not in tail and _is_tag(tail):
        path, tag = head, tail
    if not path:
        raise _bad(text, "no path after oci:")
    return LayoutReference(path, tag)


def parse_registry_reference(text: str) -> Reference:
    """Parse a registry reference; ``InputError`` with the reason when malformed."""
    original = text
    text = text.strip()
    text = text.removeprefix("docker://")
    if not text:
        raise _bad(original, "it is empty")
    name, at, digest = text.partition("@")
    if at:
        try:
            Digest.parse(digest)
        except InputError:
            raise _bad(original, f"{digest!r} is not a valid digest") from None
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _is_tag(tag):
            raise _bad(original, f"{tag!r} is not a valid tag")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, repository = first, rest
        if not _is_domain(registry):
            raise _bad(original, f"{registry!r} is not a valid registry host")
        _, colon_, port = registry.rpartition(":")
        if (
            colon_
            and not registry.endswith("]")
            and not (len(port) <= 5 and 1 <= int(port) <= 65535)
        ):
            raise _bad(original, f"port {port!r} of {registry!r} is not from 1 to 65535")
    else:
        registry, repository = DOCKER_HUB, name
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    if not repository:
        raise _bad(original, "the repository name is missing")
    for component in repository.split("/"):
        if not _is_path_component(component):
            why = (
                "repository names must be lowercase"
                if component.lower() != component
                else f"{component!r} is not a valid repository path component"
            )
            raise _bad(original, why)
    if len(repository) > _MAX_NAME:
        raise _bad(original, f"the repository name is longer than {_MAX_NAME} characters")
    if tag is None and not at:
        tag = "latest"
    return Reference(registry, repository, tag, digest or None)


def parse_reference(text: str) -> ImageReference:
    """Parse any reference promoter accepts: registry, ``oci:`` or ``docker-archive:``."""
    if text.startswith("oci:"):
        return _parse_layout(text)
    if text.startswith("docker-archive:"):
        path = text[len("docker-archive:") :]
        if not path:
            raise _bad(text, "no path after docker-archive:")
        return ArchiveReference(path)
    return parse_registry_reference(text)
