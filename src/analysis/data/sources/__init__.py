"""Readers for the official raw formats, one module per format; each maps to a canonical table.

To add a data source: write a reader module here with a ``read_raw(paths, ctx, **options)``
function returning a frame that passes ``schema.validate`` (the steps in ``_common`` do the
reading and error reporting), and register its raw files and that function (``reader =
"module.read_raw"``) in ``sources/sources.toml``. Nothing else lists the readers.
"""
