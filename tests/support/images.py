"""Crafting OCI content for tests, in pure Python: images, indexes, artifacts, Helm charts.

Everything here is deterministic for a given seed, so a test can rebuild the
same digests. This module is the one to import; it gathers:

* ``tests.support.oci_craft``: :class:`Image` (any manifest with its bytes,
  digest, media type, ``blobs`` and ``children``) and the ``make_*`` builders;
* ``tests.support.oci_store``: :func:`write_layout` (an OCI image layout),
  :func:`write_random_layout` (a large image streamed to disk in constant
  memory, for benchmarks), :func:`write_docker_archive` (kaniko-style tarball),
  :func:`push_with_skopeo` and :func:`push_http` (no promoter code involved, so
  it can seed registries for promoter's own tests).
"""

from __future__ import annotations

from tests.support.oci_craft import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    EMPTY_JSON,
    HELM_CHART,
    HELM_CONFIG,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_TAR,
    OCI_MANIFEST,
    Image,
    digest_of,
    make_artifact,
    make_helm_chart,
    make_image,
    make_index,
    make_platform_index,
    random_bytes,
    random_layer,
    tar_gz,
)
from tests.support.oci_store import (
    push_http,
    push_with_skopeo,
    write_docker_archive,
    write_layout,
    write_random_layout,
)

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "EMPTY_JSON",
    "HELM_CHART",
    "HELM_CONFIG",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_TAR",
    "OCI_MANIFEST",
    "Image",
    "digest_of",
    "make_artifact",
    "make_helm_chart",
    "make_image",
    "make_index",
    "make_platform_index",
    "push_http",
    "push_with_skopeo",
    "random_bytes",
    "random_layer",
    "tar_gz",
    "write_docker_archive",
    "write_layout",
    "write_random_layout",
]
