"""Git remote URLs turned into the https URL a label may show, never with credentials.

``git@github.com:org/app.git``, ``ssh://git@host:2222/org/app.git`` and
``https://user:token@host/org/app.git`` all become ``https://host/org/app``;
Azure Repos SSH remotes (``git@ssh.dev.azure.com:v3/org/project/repo``) become
``https://dev.azure.com/org/project/_git/repo``. Local paths and ``file://``
remotes have no public URL (``''``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["public_url", "repository_name"]

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def _clean_path(path: str) -> str:
    path = path.strip("/")
    return path[: -len(".git")] if path.endswith(".git") else path


def _azure_ssh(host: str, path: str) -> str | None:
    if host == "ssh.dev.azure.com" and path.startswith("v3/"):
        parts = path[3:].split("/")
        if len(parts) == 3:
            org, project, repo = parts
            return f"https://dev.azure.com/{org}/{project}/_git/{repo}"
    if host.endswith(".vs-ssh.visualstudio.com") and path.startswith("v3/"):
        parts = path[3:].split("/")
        if len(parts) == 3:
            org, project, repo = parts
            return f"https://{org}.visualstudio.com/{project}/_git/{repo}"
    return None


def public_url(remote: str) -> str:
    """The https URL of a remote with user names, passwords and ``.git`` removed."""
    remote = remote.strip()
    if not remote:
        return ""
    if "://" in remote:
        parts = urlsplit(remote)
        if parts.scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git"):
            return ""
        host = parts.hostname or ""
        if not host:
            return ""
        path = _clean_path(parts.path)
        azure = _azure_ssh(host, path)
        if azure:
            return azure
        scheme = "http" if parts.scheme == "http" else "https"
        port = f":{parts.port}" if parts.port and scheme == parts.scheme else ""
        return f"{scheme}://{host}{port}/{path}" if path else f"{scheme}://{host}{port}"
    match = _SCP_LIKE.match(remote)
    if not match or len(match.group("host")) < 2 or remote.startswith(("/", ".")):
        return ""
    host, path = match.group("host"), _clean_path(match.group("path"))
    return _azure_ssh(host, path) or f"https://{host}/{path}"


def repository_name(url: str) -> str:
    """The last path segment of a repository URL (``app`` for ``https://h/org/app``)."""
    return url.rstrip("/").rpartition("/")[2]
