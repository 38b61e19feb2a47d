"""A realistic microsandbox home for ``msb-tui --demo``, tests and pictures: what it holds
(:mod:`backend.demo.data`) and how it is written (:mod:`backend.demo.build`)."""

from __future__ import annotations

from backend.demo.build import add_bulk_sandboxes, build_demo_home, build_demo_volumes
from backend.demo.data import DEMO_DISK_VOLUME, DEMO_NOW, demo_config_document, demo_sandboxes

__all__ = [
    "DEMO_DISK_VOLUME",
    "DEMO_NOW",
    "add_bulk_sandboxes",
    "build_demo_home",
    "build_demo_volumes",
    "demo_config_document",
    "demo_sandboxes",
]
