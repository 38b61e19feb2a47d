"""Named volumes of one home: rows, storage, usage, cross-references and the path-safe file API."""
