"""The verbs over HTTP: ``RegistryClient`` (manifests, tags, referrers, blobs,
uploads, mounts), the registry-to-registry pipe, and ``Registries`` (one client per
host for a run). They send through registry/transport/."""
