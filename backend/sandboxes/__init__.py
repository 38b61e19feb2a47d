"""Sandboxes of one home: rows, details, logs and removal (facade: ``service.Sandboxes``)."""
