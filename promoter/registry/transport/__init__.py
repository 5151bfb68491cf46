"""One registry's HTTP transport and its layers: budget, retries, auth (token
challenge), pace, redirects, deadlines and speed floors, discovery of the scheme,
and how failures read. It never imports the verbs (registry/remote/) or the local
targets (``tests/test_layers.py``)."""
