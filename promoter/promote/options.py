"""How to apply a plan (``ApplyOptions``) and a destination's endpoint: what
``promoter.promote.apply`` and ``promoter.promote.rollback`` share, apart from both,
so that apply imports rollback at the top and rollback imports none of apply."""

from __future__ import annotations

from datetime import datetime

from promoter.oci.reference import parse_registry_reference
from promoter.promote.record import RecordWriter
from promoter.promote.stopping import StopRequest
from promoter.registry.remote.pool import Registries
from promoter.registry.target import RepositoryTarget
from promoter.structs import field, struct
from promoter.transfer import BlobHomes, ProgressListener
from promoter.transfer.endpoints import TargetEndpoint

__all__ = ["ApplyOptions", "endpoint_for"]


@struct(frozen=True)
class ApplyOptions:
    """How to apply: parallel images, parallel blobs per copy, what the records say."""

    images: int = 8
    jobs: int = 4
    check_fresh: bool = True
    version: str = ""
    now: datetime | None = None
    listener: ProgressListener | None = field(default=None, compare=False)
    records: RecordWriter = field(default_factory=RecordWriter, compare=False)
    #: Where blobs went in each destination registry (``apply_plan`` makes one per
    #: apply when None): each blob crosses to a registry once, then is mounted.
    homes: BlobHomes | None = field(default=None, compare=False)
    #: The run's interrupt request (the CLI's signal handlers set it; by default one
    #: nobody sets): images stop before their tag phase, finish it once in it.
    stop: StopRequest = field(default_factory=StopRequest, compare=False)


def endpoint_for(registries: Registries, name: str) -> TargetEndpoint:
    reference = parse_registry_reference(name)
    return TargetEndpoint(RepositoryTarget(registries.client(reference.registry), reference))
