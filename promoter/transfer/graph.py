"""Walking a source's content graph: index -> manifests -> blobs, children first.

The walk asks the destination first (one HEAD per child manifest) so a copy
that was interrupted part way does not look again at what already arrived.
"""

from __future__ import annotations

from promoter.errors import RegistryError
from promoter.oci import Descriptor, Index, Manifest, parse_manifest
from promoter.oci.raw import RawManifest
from promoter.structs import field, struct
from promoter.transfer.endpoints import Destination, Source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from concurrent.futures import Executor

__all__ = ["Graph", "walk"]

#: An index nested deeper than this is refused (a cycle cannot be built from
#: content digests, but a hostile registry could serve an endless chain).
MAX_DEPTH = 8


@struct
class Graph:
    """What must be at the destination: manifests in push order and the blobs they need."""

    top: RawManifest
    manifests: list[RawManifest] = field(default_factory=list)
    blobs: dict[str, Descriptor] = field(default_factory=dict)
    present: int = 0
    #: Child manifests the destination already holds (left out with their subgraph).
    found: list[str] = field(default_factory=list)


def walk(
    source: Source,
    top: RawManifest,
    destination: Destination,
    pool: Executor,
    *,
    check_children: bool = True,
) -> Graph:
    """Collect the manifests (children before parents) and blobs of ``top``.

    Children already stored at the destination are left out with their whole
    subgraph. ``check_children`` is False when the caller knows the destination
    is empty of this graph (saves a HEAD per child).
    """
    graph = Graph(top)
    _visit(source, top, destination, pool, graph, check_children, 0)
    return graph


def _visit(
    source: Source,
    node: RawManifest,
    destination: Destination,
    pool: Executor,
    graph: Graph,
    check_children: bool,
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        raise RegistryError(
            f"{source.name}: the registry sent an index nested more than {MAX_DEPTH} levels deep",
            reference=source.name,
        )
    parsed = parse_manifest(node.raw, node.media_type, digest=node.digest, reference=source.name)
    if isinstance(parsed, Manifest):
        for blob in parsed.blobs:
            graph.blobs.setdefault(blob.digest, blob)
    elif isinstance(parsed, Index):
        children = _missing_children(parsed, destination, pool, check_children)
        graph.present += len(parsed.manifests) - len(children)
        missing = {c.digest for c in children}
        graph.found += [c.digest for c in parsed.manifests if c.digest not in missing]

        def fetch(child: Descriptor) -> RawManifest:
            return source.get_manifest(child.digest)

        for child in pool.map(fetch, children):
            _visit(source, child, destination, pool, graph, check_children, depth + 1)
    if all(m.digest != node.digest for m in graph.manifests):
        graph.manifests.append(node)


def _missing_children(
    index: Index, destination: Destination, pool: Executor, check: bool
) -> list[Descriptor]:
    unique: dict[str, Descriptor] = {}
    for child in index.manifests:
        unique.setdefault(child.digest, child)
    children = list(unique.values())
    if not check:
        return children
    found = list(pool.map(lambda d: destination.resolve(d.digest), children))
    return [child for child, there in zip(children, found, strict=True) if there is None]
