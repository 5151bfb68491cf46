"""``promoter history REF``: a production tag's promotions and rollbacks, from the records.

The registry settings come from the pipeline file when one is given (its hosts'
``insecure``, ``auth`` and limits), else from the environment and the command line.
"""

from __future__ import annotations

from collections.abc import Sequence

from promoter.config import load_pipeline
from promoter.errors import InputError
from promoter.oci.reference import parse_registry_reference
from promoter.pipeline.settings import registry_hosts, registry_options
from promoter.promote.history import History, repository_history, tag_history
from promoter.registry.remote.pool import Registries
from promoter.settings import Settings

__all__ = ["history"]


def history(
    reference: str,
    *,
    limit: int = 20,
    pipeline_file: str | None = None,
    insecure_registries: Sequence[str] = (),
    ca_file: str | None = None,
    settings: Settings | None = None,
) -> History:
    """The history of ``reference`` newest first, at most ``limit``: one tag's
    (``host/repo:tag``) or every release tag's of a repository (``host/repo``)."""
    parsed = parse_registry_reference(reference)
    if parsed.digest is not None:
        raise InputError(
            f"{reference}: history follows a tag, not a digest",
            hint="name the tag (host/repo:tag) or the repository (host/repo)",
        )
    whole = ":" not in reference.rsplit("/", 1)[-1]
    hosts = {}
    if pipeline_file is not None:
        hosts = registry_hosts(load_pipeline(pipeline_file))
    options = registry_options(hosts, insecure_registries, ca_file, settings)
    with Registries(options) as registries:
        client = registries.client(parsed.registry)
        if whole:
            return repository_history(client, parsed, limit)
        return tag_history(client, parsed, limit)
