"""Local targets: an OCI image layout (``oci:PATH``) and a docker-archive
(``docker-archive:PATH``, read-only). They import none of registry/'s HTTP side
(``tests/test_layers.py``), only the values of oci/raw.py."""
