"""Readers for the official raw formats, one module per format; each maps to a canonical table.

To add a data source: write a reader module here that returns a frame passing
``schema.validate``, then register the raw file in ``analysis.datasets.RAW_INPUTS``.
"""
