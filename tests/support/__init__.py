"""Helpers shared by the test areas: crafted OCI content, fault-injecting proxy."""
