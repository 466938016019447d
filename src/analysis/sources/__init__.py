"""Readers for the official raw formats, one module per format; each maps to a canonical table.

To add a data source: write a reader module here that returns a frame passing
``schema.validate`` (the steps in ``_common`` do the reading and error reporting), then register
its raw files in ``sources/registry.toml`` and its reader in ``analysis.databuild.READERS``.
"""
