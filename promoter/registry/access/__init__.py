"""What reaching a registry takes: ``RegistryOptions`` (TLS, insecure hosts,
bounds, budgets), credentials and where they come from (environment, pipeline,
Docker config, Azure), the TLS trust roots and the retry policy. It imports nothing
else of registry/ (``tests/test_layers.py``)."""
