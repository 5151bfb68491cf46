"""The one module of promoter that reads the process environment; nothing writes it.

What users set there is read here and nowhere else: the ``PROMOTER_*`` variables
(``PROMOTER_CI``, ``PROMOTER_TIMEOUT``, ``PROMOTER_SPEED_LIMIT``, ``PROMOTER_SPEED_TIME``,
``PROMOTER_MAX_RPS``, ``PROMOTER_INSECURE_REGISTRIES``, ``PROMOTER_KEY_PASSWORD``,
``PROMOTER_EXECUTOR``, ``PROMOTER_NO_START_CACHE``, the credential variables), the CI service's variables
(``GITHUB_*``, ``BUILD_*``, ``SYSTEM_*``, ``RUNNER_TEMP``), the variables pipeline.yml
names (``{env: VAR}`` build arguments, ``auth`` and signing keys), ``SSL_CERT_FILE`` /
``SSL_CERT_DIR``, ``DOCKER_CONFIG``, ``HOME``, ``PATH`` and
``NO_COLOR``. The CLI takes one ``snapshot`` per invocation and builds its
``promoter.settings.Settings`` from it; library callers that pass no environment get a
snapshot of their own here. Subprocesses (kaniko, Docker credential helpers, the Azure
CLI) are given an environment built from a snapshot, never this process's by inheritance.

The proxy variables (``HTTPS_PROXY``, ``NO_PROXY``, ...) are the one exception: the
standard library's ``urllib.request`` reads them (for the registry transport,
``promoter.registry.transport.connections.proxy_for``), so that promoter's view of a
proxy and every other tool's agree.
"""

from __future__ import annotations

import os

__all__ = ["snapshot", "value"]


def snapshot() -> dict[str, str]:
    """A copy of the process environment as it is now (later changes do not reach it)."""
    return dict(os.environ)


def value(name: str) -> str | None:
    """One variable as it is now (the process's start reads one before any snapshot)."""
    return os.environ.get(name)
